"""``Measure``: a count of the rows of one table by label as the records stood at ``as_of``,
which the page reads from the daily roll-ups (``ontrack.reports.rollups``) and tests and
CSVs may count from the raw rows (``raw_counts``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, CharField, Count, QuerySet, Value, When

from ontrack.accounts.models import User
from ontrack.reports.dashboard.scope import (
    DashboardScope,
    in_period,
    of_participants,
    participants_in_scope,
)


@dataclass(frozen=True, slots=True)
class Measure:
    """A count over the rows of one table whose event (``day``: a window opening, a message
    written) falls in the period, by ``(group, label)`` as the records stood at ``as_of``.

    ``group`` is known from the event itself (a message's language); ``label`` holds only
    from the instant ``settled`` (an outcome and when it was recorded): before that the row
    counts under ``default``. A row with a ``present`` instant counts at all only from then
    (an alert, once it reached the queue). Every table built on a measure can be counted
    from the raw rows (``raw_counts``) or from the daily roll-ups
    (``ontrack.reports.rollups.rolled_counts``) with the same result.

    ``office_rows`` False: the roll-ups keep no office rows of the measure and read an
    office from its officers' rows, which are as few when a day has about as many keys as
    rows (a histogram of response times in minutes)."""

    name: str
    rows: Callable[[], QuerySet[Any]]
    day: str
    label: Any
    settled: Any
    default: str
    group: Any = field(default_factory=lambda: Value(""))
    present: str | None = None
    office_rows: bool = True


Counts = Counter[tuple[str, str]]
Counting = Callable[[User, DashboardScope, Measure], Counts]


def raw_counts(user: User, scope: DashboardScope, measure: Measure) -> Counts:
    """``measure`` counted from the raw rows of the people in scope."""
    rows = of_participants(measure.rows(), participants_in_scope(user, scope))
    rows = rows.filter(in_period(measure.day, scope))
    if measure.present:
        rows = rows.filter(**{f"{measure.present}__lte": scope.as_of})
    found = (
        rows.annotate(m_group=measure.group, m_settled=measure.settled)
        .annotate(
            m_label=Case(
                When(m_settled__lte=scope.as_of, then=measure.label),
                default=Value(measure.default),
                output_field=CharField(),
            )
        )
        .order_by()
        .values_list("m_group", "m_label")
        .annotate(n=Count("pk"))
    )
    return Counter({(group, label): n for group, label, n in found})


def by_label(counts: Counts) -> Counter[str]:
    by_label: Counter[str] = Counter()
    for (_group, label), n in counts.items():
        by_label[label] += n
    return by_label
