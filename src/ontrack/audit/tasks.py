"""The nightly retention purge of every registered kind of data."""

from __future__ import annotations

from ontrack.audit.retention import retention_purge_all
from ontrack.operations.jobs import periodic_job


@periodic_job(hour="3", minute="0")
def retention_purge_nightly() -> dict[str, int]:
    """Nightly: delete what has outlived its retention period, kind by kind."""
    return retention_purge_all()
