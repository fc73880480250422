"""Daily roll-ups of the dashboard's numbers, and the dashboard's numbers read from them.

At a national program's size the measures scan millions of rows (5 M check-in windows and
1 M alerts a year at 100,000 people) and the census reads 100,000 people's histories; the
roll-ups hold, per UTC day of the event, per officer, office and program, how many rows had
each label and since when (``DailyCount``, ``counts``), and how the census changed
(``CensusChange``, ``census``), so a year reads a few thousand rows. They are a safeguard's
numbers, so they must equal the raw count exactly:

- closed days (before the day the roll-up was computed) come from the roll-ups, and every
  other day (today, the open day, and anything not rolled up yet) from the raw rows;
- "as of" a midnight is exact from the roll-ups' ``settled_on`` and ``present_on``; "as of
  now" takes what was settled by the time of the roll-up; an instant in the middle of a
  past day (never asked by the page) is counted from the raw rows;
- office and officer are the assignment when the roll-up was computed. A late change (an
  outcome recorded days later, a person moved to another office) reaches the closed days at
  the next recomputation: the last ``RECENT_DAYS`` days every hour, since outcomes are
  recorded within hours or days of their window, alert, message or hearing, and the whole
  history every night, since a reassignment moves a person's whole history. Until then the
  page says which roll-up its closed days come from. The census comes from the nightly
  recomputation, brought forward to the as-of instant person by person (``census``).
"""

from __future__ import annotations

import datetime as dt
import time

from django.db import connection, transaction
from django.utils import timezone

from ontrack.reports.dashboard import MEASURES, Source
from ontrack.reports.models import CensusChange, DailyCount, RollupRun, Span
from ontrack.reports.rollups.census import census_write, rolled_census
from ontrack.reports.rollups.counts import rolled_counts, write_days, write_spans
from ontrack.reports.rollups.runs import midnight, rollup_latest, rollup_whole

__all__ = [
    "RECENT_DAYS",
    "ROLLED",
    "rolled_census",
    "rolled_counts",
    "rollup_latest",
    "rollup_whole",
    "rollups_rebuild",
    "rollups_refresh_recent",
]

# Recomputed every hour; older days every night.
RECENT_DAYS = 7
# Runs kept beyond the latest whole rebuild, which the page names.
KEEP_RUNS = dt.timedelta(days=7)

# The dashboard's numbers as the page reads them: closed days from the roll-ups.
ROLLED = Source(counts=rolled_counts, census=rolled_census)


def rollups_rebuild(*, since: dt.date | None = None) -> RollupRun:
    """Recompute the roll-ups of every closed day from ``since`` (None: all history, and the
    census) from the records, in one transaction: the dashboard never reads half a
    recomputation."""
    started = time.monotonic()
    now = timezone.now()
    today = now.astimezone(dt.UTC).date()
    first = midnight(since) if since else None
    with transaction.atomic():
        stale = DailyCount.objects.filter(span=Span.DAY)
        if since:
            stale = stale.filter(day__gte=since)
        stale.delete()
        rows = sum(write_days(measure, first, midnight(today)) for measure in MEASURES)
        rows += write_spans(since, today)
        if since is None:
            rows += census_write(today)
        run = RollupRun.objects.create(
            computed_at=now, first_day=since, covers_until=today, rows=rows,
            seconds=time.monotonic() - started,
        )  # fmt: skip
        old = RollupRun.objects.filter(computed_at__lt=now - KEEP_RUNS)
        whole = rollup_whole()
        if whole is not None:
            old = old.exclude(pk=whole.pk)
        old.delete()
    # The tables were rewritten: fresh statistics, or PostgreSQL plans its reads for the
    # tables they were before (empty, on the first run) until autovacuum comes by.
    with connection.cursor() as cursor:
        for model in (DailyCount, CensusChange):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    return run


def rollups_refresh_recent() -> RollupRun:
    """Recompute the last ``RECENT_DAYS`` closed days, or everything when the roll-ups do
    not reach that far back (none yet, or no run for longer than that)."""
    latest = rollup_latest()
    since = timezone.now().astimezone(dt.UTC).date() - dt.timedelta(days=RECENT_DAYS)
    if latest is None or latest.covers_until < since:
        return rollups_rebuild()
    return rollups_rebuild(since=since)
