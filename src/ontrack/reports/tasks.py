"""The roll-up jobs (the dashboard's closed days, recomputed every hour and every night) and
the supervisors' weekly summary e-mails.

The weekly summary is imported when its job runs: with its PDF and the compliance report it
draws on, it pulls in shapely and numpy, which every process would otherwise load at start
(the job queue imports every app's tasks module), ``ontrack createuser`` included."""

from __future__ import annotations

from django.utils import timezone

from ontrack.operations.jobs import periodic_job
from ontrack.reports import rollups


@periodic_job(minute="20")
def reports_rollup_recent() -> int:
    """Hourly: recompute the dashboard's roll-ups of the last days (outcomes recorded late)."""
    return rollups.rollups_refresh_recent().rows


@periodic_job(minute="40", hour="0")
def reports_rollup_nightly() -> int:
    """Nightly: recompute the dashboard's roll-ups of the whole history (reassignments) and
    the census's changes."""
    return rollups.rollups_rebuild().rows


@periodic_job(minute="5")
def reports_weekly_summaries() -> int:
    """Hourly: e-mail each supervisor the summary of their office's past week once it is
    due (Monday 07:00 office time by default), once per supervisor and week."""
    from ontrack.reports import weekly_summary

    return weekly_summary.weekly_summaries_send(now=timezone.now())
