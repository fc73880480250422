"""Who was under supervision at an instant, by status, level and modality: the census
tables and the participant list behind them.

The rule is written twice, once as SQL over everyone in scope (``supervised_at``), once in
Python over one person's history (``CaseHistory``), which the roll-ups use to find the
instants each person's (status, level, modality) changed (``ontrack.reports.rollups.census``);
the roll-up tests hold the two to the same numbers.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django_stubs_ext import WithAnnotations

from ontrack.accounts.models import User
from ontrack.participants.models import (
    EventKind,
    Level,
    Participant,
    ParticipantEvent,
    Status,
    SupervisionPlan,
)
from ontrack.reports.dashboard.scope import (
    DashboardScope,
    Table,
    participants_in_scope,
    with_shares,
)

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


# Which modality a plan counts under (``MODALITY_RULE``), as an expression on a plan.
PLAN_MODALITY = Case(
    When(gps_device=True, then=Value("device")),
    When(app_checkins=True, then=Value("app")),
    When(phone_checkins=True, then=Value("phone")),
    default=Value("office"),
    output_field=CharField(),
)

# (status, level, modality); level and modality are "" without a plan in force.
CensusKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class CensusRow:
    status: str
    level: str
    modality: str
    count: int


def census_rows(counts: Counter[CensusKey]) -> list[CensusRow]:
    return [CensusRow(*key, n) for key, n in sorted(counts.items()) if n]


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
            modality_at=Subquery(plan_then.annotate(m=PLAN_MODALITY).values("m")[:1]),
        )
    )


# The annotations ``supervised_at`` adds.
AS_OF_FIELDS = ("status_at", "level_at", "modality_at")


def census_key(row: Any) -> CensusKey:
    """The key of a row annotated by ``supervised_at``."""
    return (row["status_at"] or "", row["level_at"] or "", row["modality_at"] or "")


def census_counts(people: QuerySet[Participant], at: dt.datetime) -> Counter[CensusKey]:
    """``people`` supervised at ``at`` by (status, level, modality), in one query."""
    rows = supervised_at(people, at).order_by().values(*AS_OF_FIELDS).annotate(n=Count("pk"))
    return Counter({census_key(row): row["n"] for row in rows})


def census(user: User, scope: DashboardScope) -> list[CensusRow]:
    """Supervised participants at ``as_of`` grouped by (status, level, modality) in one
    query: the status, level and modality tables are its margins, so each adds up to the
    same whole by construction."""
    return census_rows(census_counts(participants_in_scope(user, scope), scope.as_of))


@dataclass(frozen=True, slots=True)
class CaseHistory:
    """What the census rule reads of one participant: ``supervised_at`` for one person, in
    Python, at any instant. ``events`` are (at, id, kind) of the ``EVENT_STATUS`` kinds;
    ``plans`` (effective from, effective to, id, level, modality)."""

    enrolled_at: dt.datetime
    closed_at: dt.datetime | None
    status: str
    events: Sequence[tuple[dt.datetime, int, str]]
    plans: Sequence[tuple[dt.datetime, dt.datetime | None, int, str, str]]

    def state_at(self, at: dt.datetime) -> CensusKey | None:
        """(status, level, modality) at ``at``, or None when not supervised then."""
        if self.enrolled_at > at or (self.closed_at is not None and self.closed_at <= at):
            return None
        status = self.status
        later = any(when > at and kind in TRANSITION_KINDS for when, _id, kind in self.events)
        if later or status == Status.CLOSED:
            known = [event for event in self.events if event[0] <= at]
            status = EVENT_STATUS[max(known)[2]] if known else Status.ENROLLED
        in_force = [
            (start, pk, level, modality)
            for start, end, pk, level, modality in self.plans
            if start <= at and (end is None or end > at)
        ]
        _start, _pk, level, modality = max(in_force) if in_force else (at, 0, "", "")
        return (str(status), level, modality)

    def changes(self) -> Iterator[tuple[dt.datetime, CensusKey | None, CensusKey | None]]:
        """Each instant at which the state changes, with the states before and from then:
        the state can change only at an instant the rule compares ``at`` with."""
        instants = {self.enrolled_at, *(when for when, _id, _kind in self.events)}
        instants.update(start for start, *_rest in self.plans)
        instants.update(end for _start, end, *_rest in self.plans if end is not None)
        if self.closed_at is not None:
            instants.add(self.closed_at)
        state = None
        for instant in sorted(instants):
            now = self.state_at(instant)
            if now != state:
                yield instant, state, now
                state = now


def _margin(
    rows: Iterable[CensusRow], attr: str, choices: Sequence[tuple[str, str]]
) -> list[list[Any]]:
    counts: Counter[str] = Counter()
    for row in rows:
        counts[getattr(row, attr)] += row.count
    known = [[label, counts.pop(value, 0)] for value, label in choices]
    unknown = [[value or "(no plan)", n] for value, n in sorted(counts.items()) if n]
    return known + unknown


SUPERVISED_STATUSES = [(s.value, s.label) for s in Status if s != Status.CLOSED]


def census_tables(rows: list[CensusRow]) -> list[Table]:
    by_status = _margin(rows, "status", SUPERVISED_STATUSES)
    by_level = _margin(rows, "level", Level.choices)
    by_modality = _margin(rows, "modality", MODALITIES)
    return [
        with_shares("status", "Supervised by status", "Status", by_status),
        with_shares("level", "Supervised by level", "Level", by_level),
        with_shares(
            "modality", "Supervised by modality", "Modality", by_modality, note=MODALITY_RULE
        ),
    ]


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
