"""The program dashboard: counts for a program, office or officer over a date range, as the
records stood at any past instant.

Every table is a plain aggregate over the rows the rest of ontrack writes (participants,
their plan versions and status events, check-in windows, hearings, alerts, messages), so
the page, its CSV downloads and ``bench/reports.py`` all call the same functions. Each
starts from ``participants_visible_to(user)``: a dashboard can never count someone its
reader could not open. The tables over the largest tables (check-ins, hearings, messages,
alert outcomes) are built on ``Measure`` counts, which the page reads from the daily
roll-ups for closed days (``ontrack.reports.rollups``) and tests and CSVs may count raw:
either way the same numbers.

"As of" an instant ``T`` means what the records said at ``T``:

- supervised at ``T``: enrolled at or before ``T`` and not closed by ``T``;
- status at ``T``: the current status unless a status event (activation, suspension,
  reinstatement, closure) happened after ``T``, in which case the latest status event at or
  before ``T`` (older imported rows without transition events keep their current status);
- level and modality at ``T``: the supervision plan version in force at ``T``;
- events of the date range (enrolments, closures, check-in windows, hearings, alerts,
  messages) count only up to ``T``, and an outcome recorded after ``T`` counts as not yet
  known (hearing outcomes by when they were recorded). Office and officer are the current
  assignment, and an alert's priority its current one (escalations are not dated on the
  alert row).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    Aggregate,
    Case,
    CharField,
    Count,
    Exists,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, CumeDist
from django.db.models.sql.compiler import SQLCompiler
from django_stubs_ext import WithAnnotations

from ontrack.accounts.models import Office, User
from ontrack.alerts.models import Alert, AlertKind, AlertStatus, Disposition, Priority
from ontrack.messaging.models import Message, MessageStatus
from ontrack.participants.models import (
    ClosureReason,
    EventKind,
    Hearing,
    HearingOutcome,
    Language,
    Level,
    Participant,
    ParticipantEvent,
    Status,
    SupervisionPlan,
)
from ontrack.participants.queries import participants_visible_to
from ontrack.participants.services import ADVERSE_CLOSURE_REASONS
from ontrack.reviews.models import ReviewOrigin, ReviewOutcome
from ontrack.reviews.queries import review_decision_counts, reviews_of_participants
from ontrack.schedule.models import (
    COMPLIANCE_JUDGED,
    COMPLIANCE_MET,
    CheckinWindow,
    Outcome,
)

# Which status each lifecycle event leaves a participant in.
EVENT_STATUS: dict[str, str] = {
    EventKind.ENROLLED: Status.ENROLLED,
    EventKind.IMPORTED: Status.ENROLLED,
    EventKind.ACTIVATED: Status.ACTIVE,
    EventKind.REINSTATED: Status.ACTIVE,
    EventKind.SUSPENDED: Status.SUSPENDED,
    EventKind.CLOSED: Status.CLOSED,
}
# Events that change the status after enrolment: if one happened after the instant asked
# about, the current status is not the status then.
TRANSITION_KINDS = [
    EventKind.ACTIVATED,
    EventKind.REINSTATED,
    EventKind.SUSPENDED,
    EventKind.CLOSED,
]


MODALITIES: list[tuple[str, str]] = [
    ("device", "GPS device"),
    ("app", "App check-ins"),
    ("phone", "Phone check-ins"),
    ("office", "Office visits only"),
]
MODALITY_RULE = (
    "Each participant is counted once, under the most intensive technology on their plan: "
    "GPS device first, then app check-ins, then phone check-ins, then office visits only."
)

# Message statuses folded into the dashboard's columns; together they cover every status.
MESSAGE_COLUMNS: list[tuple[str, str, tuple[str, ...]]] = [
    ("delivered", "Delivered", (MessageStatus.DELIVERED,)),
    ("sent", "Sent, no receipt yet", (MessageStatus.SENT,)),
    ("failed", "Failed", (MessageStatus.FAILED, MessageStatus.UNDELIVERED)),
    ("not_sent", "Not sent", (MessageStatus.SUPPRESSED, MessageStatus.CANCELLED)),
    (
        "waiting",
        "Waiting",
        (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.ERRORED, MessageStatus.HELD),
    ),
]


@dataclass(frozen=True, slots=True)
class DashboardScope:
    """What to count: a program, office, officer and/or one participant (None: all the reader
    may see), the events of ``[start, end)``, and the instant ``as_of`` the records are read
    at. One participant is the compliance report's scope (``reports.compliance``): the same
    tables, cut to one person, so their numbers are the dashboard's."""

    start: dt.datetime
    end: dt.datetime
    as_of: dt.datetime
    program_id: int | None = None
    office_id: int | None = None
    officer_id: int | None = None
    participant_id: int | None = None

    @property
    def period_end(self) -> dt.datetime:
        """Nothing after ``as_of`` is counted, whatever the range says."""
        return min(self.end, self.as_of)

    def describe(self) -> str:
        parts = [
            f"{self.start:%Y-%m-%d}..{self.end:%Y-%m-%d}",
            f"as of {self.as_of:%Y-%m-%d %H:%M} UTC",
        ]
        for name in ("program_id", "office_id", "officer_id", "participant_id"):
            value = getattr(self, name)
            if value:
                parts.append(f"{name.removesuffix('_id')}={value}")
        return " ".join(parts)


@dataclass(slots=True)
class Table:
    """One dashboard table: what the page shows, the CSV holds and the chart draws.
    ``chart`` pairs a label with a value; ``total`` is the sum row where one makes sense."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    total: list[Any] | None = None
    note: str = ""
    chart: list[tuple[str, float]] = field(default_factory=list)

    @property
    def labelled_rows(self) -> list[list[tuple[str, Any]]]:
        """Each row's values beside their column's name: on a phone the page prints each
        row as lines of "name value" instead of a table wider than the screen."""
        return [list(zip(self.columns, row, strict=True)) for row in self.rows]

    @property
    def labelled_total(self) -> list[tuple[str, Any]]:
        return list(zip(self.columns, self.total or [], strict=True))

    @property
    def wide(self) -> bool:
        """More columns than half a laptop's screen, or a phone's, shows without scrolling."""
        return len(self.columns) > 4


@dataclass(frozen=True, slots=True)
class CensusRow:
    status: str
    level: str
    modality: str
    count: int


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


def participants_in_scope(user: User, scope: DashboardScope) -> QuerySet[Participant]:
    """The participants the reader may see, narrowed to the chosen program/office/officer
    (or participant)."""
    people = participants_visible_to(user)
    if scope.program_id:
        people = people.filter(program_id=scope.program_id)
    if scope.office_id:
        people = people.filter(office_id=scope.office_id)
    if scope.officer_id:
        people = people.filter(officer_id=scope.officer_id)
    if scope.participant_id:
        people = people.filter(pk=scope.participant_id)
    return people


def _of_participants(rows: QuerySet[Any], people: QuerySet[Participant]) -> QuerySet[Any]:
    """Rows about ``people``. When that is everyone (an administrator with no filter) the
    semi-join is left out: over millions of rows it would cost as much as the count."""
    if people.query.is_empty():
        return rows.none()
    if not people.query.where:
        return rows
    return rows.filter(participant_id__in=people.values("pk"))


class SupervisedAt(TypedDict):
    """The annotations ``supervised_at`` adds (level and modality are None without a plan
    at that instant)."""

    status_at: str
    level_at: str | None
    modality_at: str | None


def supervised_at(
    people: QuerySet[Participant], at: dt.datetime
) -> QuerySet[WithAnnotations[Participant, SupervisedAt]]:
    """Participants under supervision at ``at``, annotated with their status, level and
    primary modality at that instant (``status_at``, ``level_at``, ``modality_at``)."""
    events = ParticipantEvent.objects.filter(
        participant=OuterRef("pk"), kind__in=list(EVENT_STATUS)
    )
    later_transition = events.filter(at__gt=at, kind__in=TRANSITION_KINDS)
    status_then = (
        events.filter(at__lte=at)
        .order_by("-at", "-id")
        .annotate(
            s=Case(
                *(
                    When(kind=kind, then=Value(str(status)))
                    for kind, status in EVENT_STATUS.items()
                ),
                output_field=CharField(),
            )
        )
        .values("s")[:1]
    )
    plan_then = (
        SupervisionPlan.objects.filter(participant=OuterRef("pk"), effective_from__lte=at)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gt=at))
        .order_by("-effective_from", "-id")
    )
    modality = Case(
        When(gps_device=True, then=Value("device")),
        When(app_checkins=True, then=Value("app")),
        When(phone_checkins=True, then=Value("phone")),
        default=Value("office"),
        output_field=CharField(),
    )
    return (
        people.filter(enrolled_at__lte=at)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gt=at))
        .annotate(
            status_at=Case(
                When(
                    Exists(later_transition) | Q(status=Status.CLOSED),
                    then=Coalesce(Subquery(status_then), Value(str(Status.ENROLLED))),
                ),
                default=F("status"),
                output_field=CharField(),
            ),
            level_at=Subquery(plan_then.values("level")[:1]),
            modality_at=Subquery(plan_then.annotate(m=modality).values("m")[:1]),
        )
    )


# The annotations ``supervised_at`` adds.
AS_OF_FIELDS = ("status_at", "level_at", "modality_at")


def census(user: User, scope: DashboardScope) -> list[CensusRow]:
    """Supervised participants at ``as_of`` grouped by (status, level, modality) in one
    query: the status, level and modality tables are its margins, so each adds up to the
    same whole by construction."""
    rows = (
        supervised_at(participants_in_scope(user, scope), scope.as_of)
        .order_by()
        .values(*AS_OF_FIELDS)
        .annotate(n=Count("pk"))
    )
    return [
        CensusRow(r["status_at"] or "", r["level_at"] or "", r["modality_at"] or "", r["n"])
        for r in rows
    ]


def _margin(
    rows: Iterable[CensusRow], attr: str, choices: Sequence[tuple[str, str]]
) -> list[list[Any]]:
    counts: Counter[str] = Counter()
    for row in rows:
        counts[getattr(row, attr)] += row.count
    known = [[label, counts.pop(value, 0)] for value, label in choices]
    unknown = [[value or "(no plan)", n] for value, n in sorted(counts.items()) if n]
    return known + unknown


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "–"


def _with_shares(key: str, title: str, head: str, rows: list[list[Any]], note: str = "") -> Table:
    whole = sum(r[1] for r in rows)
    return Table(
        key=key,
        title=title,
        columns=[head, "Participants", "Share"],
        rows=[[label, n, _share(n, whole)] for label, n in rows],
        total=["Total", whole, _share(whole, whole)],
        note=note,
        chart=[(str(label), n) for label, n in rows],
    )


SUPERVISED_STATUSES = [(s.value, s.label) for s in Status if s != Status.CLOSED]


def census_tables(rows: list[CensusRow]) -> list[Table]:
    by_status = _margin(rows, "status", SUPERVISED_STATUSES)
    by_level = _margin(rows, "level", Level.choices)
    by_modality = _margin(rows, "modality", MODALITIES)
    return [
        _with_shares("status", "Supervised by status", "Status", by_status),
        _with_shares("level", "Supervised by level", "Level", by_level),
        _with_shares(
            "modality", "Supervised by modality", "Modality", by_modality, note=MODALITY_RULE
        ),
    ]


def _in_period(field_name: str, scope: DashboardScope) -> Q:
    return Q(**{f"{field_name}__gte": scope.start, f"{field_name}__lt": scope.period_end})


@dataclass(frozen=True, slots=True)
class Measure:
    """A count over the rows of one table whose event (``day``: a window opening, a message
    written) falls in the period, by ``(group, label)`` as the records stood at ``as_of``.

    ``group`` is known from the event itself (a message's language); ``label`` holds only
    from the instant ``settled`` (an outcome and when it was recorded): before that the row
    counts under ``default``. A row with a ``present`` instant counts at all only from then
    (an alert, once it reached the queue). Every table built on a measure can be counted
    from the raw rows (``raw_counts``) or from the daily roll-ups
    (``ontrack.reports.rollups.rolled_counts``) with the same result."""

    name: str
    rows: Callable[[], QuerySet[Any]]
    day: str
    label: Any
    settled: Any
    default: str
    group: Any = field(default_factory=lambda: Value(""))
    present: str | None = None


Counts = Counter[tuple[str, str]]
Counting = Callable[[User, DashboardScope, Measure], Counts]


def raw_counts(user: User, scope: DashboardScope, measure: Measure) -> Counts:
    """``measure`` counted from the raw rows of the people in scope."""
    rows = _of_participants(measure.rows(), participants_in_scope(user, scope))
    rows = rows.filter(_in_period(measure.day, scope))
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


def _by_label(counts: Counts) -> Counter[str]:
    by_label: Counter[str] = Counter()
    for (_group, label), n in counts.items():
        by_label[label] += n
    return by_label


CHECKINS = Measure(
    name="checkins",
    rows=CheckinWindow.objects.all,
    day="opens_at",
    label=F("outcome"),
    settled=F("outcome_at"),
    default=Outcome.DUE,
)
# Outcomes recorded before ontrack kept the time of recording are known from the hearing's
# own time, the earliest they could have been.
HEARINGS = Measure(
    name="hearings",
    rows=Hearing.objects.all,
    day="scheduled_at",
    label=F("outcome"),
    settled=Coalesce(F("outcome_recorded_at"), F("scheduled_at")),
    default=HearingOutcome.SCHEDULED,
)
MESSAGES = Measure(
    name="messages",
    rows=Message.objects.all,
    day="created_at",
    group=F("language"),
    label=Case(
        *(When(status__in=statuses, then=Value(key)) for key, _l, statuses in MESSAGE_COLUMNS),
        output_field=CharField(),
    ),
    settled=F("status_at"),
    default="waiting",
)
# An alert is counted once it reached the queue (its grace over); cancelled within grace, it
# never reached anyone. Its outcome is known from when it was closed.
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
MEASURES = (CHECKINS, HEARINGS, MESSAGES, ALERT_OUTCOMES)


def enrolments_table(user: User, scope: DashboardScope) -> Table:
    """Enrolments and closures in the period, per office."""
    people = participants_in_scope(user, scope)
    enrolled = dict(
        people.filter(_in_period("enrolled_at", scope))
        .order_by()
        .values_list("office_id")
        .annotate(n=Count("pk"))
    )
    closed = dict(
        people.filter(_in_period("closed_at", scope))
        .order_by()
        .values_list("office_id")
        .annotate(n=Count("pk"))
    )
    names = dict(Office.objects.filter(pk__in={*enrolled, *closed}).values_list("pk", "name"))
    rows = [
        [names[pk], enrolled.get(pk, 0), closed.get(pk, 0)]
        for pk in sorted(names, key=lambda pk: names[pk])
    ]
    return Table(
        key="enrolments",
        title="Enrolments and closures",
        columns=["Office", "Enrolled", "Closed"],
        rows=rows,
        total=["Total", sum(r[1] for r in rows), sum(r[2] for r in rows)],
        chart=[(f"{r[0]} enrolled", r[1]) for r in rows] + [(f"{r[0]} closed", r[2]) for r in rows],
    )


def closures_table(user: User, scope: DashboardScope) -> Table:
    counts = dict(
        participants_in_scope(user, scope)
        .filter(_in_period("closed_at", scope))
        .order_by()
        .values_list("closure_reason")
        .annotate(n=Count("pk"))
    )
    rows = [[label, counts.get(value, 0)] for value, label in ClosureReason.choices]
    return _with_shares("closures", "Closures by reason", "Reason", rows)


def checkins_table(user: User, scope: DashboardScope, count: Counting = raw_counts) -> Table:
    """Check-in windows that opened in the period, by outcome as recorded at ``as_of``."""
    counts = _by_label(count(user, scope, CHECKINS))
    order = [Outcome.ON_TIME, Outcome.LATE, Outcome.MISSED, Outcome.EXCUSED]
    order += [Outcome.TECHNICAL_FAILURE, Outcome.DUE]
    rows = [[str(Outcome(o).label), counts.get(o, 0)] for o in order]
    table = _with_shares("checkins", "Check-in compliance", "Outcome", rows)
    table.columns[1] = "Windows"
    done = sum(counts.get(o, 0) for o in COMPLIANCE_MET)
    judged = sum(counts.get(o, 0) for o in COMPLIANCE_JUDGED)
    table.note = (
        f"Compliance (on time or late, of windows that were not excused, not a technical "
        f"failure and not still due): {_share(done, judged)}. A technical failure means the "
        "person tried; it is never counted as missed."
    )
    return table


def hearings_table(user: User, scope: DashboardScope, count: Counting = raw_counts) -> Table:
    """Hearings scheduled in the period, by their outcome as recorded at ``as_of``: an
    outcome recorded later counts as still scheduled. Outcomes recorded before ontrack kept
    the time of recording (``outcome_recorded_at`` empty) are taken as known from the
    hearing's own time, the earliest they could have been."""
    counts = _by_label(count(user, scope, HEARINGS))
    rows = [[label, counts.get(value, 0)] for value, label in HearingOutcome.choices]
    table = _with_shares("hearings", "Hearing attendance", "Outcome", rows)
    table.columns[1] = "Hearings"
    attended = counts.get(HearingOutcome.ATTENDED, 0)
    table.note = (
        "Hearings scheduled in the period, by the outcome as recorded at the as-of date (one "
        "recorded later counts as scheduled). Attendance (attended of attended or failed to "
        f"appear): {_share(attended, attended + counts.get(HearingOutcome.FAILED_TO_APPEAR, 0))}."
    )
    return table


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
    alerts = _of_participants(Alert.objects.all(), participants_in_scope(user, scope))
    return (
        alerts.filter(_in_period("occurred_at", scope), visible_at__lte=scope.as_of)
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
    counts = _by_label(count(user, scope, ALERT_OUTCOMES))
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
        rows=[[*row, _share(row[2], total)] for row in rows],
        total=["Total", "", total, _share(total, total)],
        note=(
            f"Decided by a person: {decided}. Overturned (resolved by a person as a false "
            f"alarm, an equipment fault or excused): {overturned} ({_share(overturned, decided)} "
            f"of the decisions); upheld as a confirmed violation: {upheld}. An alert that cleared "
            "by itself is nobody's decision and never counts as overturned."
        ),
        chart=[(str(row[0]), row[2]) for row in rows],
    )


REVIEW_COLUMNS = (ReviewOutcome.STEPPED_DOWN, ReviewOutcome.KEPT, ReviewOutcome.PENDING)


def reviews_table(user: User, scope: DashboardScope) -> Table:
    """Supervision reviews opened in the period, by why they opened (the plan's review date
    or the participant's own request) and what a supervisor had decided by ``as_of``."""
    reviews = reviews_of_participants(participants_in_scope(user, scope)).filter(
        _in_period("opened_at", scope)
    )
    counts = review_decision_counts(reviews, at=scope.as_of)
    rows: list[list[Any]] = []
    for origin, label in ReviewOrigin.choices:
        parts = [counts.get((origin, outcome), 0) for outcome in REVIEW_COLUMNS]
        rows.append([str(label), sum(parts), *parts])
    width = 2 + len(REVIEW_COLUMNS)
    total = ["Total", *(sum(r[i] for r in rows) for i in range(1, width))]
    return Table(
        key="reviews",
        title="Supervision reviews and decisions",
        columns=["Opened because", "Reviews", *(str(o.label) for o in REVIEW_COLUMNS)],
        rows=rows,
        total=total,
        note=(
            "Every decision is a named supervisor's, with a written reason. A decision taken "
            "after the as-of date counts as waiting."
        ),
        chart=[(str(o.label), total[2 + i]) for i, o in enumerate(REVIEW_COLUMNS)],
    )


def adverse_closures_table(user: User, scope: DashboardScope) -> Table:
    """Adverse closures (absconded, departed or removed, detained) in the period, by the
    named person who decided them: ``closed_by``, or for a record transferred from another
    program the decider it names (shown as imported). The database requires one of the two,
    with a note. Counts only: no participant is named, so the CSV carries no one's identity
    but the deciding staff member's."""
    counts = (
        participants_in_scope(user, scope)
        .filter(_in_period("closed_at", scope), closure_reason__in=list(ADVERSE_CLOSURE_REASONS))
        .order_by()
        .values_list("closed_by", "closure_decided_by_name", "closure_reason")
        .annotate(n=Count("pk"))
    )
    reasons = [ClosureReason.ABSCONDED, ClosureReason.DEPARTED, ClosureReason.DETAINED]
    per_decider: dict[tuple[int | None, str], Counter[str]] = {}
    for decider, outside_name, reason, n in counts:
        per_decider.setdefault((decider, outside_name), Counter())[reason] += n
    names = {u.pk: str(u) for u in User.objects.filter(pk__in=[k for k, _ in per_decider if k])}
    rows: list[list[Any]] = []
    for (decider, outside_name), by_reason in per_decider.items():
        if decider:
            name = names.get(decider, "")
        elif outside_name:
            name = f"{outside_name} (imported)"
        else:
            name = "(no one recorded)"
        parts = [by_reason.get(r, 0) for r in reasons]
        rows.append([name, *parts, sum(parts)])
    rows.sort(key=lambda r: (-r[-1], r[0]))
    return Table(
        key="adverse_closures",
        title="Adverse closures, by who decided",
        columns=["Decided by", *(str(r.label) for r in reasons), "Closures"],
        rows=rows,
        total=["Total", *(sum(r[i] for r in rows) for i in range(1, 2 + len(reasons)))],
        note=(
            "An adverse closure is never recorded by the system on its own: each names the "
            "person who decided it and carries their written note."
        ),
        chart=[(r[0], r[-1]) for r in rows],
    )


def messages_table(user: User, scope: DashboardScope, count: Counting = raw_counts) -> Table:
    """Messages written in the period, by language and by where they got to by ``as_of``
    (a status recorded later counts as waiting)."""
    per_language: dict[str, Counter[str]] = {}
    for (language, column), n in count(user, scope, MESSAGES).items():
        per_language.setdefault(language, Counter())[column] += n
    names = dict(Language.choices)
    rows: list[list[Any]] = []
    for language, c in per_language.items():
        parts = [c[key] for key, _l, _s in MESSAGE_COLUMNS]
        rows.append([names.get(language, language), c.total(), *parts])
    # The busiest language first; ties by name, so the order never depends on how the
    # counts were read (the roll-ups and the raw query must give the same table).
    rows.sort(key=lambda row: (-row[1], row[0]))
    width = 2 + len(MESSAGE_COLUMNS)
    return Table(
        key="messages",
        title="Messages by language",
        columns=["Language", "Messages", *(label for _k, label, _s in MESSAGE_COLUMNS)],
        rows=rows,
        total=["Total", *(sum(r[i] for r in rows) for i in range(1, width))],
        note="Failed includes messages the carrier reported undelivered; not sent means "
        "opted out, no contact, or cancelled.",
        chart=[(r[0], r[1]) for r in rows],
    )


# Tables read straight from the records, and tables built on measures (which the roll-ups
# can count); ``TABLE_ORDER`` is the page's order.
PLAIN_BUILDERS: dict[str, Callable[[User, DashboardScope], Table]] = {
    "enrolments": enrolments_table,
    "closures": closures_table,
    "alerts": alerts_table,
    "reviews": reviews_table,
    "adverse_closures": adverse_closures_table,
}
COUNTED_BUILDERS: dict[str, Callable[[User, DashboardScope, Counting], Table]] = {
    "checkins": checkins_table,
    "hearings": hearings_table,
    "alert_outcomes": alert_outcomes_table,
    "messages": messages_table,
}
TABLE_ORDER = ("enrolments", "closures", "checkins", "hearings", "alerts", "alert_outcomes",
               "reviews", "adverse_closures", "messages")  # fmt: skip
CENSUS_KEYS = ("status", "level", "modality")
TABLE_KEYS = (*CENSUS_KEYS, *TABLE_ORDER)


def dashboard_table(
    user: User, scope: DashboardScope, key: str, count: Counting = raw_counts
) -> Table:
    """One table by its key (for a CSV download), its measures counted by ``count``.
    ``KeyError`` for an unknown key."""
    if key in CENSUS_KEYS:
        return census_tables(census(user, scope))[CENSUS_KEYS.index(key)]
    if key in COUNTED_BUILDERS:
        return COUNTED_BUILDERS[key](user, scope, count)
    return PLAIN_BUILDERS[key](user, scope)


def dashboard_tables(
    user: User, scope: DashboardScope, count: Counting = raw_counts
) -> list[Table]:
    """Every table of the dashboard, in page order, its measures counted by ``count``."""
    tables = census_tables(census(user, scope))
    tables.extend(dashboard_table(user, scope, key, count) for key in TABLE_ORDER)
    return tables


def participant_list(
    user: User, scope: DashboardScope
) -> QuerySet[WithAnnotations[Participant, SupervisedAt]]:
    """The people behind the supervised counts (for the participant-list export): the same
    query as the census, so the list's length is the census total."""
    return (
        supervised_at(participants_in_scope(user, scope), scope.as_of)
        .select_related("office", "officer")
        .order_by("family_name", "given_name", "id")
    )
