"""The dashboard's measures rolled up per day (``DailyCount``), and their counts read back.

Officer rows come from one grouped query over the raw rows, in day order, office and
program rows are summed from them a day at a time (a response-time histogram has about as
many keys per day as the day has alerts, so a whole history's sums would not fit in a
worker's memory; nor are its office rows kept, ``Measure.office_rows``). Program rows are
then summed again per calendar span (``spans``) from the program's day rows in the table,
so that a year of the whole program reads a few quarters, months and weeks rather than
every day: at 1 M alerts a year (``bench/reports.py``), the response-time histograms are
710,000 program day rows a year, of which a year's range reads 82,000 in spans and days.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Iterator
from typing import Any

from django.db.models import Case, CharField, Count, DateField, F, Q, Sum, Value, When
from django.db.models.functions import TruncDate

from ontrack.accounts.models import User
from ontrack.reports.dashboard import Counts, DashboardScope, Measure, raw_counts
from ontrack.reports.models import DailyCount, RollupLevel, Span
from ontrack.reports.rollups import spans
from ontrack.reports.rollups.levels import readable
from ontrack.reports.rollups.rows import insert_rows
from ontrack.reports.rollups.runs import (
    ceil_midnight,
    is_midnight,
    midnight,
    rollup_latest,
    settled_day,
)

BATCH = 5_000


def _grouped(measure: Measure, first: dt.datetime | None, until: dt.datetime) -> Iterator[Any]:
    """The measure's raw rows of ``[first, until)`` counted per officer and day, with the
    day each label and each row began to count, in day order."""
    rows = measure.rows().filter(**{f"{measure.day}__lt": until})
    if first is not None:
        rows = rows.filter(**{f"{measure.day}__gte": first})
    present = settled_day(F(measure.present)) if measure.present else Value(None, DateField())
    return (
        rows.annotate(
            r_day=TruncDate(measure.day, tzinfo=dt.UTC),
            r_group=measure.group,
            r_label=measure.label,
            r_settled=settled_day(measure.settled),
            r_present=present,
        )
        .order_by("r_day")
        .values_list(
            "participant__program_id", "participant__office_id", "participant__officer_id",
            "r_day", "r_group", "r_label", "r_settled", "r_present",
        )
        .annotate(n=Count("pk"))
        .iterator(chunk_size=BATCH)
    )  # fmt: skip


# A row's values, in this order: the level, span and day, the assignment, then the key.
FIELDS = ("measure", "level", "span", "day", "program", "office", "officer", "group", "label",
          "settled_on", "present_on", "n")  # fmt: skip


def _row(
    measure: str, level: str, key: tuple[Any, ...], n: int, span: str = Span.DAY
) -> tuple[Any, ...]:
    program, office, officer, day, group, label, settled, present = key
    return (measure, level, span, day, program, office, officer, group or "", label or "",
            settled, present, n)  # fmt: skip


def write_days(measure: Measure, first: dt.datetime | None, until: dt.datetime) -> int:
    """Officer rows as they come, office and program rows summed from them, a day at a
    time."""

    def rows() -> Iterator[tuple[Any, ...]]:
        offices: Counter[tuple[Any, ...]] = Counter()
        programs: Counter[tuple[Any, ...]] = Counter()
        day = None

        def summed() -> Iterator[tuple[Any, ...]]:
            for level, sums in ((RollupLevel.OFFICE, offices), (RollupLevel.PROGRAM, programs)):
                yield from (_row(measure.name, level, key, n) for key, n in sums.items())
                sums.clear()

        for *key, n in _grouped(measure, first, until):
            program, office, _officer, r_day, *rest = key
            if r_day != day:
                yield from summed()
                day = r_day
            if measure.office_rows:
                offices[(program, office, None, r_day, *rest)] += n
            programs[(program, None, None, r_day, *rest)] += n
            yield _row(measure.name, RollupLevel.OFFICER, tuple(key), n)
        yield from summed()

    return insert_rows(DailyCount, FIELDS, rows())


def _within(day: dt.date | None, end: dt.date) -> bool:
    return day is not None and day < end


def write_spans(since: dt.date | None, until: dt.date) -> int:
    """The program rows of every span that ends by ``until`` and holds a day from ``since``
    on (None: every span), summed from the program's day rows; a date within the span is
    kept as its first day (``DailyCount``). The spans that hold ``since`` begin at the
    latest on the first day of its quarter, so their rows are summed from there."""
    stale = DailyCount.objects.filter(level=RollupLevel.PROGRAM).exclude(span=Span.DAY)
    days = DailyCount.objects.filter(level=RollupLevel.PROGRAM, span=Span.DAY, day__lt=until)
    if since is not None:
        first = spans.span_start(spans.QUARTER, since)
        stale = stale.filter(day__gte=first)
        days = days.filter(day__gte=first)
    stale.delete()
    found = (
        days.order_by("measure", "day")
        .values_list(
            "measure", "day", "program_id", "group", "label", "settled_on", "present_on", "n"
        )
        .iterator(chunk_size=BATCH)
    )

    def rows() -> Iterator[tuple[Any, ...]]:
        open_spans: dict[tuple[str, str, dt.date], Counter[tuple[Any, ...]]] = {}

        def closing(before: tuple[str, dt.date] | None) -> Iterator[tuple[Any, ...]]:
            """The rows of the spans that end by ``before`` (a measure and a day; None:
            all), for those that end by ``until``."""
            for key in list(open_spans):
                measure, span, start = key
                end = spans.span_end(span, start)
                if before is not None and measure == before[0] and end > before[1]:
                    continue
                sums = open_spans.pop(key)
                if end <= until:
                    yield from (
                        _row(
                            measure,
                            RollupLevel.PROGRAM,
                            (program, None, None, start, *rest),
                            n,
                            span,
                        )
                        for (program, *rest), n in sums.items()
                    )

        for measure, day, program, group, label, settled, present, n in found:
            yield from closing((measure, day))
            for span in spans.SPANS:
                start = spans.span_start(span, day)
                if start is None:
                    continue
                end = spans.span_end(span, start)
                settled_then = start if _within(settled, end) else settled
                present_then = None if _within(present, end) else present
                key = (program, group, label, settled_then, present_then)
                open_spans.setdefault((measure, span, start), Counter())[key] += n
        yield from closing(None)

    return insert_rows(DailyCount, FIELDS, rows())


def _from_rollups(
    user: User, scope: DashboardScope, measure: Measure, days: tuple[dt.date, dt.date]
) -> Counts:
    found = readable(user, scope)
    if found is None:
        return Counter()
    level, assignment = found
    if level == RollupLevel.OFFICE and not measure.office_rows:
        level = RollupLevel.OFFICER
    if level == RollupLevel.PROGRAM:
        covered: dict[str, list[dt.date]] = {}
        for span, start in spans.cover(*days):
            covered.setdefault(span, []).append(start)
        when = Q(pk__in=[])
        for span, starts in covered.items():
            when |= Q(span=span, day__in=starts)
    else:
        when = Q(span=Span.DAY, day__gte=days[0], day__lt=days[1])
    # The first date whose midnight is not before as_of: what settled before it counts.
    known_before = ceil_midnight(scope.as_of).date()
    rows = (
        DailyCount.objects.filter(when, measure=measure.name, level=level, **assignment)
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
    return Counter({(group, label): n for group, label, n in rows})


def rolled_counts(user: User, scope: DashboardScope, measure: Measure) -> Counts:
    """``measure`` counted from the roll-ups for the closed days they cover and from the raw
    rows for the rest of the period: the same numbers as ``raw_counts``."""
    run = rollup_latest()
    if scope.participant_id:  # the roll-ups count per officer, never per person
        return raw_counts(user, scope, measure)
    if run is None or (not is_midnight(scope.as_of) and scope.as_of < run.computed_at):
        return raw_counts(user, scope, measure)
    first = ceil_midnight(scope.start)
    last = min(midnight(scope.period_end.astimezone(dt.UTC).date()), midnight(run.covers_until))
    if first >= last:
        return raw_counts(user, scope, measure)
    counts = _from_rollups(user, scope, measure, (first.date(), last.date()))
    if scope.start < first:
        counts.update(raw_counts(user, dataclasses.replace(scope, end=first), measure))
    if last < scope.period_end:
        counts.update(raw_counts(user, dataclasses.replace(scope, start=last), measure))
    return counts
