"""The alert tables: alerts by type and priority with their response times, and how they
ended and who decided."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    Aggregate,
    Case,
    CharField,
    Count,
    F,
    FloatField,
    Func,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import CumeDist
from django.db.models.sql.compiler import SQLCompiler

from ontrack.accounts.models import User
from ontrack.alerts.models import Alert, AlertKind, AlertStatus, Disposition, Priority
from ontrack.reports.dashboard.measures import Counting, Measure, by_label, raw_counts
from ontrack.reports.dashboard.scope import (
    DashboardScope,
    Table,
    in_period,
    of_participants,
    participants_in_scope,
    share,
)


class Elapsed(Func):
    """Seconds from the second datetime to the first, computed in the database (SQLite's
    ``julianday``; PostgreSQL's ``EXTRACT(EPOCH ...)``) so that a million durations are
    never brought into Python."""

    arity = 2
    output_field = FloatField()
    template = "EXTRACT(EPOCH FROM (%(expressions)s))::double precision"
    arg_joiner = " - "

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> Any:
        return super().as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400.0)",
            arg_joiner=") - julianday(",
            **extra_context,
        )


def elapsed(start: str, end: str) -> Elapsed:
    """Seconds from ``start`` to ``end`` (field names)."""
    return Elapsed(F(end), F(start))


ALERT_OUTCOMES = Measure(
    name="alert_outcomes",
    rows=lambda: Alert.objects.exclude(status=AlertStatus.CANCELLED),
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


PERCENTILES = (0.5, 0.9)


@dataclass(slots=True)
class AlertStats:
    """Counts and nearest-rank percentiles (seconds, one per ``PERCENTILES`` point) of one
    (kind, priority) group, or of all alerts."""

    alerts: int
    acknowledged: int
    resolved: int
    cleared: int
    ack: list[float | None]
    resolve: list[float | None]


def _flag(condition: Q) -> Case:
    return Case(When(condition, then=Value(1)), default=Value(0))


class PercentileDisc(Aggregate):
    """PostgreSQL's nearest-rank percentile (``percentile_disc``); it ignores NULLs."""

    function = "percentile_disc"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float) -> None:
        super().__init__(expression, fraction=float(fraction))


def alert_stats(
    alerts: QuerySet[Alert], at: dt.datetime
) -> tuple[dict[tuple[str, int], AlertStats], AlertStats]:
    """Everything the alerts table needs: per (kind, priority) and for all alerts, the
    counts and the times from reaching the queue to acknowledgement and to resolution by
    staff, as of ``at``.

    Percentiles are nearest-rank (the smallest duration with at least that share of the
    group at or below it). PostgreSQL has that as ``percentile_disc``; SQLite has no
    percentile function, so there the same number comes from one pass of window functions.
    Either way no duration is brought into Python."""
    acked = Q(acknowledged_at__lte=at)
    resolved = Q(status=AlertStatus.RESOLVED, closed_at__lte=at)
    durations = alerts.annotate(
        a=Case(
            When(acked, then=elapsed("visible_at", "acknowledged_at")), output_field=FloatField()
        ),
        r=Case(When(resolved, then=elapsed("visible_at", "closed_at")), output_field=FloatField()),
        cleared=_flag(Q(status=AlertStatus.AUTO_RESOLVED, closed_at__lte=at)),
    )
    if connection.vendor == "postgresql":
        return _alert_stats_ordered_set(durations)
    return _alert_stats_windows(durations)


def _alert_stats_ordered_set(
    durations: QuerySet[Alert],
) -> tuple[dict[tuple[str, int], AlertStats], AlertStats]:
    measures: dict[str, Any] = {
        "n": Count("pk"),
        "n_a": Count("a"),
        "n_r": Count("r"),
        "n_c": Sum("cleared"),
    }
    for i, point in enumerate(PERCENTILES):
        measures[f"a{i}"] = PercentileDisc(F("a"), point)
        measures[f"r{i}"] = PercentileDisc(F("r"), point)

    def stats(row: Mapping[str, Any]) -> AlertStats:
        points = range(len(PERCENTILES))
        return AlertStats(
            alerts=row["n"], acknowledged=row["n_a"], resolved=row["n_r"],
            cleared=int(row["n_c"] or 0), ack=[row[f"a{i}"] for i in points],
            resolve=[row[f"r{i}"] for i in points],
        )  # fmt: skip

    groups = {
        (row["kind"], row["priority"]): stats(row)
        for row in durations.values("kind", "priority").annotate(**measures)
    }
    return groups, stats(durations.aggregate(**measures))


def _alert_stats_windows(
    durations: QuerySet[Alert],
) -> tuple[dict[tuple[str, int], AlertStats], AlertStats]:
    """Each duration is ranked (``CUME_DIST``) within its group and within all alerts; rows
    without that duration are ranked in a partition of their own and contribute nothing.
    The all-alerts percentile is the smallest of the groups' candidates, since the minimum
    over a union is the minimum of the minimums."""
    group = [F("kind"), F("priority")]
    ranked = durations.annotate(
        has_a=_flag(Q(a__isnull=False)),
        has_r=_flag(Q(r__isnull=False)),
        cd_a=Window(CumeDist(), partition_by=[*group, F("has_a")], order_by=F("a").asc()),
        cd_a_all=Window(CumeDist(), partition_by=[F("has_a")], order_by=F("a").asc()),
        cd_r=Window(CumeDist(), partition_by=[*group, F("has_r")], order_by=F("r").asc()),
        cd_r_all=Window(CumeDist(), partition_by=[F("has_r")], order_by=F("r").asc()),
    ).values("kind", "priority", "a", "r", "cleared", "cd_a", "cd_a_all", "cd_r", "cd_r_all")
    inner, params = ranked.query.sql_with_params()
    qn = connection.ops.quote_name
    picks = [
        f"MIN(CASE WHEN {qn(rank)} >= %s THEN {qn(value)} END)"
        for value, rank in (("a", "cd_a"), ("r", "cd_r"), ("a", "cd_a_all"), ("r", "cd_r_all"))
        for _point in PERCENTILES
    ]
    kind, priority = qn("kind"), qn("priority")
    # Only quoted column names of ours are interpolated; values travel as parameters.
    sql = (
        f"SELECT {kind}, {priority}, COUNT(*), COUNT({qn('a')}), COUNT({qn('r')}), "  # noqa: S608
        f"SUM({qn('cleared')}), {', '.join(picks)} FROM ({inner}) ranked "
        f"GROUP BY {kind}, {priority}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*PERCENTILES * 4, *params])
        found = cursor.fetchall()

    def seconds(values: Sequence[Any]) -> list[float | None]:
        return [None if v is None else float(v) for v in values]

    n = len(PERCENTILES)
    groups = {
        (row[0], row[1]): AlertStats(
            alerts=row[2], acknowledged=row[3], resolved=row[4], cleared=int(row[5] or 0),
            ack=seconds(row[6 : 6 + n]), resolve=seconds(row[6 + n : 6 + 2 * n]),
        )
        for row in found
    }  # fmt: skip
    total = AlertStats(
        alerts=sum(g.alerts for g in groups.values()),
        acknowledged=sum(g.acknowledged for g in groups.values()),
        resolved=sum(g.resolved for g in groups.values()),
        cleared=sum(g.cleared for g in groups.values()),
        ack=_smallest(seconds(row[6 + 2 * n : 6 + 3 * n]) for row in found),
        resolve=_smallest(seconds(row[6 + 3 * n :]) for row in found),
    )
    return groups, total


def _smallest(candidates: Iterable[list[float | None]]) -> list[float | None]:
    """Per percentile, the smallest of the groups' candidates (None if none has one)."""
    result: list[float | None] = [None] * len(PERCENTILES)
    for values in candidates:
        for i, value in enumerate(values):
            current = result[i]
            if value is not None and (current is None or value < current):
                result[i] = value
    return result


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    total = round(seconds)
    if total < 3600:
        return f"{total // 60} min {total % 60:02d} s"
    return f"{total // 3600} h {total % 3600 // 60:02d} min"


def alerts_in_scope(user: User, scope: DashboardScope) -> QuerySet[Alert]:
    """Alerts whose condition began in the period and that had reached the queue (grace
    over) by ``as_of``; those cleared within grace never reached anyone and are left out."""
    alerts = of_participants(Alert.objects.all(), participants_in_scope(user, scope))
    return (
        alerts.filter(in_period("occurred_at", scope), visible_at__lte=scope.as_of)
        .exclude(status=AlertStatus.CANCELLED)
        .order_by()
    )


def alerts_table(user: User, scope: DashboardScope) -> Table:
    """Alerts by type and priority, with median and 90th-percentile time from reaching the
    queue to acknowledgement, and to resolution by a staff member."""
    stats, everything = alert_stats(alerts_in_scope(user, scope), scope.as_of)
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
             *(duration_text(v) for v in (*g.ack, *g.resolve))]
        )  # fmt: skip
        by_kind[label] += g.alerts
    sums = [sum(r[i] for r in rows) for i in range(2, 7)]
    times = (*everything.ack, *everything.resolve)
    total = ["Total", "", *sums, *(duration_text(v) for v in times)]
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
            "Times run from the moment an alert reached the queue (its grace period over). "
            "p50 is the median and p90 the time within which 90 % were handled "
            "(nearest-rank percentiles). Priority is each alert's priority now: the priority "
            "at raise time is not stored, so an alert escalated later (a silent device past "
            "its next tier) counts at its escalated priority, even if that came after the "
            "as-of date."
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
