"""Periodic alert jobs."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from ontrack.alerts.services import alerts_promote_due


@db_periodic_task(crontab(minute="*"))
def alerts_grace_watchdog() -> int:
    """Every minute: pending alerts whose grace period has passed become open."""
    return alerts_promote_due()
