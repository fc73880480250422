"""Background jobs of the tracking app. Retention of positions and device events runs in
the nightly purge of ``ontrack.audit.retention`` (registered in ``TrackingConfig.ready``)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from ontrack.tracking.partitions import positions_ensure_partitions


@db_periodic_task(crontab(hour="3", minute="15"))
def positions_partitions_ahead() -> None:
    """Create the coming days' partitions (PostgreSQL), so that the day's first fix never
    waits for DDL."""
    positions_ensure_partitions(days_ahead=7)
