"""Periodic schedule jobs: keep windows generated ahead, tell messaging about windows
coming up, and the watchdog for missed check-ins, appointments and hearings."""

from __future__ import annotations

from ontrack.operations.jobs import periodic_job
from ontrack.schedule.services.watchdog import (
    hearings_check,
    missed_appointments_mark,
    missed_checkins_mark,
)
from ontrack.schedule.services.windows import checkin_reminders_sync, windows_generate_due


@periodic_job(minute="17", hour="*/6")
def checkin_windows_generate() -> int:
    """Four times a day (so a failed run is soon made good): extend every active schedule
    to the horizon (``ONTRACK_SCHEDULE_HORIZON_DAYS``)."""
    return windows_generate_due()


@periodic_job(minute="*/15")
def checkin_reminders() -> int:
    """Every 15 minutes: reminders for windows that came within the reminder horizon."""
    return checkin_reminders_sync()


@periodic_job(minute="*/5")
def missed_checkin_watchdog() -> int:
    """Every 5 minutes: windows closed more than the grace period ago with nothing
    received become missed and raise the alert (once)."""
    return missed_checkins_mark()


@periodic_job(minute="*/30")
def missed_appointment_watchdog() -> int:
    """Every 30 minutes: appointments with no attendance once the office's day is over."""
    return missed_appointments_mark()


@periodic_job(minute="40")
def missed_hearing_watchdog() -> int:
    """Hourly: hearings recorded as not attended raise the alert; unrecorded ones give the
    officer a task."""
    return hearings_check()
