"""The alert tables: alerts by type and priority with their response times, and how they
ended and who decided.

Both are built on measures of the alerts that reached the queue, so the roll-ups serve them
like the other counts. A response time is counted in whole minutes, the resolution the table
shows (as each alert's own page does): the minutes are a measure's labels, its counts by
label a histogram, and a nearest-rank percentile read off a histogram kept at the shown
resolution is exactly the percentile of the raw times, as shown. The roll-ups read a
program's year of them as tens of thousands of counts (``rollups.counts``) where the times
themselves are a million alerts.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Case, CharField, F, Func, IntegerField, QuerySet, Value, When
from django.db.models.functions import Cast, Concat
from django.db.models.sql.compiler import SQLCompiler

from ontrack.accounts.models import User
from ontrack.alerts.durations import duration_text
from ontrack.alerts.models import Alert, AlertKind, AlertStatus, Disposition, Priority
from ontrack.reports.dashboard.measures import Counting, Counts, Measure, by_label, raw_counts
from ontrack.reports.dashboard.scope import (
    DashboardScope,
    Table,
    in_period,
    of_participants,
    participants_in_scope,
    share,
)

Params = tuple[str | int, ...]


class WholeMinutes(Func):
    """Whole minutes from one datetime field to another (0 when the second is earlier), as
    ``alerts.durations.duration_text`` counts them, computed exactly in the database.

    PostgreSQL subtracts timestamps exactly. SQLite keeps a datetime as text: the span is
    taken from its whole seconds (``strftime('%s')``) and the microseconds written after
    them, not from ``julianday``, whose floating point is tens of microseconds off and
    would put a span of exactly two minutes in the first."""

    output_field = IntegerField()

    def __init__(self, start: str, end: str) -> None:
        super().__init__(F(start), F(end))

    def _compiled(self, compiler: SQLCompiler) -> tuple[str, Params, str, Params]:
        start, start_params = compiler.compile(self.source_expressions[0])
        end, end_params = compiler.compile(self.source_expressions[1])
        return start, tuple(start_params), end, tuple(end_params)

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, Params]:
        start, start_params, end, end_params = self._compiled(compiler)
        sql = f"GREATEST(0, FLOOR(EXTRACT(EPOCH FROM ({end} - {start})) / 60))::integer"
        return sql, (*end_params, *start_params)

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, Params]:
        start, start_params, end, end_params = self._compiled(compiler)

        def microseconds(text: str) -> str:
            # '%%' is a literal '%' in a query with parameters; a fraction shorter than
            # six digits is padded, a text without one reads as no microseconds.
            return (
                f"(CAST(strftime('%%s', {text}) AS INTEGER) * 1000000"
                f" + CAST(substr({text} || '000000', 21, 6) AS INTEGER))"
            )

        sql = f"(max(0, {microseconds(end)} - {microseconds(start)}) / 60000000)"
        return sql, (*end_params, *end_params, *start_params, *start_params)


def _reached_the_queue() -> QuerySet[Alert]:
    """Alerts count once their grace is over (``present``: ``visible_at``); one cancelled
    within grace never reached anyone."""
    return Alert.objects.exclude(status=AlertStatus.CANCELLED)


# Its outcome is known from when it was closed.
ALERT_OUTCOMES = Measure(
    name="alert_outcomes",
    rows=_reached_the_queue,
    day="occurred_at",
    present="visible_at",
    label=Case(
        When(status=AlertStatus.RESOLVED, then=F("disposition")),
        When(status=AlertStatus.AUTO_RESOLVED, then=Value("cleared")),
        default=Value("open"),
        output_field=CharField(),
    ),
    settled=F("closed_at"),
    default="open",
)

# The response-time measures: per "kind:priority", the whole minutes from reaching the queue
# to the response, or ``NOT_YET``; a resolution's also ``CLEARED`` when nobody resolved it.
NOT_YET = ""
CLEARED = "cleared"
KIND_AND_PRIORITY = Concat(
    F("kind"), Value(":"), Cast(F("priority"), CharField()), output_field=CharField()
)
ALERT_ACKNOWLEDGEMENTS = Measure(
    name="alert_acknowledged",
    rows=_reached_the_queue,
    day="occurred_at",
    present="visible_at",
    group=KIND_AND_PRIORITY,
    label=Cast(WholeMinutes("visible_at", "acknowledged_at"), CharField()),
    settled=F("acknowledged_at"),
    default=NOT_YET,
    office_rows=False,
)
ALERT_RESOLUTIONS = Measure(
    name="alert_resolved",
    rows=_reached_the_queue,
    day="occurred_at",
    present="visible_at",
    group=KIND_AND_PRIORITY,
    label=Case(
        When(
            status=AlertStatus.RESOLVED,
            then=Cast(WholeMinutes("visible_at", "closed_at"), CharField()),
        ),
        When(status=AlertStatus.AUTO_RESOLVED, then=Value(CLEARED)),
        default=Value(NOT_YET),
        output_field=CharField(),
    ),
    settled=F("closed_at"),
    default=NOT_YET,
    office_rows=False,
)

PERCENTILES = (50, 90)


def nearest_rank(histogram: Mapping[int, int], percent: int) -> int | None:
    """The smallest value with at least ``percent`` % of the values at or below it (None
    for no values), in whole numbers: no floating point decides a tie."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = -(-total * percent // 100)
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    raise AssertionError("the ranks add up to the total")


@dataclass(slots=True)
class AlertStats:
    """Counts and nearest-rank percentiles (whole minutes, one per ``PERCENTILES`` point) of
    one (kind, priority) group, or of all alerts."""

    alerts: int
    acknowledged: int
    resolved: int
    cleared: int
    ack: list[int | None]
    resolve: list[int | None]


def alert_stats(
    acknowledged: Counts, resolved: Counts
) -> tuple[dict[tuple[str, int], AlertStats], AlertStats]:
    """Everything the alerts table needs, per (kind, priority) and for all alerts, from the
    counts of ``ALERT_ACKNOWLEDGEMENTS`` and ``ALERT_RESOLUTIONS`` (the same alerts)."""
    ack_minutes: dict[str, Counter[int]] = {}
    resolve_minutes: dict[str, Counter[int]] = {}
    sizes: Counter[str] = Counter()
    not_acknowledged: Counter[str] = Counter()
    cleared: Counter[str] = Counter()
    for (group, label), n in acknowledged.items():
        sizes[group] += n
        if label == NOT_YET:
            not_acknowledged[group] += n
        else:
            ack_minutes.setdefault(group, Counter())[int(label)] += n
    for (group, label), n in resolved.items():
        if label == CLEARED:
            cleared[group] += n
        elif label != NOT_YET:
            resolve_minutes.setdefault(group, Counter())[int(label)] += n

    def stats(size: int, gone: int, clear: int, ack: Counter[int], res: Counter[int]) -> AlertStats:
        return AlertStats(
            alerts=size, acknowledged=size - gone, resolved=res.total(), cleared=clear,
            ack=[nearest_rank(ack, p) for p in PERCENTILES],
            resolve=[nearest_rank(res, p) for p in PERCENTILES],
        )  # fmt: skip

    groups: dict[tuple[str, int], AlertStats] = {}
    for group, size in sizes.items():
        if not size:
            continue
        kind, _, priority = group.rpartition(":")
        groups[(kind, int(priority))] = stats(
            size, not_acknowledged[group], cleared[group],
            ack_minutes.get(group, Counter()), resolve_minutes.get(group, Counter()),
        )  # fmt: skip
    every_ack: Counter[int] = Counter()
    every_resolve: Counter[int] = Counter()
    for histogram in ack_minutes.values():
        every_ack.update(histogram)
    for histogram in resolve_minutes.values():
        every_resolve.update(histogram)
    total = stats(
        sizes.total(), not_acknowledged.total(), cleared.total(), every_ack, every_resolve
    )
    return groups, total


def _minutes_text(minutes: int | None) -> str:
    return "–" if minutes is None else duration_text(dt.timedelta(minutes=minutes))


def alerts_in_scope(user: User, scope: DashboardScope) -> QuerySet[Alert]:
    """Alerts whose condition began in the period and that had reached the queue (grace
    over) by ``as_of``; those cleared within grace never reached anyone and are left out."""
    alerts = of_participants(_reached_the_queue(), participants_in_scope(user, scope))
    return alerts.filter(in_period("occurred_at", scope), visible_at__lte=scope.as_of).order_by()


def alerts_table(user: User, scope: DashboardScope, count: Counting = raw_counts) -> Table:
    """Alerts by type and priority, with median and 90th-percentile time from reaching the
    queue to acknowledgement, and to resolution by a staff member."""
    stats, everything = alert_stats(
        count(user, scope, ALERT_ACKNOWLEDGEMENTS), count(user, scope, ALERT_RESOLUTIONS)
    )
    kinds = dict(AlertKind.choices)
    priorities = dict(Priority.choices)
    rows: list[list[Any]] = []
    by_kind: Counter[str] = Counter()
    for key in sorted(stats, key=lambda k: (str(kinds.get(k[0], k[0])), -k[1])):
        g = stats[key]
        label = str(kinds.get(key[0], key[0]))
        rows.append(
            [label, priorities.get(key[1], key[1]), g.alerts, g.acknowledged, g.resolved,
             g.cleared, g.alerts - g.resolved - g.cleared,
             *(_minutes_text(v) for v in (*g.ack, *g.resolve))]
        )  # fmt: skip
        by_kind[label] += g.alerts
    sums = [sum(r[i] for r in rows) for i in range(2, 7)]
    times = (*everything.ack, *everything.resolve)
    total = ["Total", "", *sums, *(_minutes_text(v) for v in times)]
    return Table(
        key="alerts",
        title="Alerts by type and priority",
        columns=[
            "Type", "Priority", "Alerts", "Acknowledged", "Resolved by staff",
            "Cleared by itself", "Open", "Acknowledge p50", "Acknowledge p90",
            "Resolve p50", "Resolve p90",
        ],
        rows=rows,
        total=total,
        note=(
            "Times run from the moment an alert reached the queue (its grace period over), "
            "in whole minutes as on each alert's page (under a minute is 0 min). p50 is the "
            "median and p90 the time within which 90 % were handled (nearest-rank "
            "percentiles of the whole minutes). Priority is each alert's priority now: the "
            "priority at raise time is not stored, so an alert escalated later (a silent "
            "device past its next tier) counts at its escalated priority, even if that came "
            "after the as-of date."
        ),
        chart=sorted(by_kind.items(), key=lambda kv: (-kv[1], kv[0])),
    )  # fmt: skip


# Dispositions by which a person set an alert aside: the alert was raised, and on looking
# at it someone decided it was not a violation.
OVERTURNED_DISPOSITIONS = (
    Disposition.FALSE_ALARM,
    Disposition.EQUIPMENT_FAULT,
    Disposition.EXCUSED,
)


def alert_outcomes_table(user: User, scope: DashboardScope, count: Counting = raw_counts) -> Table:
    """How the alerts of the alerts table ended, as of ``as_of``, and who decided.

    An alert is **overturned** when a named person resolved it as a false alarm, an
    equipment fault or excused: the system raised it, and a human decided it was not a
    violation. A confirmed violation is upheld; "other" is a person's decision that is
    neither (counted apart, in neither figure). An alert that cleared by itself (the
    condition ended: back in the zone, strap closed, battery charged) was decided by nobody
    and is never counted as overturned. Resolutions recorded after ``as_of`` count as open.
    The rows are the same alerts as the alerts table, so the totals agree."""
    counts = by_label(count(user, scope, ALERT_OUTCOMES))
    by_person = {value: counts[value] for value in Disposition.values if counts[value]}
    total, cleared = counts.total(), counts["cleared"]
    person = "A person (named)"
    rows: list[list[Any]] = [
        [str(label), person, by_person.get(value, 0)] for value, label in Disposition.choices
    ]
    rows.append(["Cleared by itself", "Nobody: the condition ended", cleared])
    decided = sum(by_person.values())
    rows.append(["Still open", "Not decided yet", total - decided - cleared])
    overturned = sum(by_person.get(d, 0) for d in OVERTURNED_DISPOSITIONS)
    upheld = by_person.get(Disposition.CONFIRMED_VIOLATION, 0)
    return Table(
        key="alert_outcomes",
        title="Alert outcomes and who decided",
        columns=["Outcome", "Decided by", "Alerts", "Share"],
        rows=[[*row, share(row[2], total)] for row in rows],
        total=["Total", "", total, share(total, total)],
        note=(
            f"Decided by a person: {decided}. Overturned (resolved by a person as a false "
            f"alarm, an equipment fault or excused): {overturned} ({share(overturned, decided)} "
            f"of the decisions); upheld as a confirmed violation: {upheld}. An alert that cleared "
            "by itself is nobody's decision and never counts as overturned."
        ),
        chart=[(str(row[0]), row[2]) for row in rows],
    )
