"""Background jobs of the tracking app. Retention of positions and device events runs in
the nightly purge of ``ontrack.audit.retention`` (registered in ``TrackingConfig.ready``)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from ontrack.tracking.partitions import positions_ensure_partitions
from ontrack.tracking.watchdogs import charger_check, device_silence_check, gps_fix_check


@db_periodic_task(crontab(hour="3", minute="15"))
def positions_partitions_ahead() -> None:
    """Create the coming days' partitions (PostgreSQL), so that the day's first fix never
    waits for DDL."""
    positions_ensure_partitions(days_ahead=7)


# --- device watchdogs (alerts for what a device did not report) ---------------------------


@db_periodic_task(crontab(minute="*/5"))
def device_silence_watchdog() -> int:
    """Every 5 minutes: message-gap alerts for silent worn devices, raised, escalated by
    tier, cleared when they report again."""
    return device_silence_check()


@db_periodic_task(crontab(minute="*/30"))
def charger_watchdog() -> int:
    """Every 30 minutes: alerts for worn devices not on charge for the rule's hours."""
    return charger_check()


@db_periodic_task(crontab(minute="*/5"))
def gps_fix_watchdog() -> int:
    """Every 5 minutes: GPS-lost alerts for worn devices that report without a valid fix."""
    return gps_fix_check()
