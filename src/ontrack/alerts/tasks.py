"""Periodic alert jobs."""

from __future__ import annotations

from ontrack.alerts.on_call import alerts_page_on_call
from ontrack.alerts.services import alerts_promote_due
from ontrack.operations.jobs import periodic_job


@periodic_job(minute="*")
def alerts_grace_watchdog() -> int:
    """Every minute: pending alerts whose grace period has passed become open."""
    return alerts_promote_due()


@periodic_job(minute="*")
def alerts_on_call_watchdog() -> int:
    """Every minute: alerts left open unacknowledged past their office's escalation time are
    texted to the person on call."""
    return alerts_page_on_call()
