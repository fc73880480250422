"""Background jobs of the tracking app. Retention of positions and device events runs in
the nightly purge of ``ontrack.audit.retention`` (registered in ``TrackingConfig.ready``)."""

from __future__ import annotations

from ontrack.operations.jobs import periodic_job
from ontrack.tracking.partitions import positions_ensure_partitions
from ontrack.tracking.watchdogs import charger_check, device_silence_check, gps_fix_check


@periodic_job(hour="3", minute="15")
def positions_partitions_ahead() -> None:
    """Create the coming days' partitions (PostgreSQL), so that the day's first fix never
    waits for DDL."""
    positions_ensure_partitions(days_ahead=7)


# --- device watchdogs (alerts for what a device did not report) ---------------------------


@periodic_job(minute="*/5")
def device_silence_watchdog() -> int:
    """Every 5 minutes: message-gap alerts for silent worn devices, raised, escalated by
    tier, cleared when they report again."""
    return device_silence_check()


@periodic_job(minute="*/30")
def charger_watchdog() -> int:
    """Every 30 minutes: alerts for worn devices not on charge for the rule's hours."""
    return charger_check()


@periodic_job(minute="*/5")
def gps_fix_watchdog() -> int:
    """Every 5 minutes: GPS-lost alerts for worn devices that report without a valid fix."""
    return gps_fix_check()
