"""Background jobs of the tracking app: the nightly retention purge and partitions ahead."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from ontrack.tracking.partitions import positions_ensure_partitions
from ontrack.tracking.retention import device_events_purge, positions_purge

logger = logging.getLogger(__name__)


def retention_days(kind: str) -> int | None:
    """Days to keep ``kind`` of data, or ``None`` to keep it (not in the setting)."""
    value = settings.ONTRACK_RETENTION_DAYS.get(kind)
    return int(value) if value else None


@db_periodic_task(crontab(hour="3", minute="15"))
def tracking_retention_nightly() -> dict[str, int]:
    """Purge positions and device events past retention, then create the coming days'
    partitions (PostgreSQL), so that the day's first fix never waits for DDL."""
    removed: dict[str, int] = {}
    days = retention_days("positions")
    if days:
        removed["positions"] = positions_purge(dt.timedelta(days=days))
    days = retention_days("device_events")
    if days:
        removed["device_events"] = device_events_purge(dt.timedelta(days=days))
    positions_ensure_partitions(days_ahead=7)
    logger.info("tracking retention purge: %s", removed)
    return removed
