"""Periodic alert jobs."""

from __future__ import annotations

from ontrack.alerts.services import alerts_promote_due
from ontrack.operations.jobs import periodic_job


@periodic_job(minute="*")
def alerts_grace_watchdog() -> int:
    """Every minute: pending alerts whose grace period has passed become open."""
    return alerts_promote_due()
