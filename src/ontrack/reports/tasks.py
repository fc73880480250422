"""The roll-up jobs: the dashboard's closed days, recomputed every hour and every night."""

from __future__ import annotations

from ontrack.operations.jobs import periodic_job
from ontrack.reports import rollups


@periodic_job(minute="20")
def reports_rollup_recent() -> int:
    """Hourly: recompute the dashboard's roll-ups of the last days (outcomes recorded late)."""
    return rollups.rollups_refresh_recent().rows


@periodic_job(minute="40", hour="0")
def reports_rollup_nightly() -> int:
    """Nightly: recompute the dashboard's roll-ups of the whole history (reassignments)."""
    return rollups.rollups_rebuild().rows
