"""Daily roll-ups of the dashboard's measures, and the dashboard's counts read from them.

At a national program's size the measures scan millions of rows (5 M check-in windows a
year at 100,000 people); the roll-ups hold, per UTC day of the event, per officer, office
and program, how many rows had each label and since when (``DailyCount``), so a year reads
a few thousand rows. They are a safeguard's numbers, so they must equal the raw count
exactly:

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
  page says which roll-up its closed days come from.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    DateTimeField,
    ExpressionWrapper,
    F,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from ontrack.accounts.models import User
from ontrack.participants.queries import ROLE_SCOPE, Scope
from ontrack.reports.dashboard import MEASURES, Counts, DashboardScope, Measure, raw_counts
from ontrack.reports.models import DailyCount, RollupLevel, RollupRun

# Recomputed every hour; older days every night.
RECENT_DAYS = 7
# Runs kept beyond the latest whole rebuild, which the page names.
KEEP_RUNS = dt.timedelta(days=7)
BATCH = 5_000
ONE_MICROSECOND = dt.timedelta(microseconds=1)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _ceil_midnight(at: dt.datetime) -> dt.datetime:
    """The first UTC midnight at or after ``at``."""
    floor = _midnight(at.astimezone(dt.UTC).date())
    return floor if floor == at else floor + dt.timedelta(days=1)


def _settled_day(expression: Any) -> TruncDate:
    """The UTC date of the instant just before ``expression``: a label that came to hold
    at ``t`` holds at midnight ``M`` iff this date is before ``M``'s."""
    before = ExpressionWrapper(expression - Value(ONE_MICROSECOND), output_field=DateTimeField())
    return TruncDate(before, tzinfo=dt.UTC)


def _grouped(measure: Measure, first: dt.datetime | None, until: dt.datetime) -> Iterator[Any]:
    """The measure's raw rows of ``[first, until)`` counted per officer and day, with the
    day each label and each row began to count."""
    rows = measure.rows().filter(**{f"{measure.day}__lt": until})
    if first is not None:
        rows = rows.filter(**{f"{measure.day}__gte": first})
    present = _settled_day(F(measure.present)) if measure.present else Value(None, DateField())
    return (
        rows.annotate(
            r_day=TruncDate(measure.day, tzinfo=dt.UTC),
            r_group=measure.group,
            r_label=measure.label,
            r_settled=_settled_day(measure.settled),
            r_present=present,
        )
        .order_by()
        .values_list(
            "participant__program_id", "participant__office_id", "participant__officer_id",
            "r_day", "r_group", "r_label", "r_settled", "r_present",
        )
        .annotate(n=Count("pk"))
        .iterator(chunk_size=BATCH)
    )  # fmt: skip


def _row(measure: str, level: str, key: tuple[Any, ...], n: int) -> DailyCount:
    program, office, officer, day, group, label, settled, present = key
    return DailyCount(
        measure=measure, level=level, day=day, program_id=program, office_id=office,
        officer_id=officer, group=group or "", label=label or "", settled_on=settled,
        present_on=present, n=n,
    )  # fmt: skip


def _write(measure: Measure, first: dt.datetime | None, until: dt.datetime) -> int:
    """Officer rows as they come, office and program rows summed from them."""
    offices: Counter[tuple[Any, ...]] = Counter()
    programs: Counter[tuple[Any, ...]] = Counter()
    batch: list[DailyCount] = []
    written = 0
    for *key, n in _grouped(measure, first, until):
        program, office, _officer, *rest = key
        offices[(program, office, None, *rest)] += n
        programs[(program, None, None, *rest)] += n
        batch.append(_row(measure.name, RollupLevel.OFFICER, tuple(key), n))
        if len(batch) >= BATCH:
            written += len(DailyCount.objects.bulk_create(batch))
            batch = []
    for level, summed in ((RollupLevel.OFFICE, offices), (RollupLevel.PROGRAM, programs)):
        batch.extend(_row(measure.name, level, key, n) for key, n in summed.items())
    for start in range(0, len(batch), BATCH):
        written += len(DailyCount.objects.bulk_create(batch[start : start + BATCH]))
    return written


def rollups_rebuild(*, since: dt.date | None = None) -> RollupRun:
    """Recompute the roll-ups of every closed day from ``since`` (None: all history) from
    the records, in one transaction: the dashboard never reads half a recomputation."""
    started = time.monotonic()
    now = timezone.now()
    today = now.astimezone(dt.UTC).date()
    first = _midnight(since) if since else None
    with transaction.atomic():
        stale = DailyCount.objects.all()
        if since:
            stale = stale.filter(day__gte=since)
        stale.delete()
        rows = sum(_write(measure, first, _midnight(today)) for measure in MEASURES)
        run = RollupRun.objects.create(
            computed_at=now, first_day=since, covers_until=today, rows=rows,
            seconds=time.monotonic() - started,
        )  # fmt: skip
        old = RollupRun.objects.filter(computed_at__lt=now - KEEP_RUNS)
        whole = rollup_whole()
        if whole is not None:
            old = old.exclude(pk=whole.pk)
        old.delete()
    # The table was rewritten: fresh statistics, or PostgreSQL plans its reads for the
    # table it was before (empty, on the first run) until autovacuum comes by.
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {DailyCount._meta.db_table}")
    return run


def rollups_refresh_recent() -> RollupRun:
    """Recompute the last ``RECENT_DAYS`` closed days, or everything when the roll-ups do
    not reach that far back (none yet, or no run for longer than that)."""
    latest = rollup_latest()
    since = timezone.now().astimezone(dt.UTC).date() - dt.timedelta(days=RECENT_DAYS)
    if latest is None or latest.covers_until < since:
        return rollups_rebuild()
    return rollups_rebuild(since=since)


def rollup_latest() -> RollupRun | None:
    """The run the closed days' counts come from."""
    return RollupRun.objects.first()


def rollup_whole() -> RollupRun | None:
    """The latest recomputation of the whole history."""
    return RollupRun.objects.filter(first_day__isnull=True).first()


def _readable(user: User, scope: DashboardScope) -> tuple[str, Q] | None:
    """The roll-up level and rows that hold exactly the people ``participants_in_scope``
    gives (visible to ``user``, narrowed by the scope), or None when that is nobody."""
    reach = ROLE_SCOPE.get(user.role, Scope.NONE)
    if not user.is_authenticated or not user.reads_participants or reach == Scope.NONE:
        return None
    if reach == Scope.OFFICE and user.office_id is None:
        return None
    offices = {scope.office_id, user.office_id if reach == Scope.OFFICE else None} - {None, 0}
    officers = {scope.officer_id, user.pk if reach == Scope.CASELOAD else None} - {None, 0}
    if len(offices) > 1 or len(officers) > 1:
        return None
    rows = Q(program_id=scope.program_id) if scope.program_id else Q()
    if offices:
        rows &= Q(office_id=next(iter(offices)))
    if officers:
        rows &= Q(officer_id=next(iter(officers)))
    level = (
        RollupLevel.OFFICER if officers else RollupLevel.OFFICE if offices else RollupLevel.PROGRAM
    )
    return level, rows


def _from_rollups(
    user: User, scope: DashboardScope, measure: Measure, days: tuple[dt.date, dt.date]
) -> Counts:
    readable = _readable(user, scope)
    if readable is None:
        return Counter()
    level, rows = readable
    as_of = scope.as_of
    # The first date whose midnight is not before as_of: what settled before it counts.
    known_before = _ceil_midnight(as_of).date()
    found = (
        DailyCount.objects.filter(
            rows, measure=measure.name, level=level, day__gte=days[0], day__lt=days[1]
        )
        .filter(Q(present_on__isnull=True) | Q(present_on__lt=known_before))
        .annotate(
            shown=Case(
                When(settled_on__lt=known_before, then=F("label")),
                default=Value(measure.default),
                output_field=CharField(),
            )
        )
        .order_by()
        .values_list("group", "shown")
        .annotate(total=Sum("n"))
    )
    return Counter({(group, label): n for group, label, n in found})


def rolled_counts(user: User, scope: DashboardScope, measure: Measure) -> Counts:
    """``measure`` counted from the roll-ups for the closed days they cover and from the raw
    rows for the rest of the period: the same numbers as ``raw_counts``."""
    run = rollup_latest()
    if scope.participant_id:  # the roll-ups count per officer, never per person
        return raw_counts(user, scope, measure)
    on_midnight = scope.as_of == _midnight(scope.as_of.astimezone(dt.UTC).date())
    if run is None or (not on_midnight and scope.as_of < run.computed_at):
        return raw_counts(user, scope, measure)
    first = _ceil_midnight(scope.start)
    last = min(_midnight(scope.period_end.astimezone(dt.UTC).date()), _midnight(run.covers_until))
    if first >= last:
        return raw_counts(user, scope, measure)
    counts = _from_rollups(user, scope, measure, (first.date(), last.date()))
    if scope.start < first:
        counts.update(raw_counts(user, dataclasses.replace(scope, end=first), measure))
    if last < scope.period_end:
        counts.update(raw_counts(user, dataclasses.replace(scope, start=last), measure))
    return counts
