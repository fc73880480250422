"""The nightly retention purge of every registered kind of data."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from ontrack.audit.retention import retention_purge_all


@db_periodic_task(crontab(hour="3", minute="0"))
def retention_purge_nightly() -> dict[str, int]:
    return retention_purge_all()
