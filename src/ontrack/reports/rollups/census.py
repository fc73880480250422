"""The census (who was supervised at an instant, by status, level and modality) from the
roll-ups: the changes of each day summed up to the as-of midnight (``CensusChange``).

The whole-history roll-up computes, from each participant's records, every instant their
(status, level, modality) changed (``CaseHistory.changes``), and counts the changes per day
and per officer, office and program as assigned then. The census at a midnight ``M`` up to
that roll-up's ``covers_until`` is the sum of the changes before ``M``'s date. Past it (as
of now, or when the nightly roll-up has not run since), the census at ``covers_until`` is
brought forward person by person: everyone whose state changed between that midnight and
the as-of instant (a status event, a plan version, an enrolment or closure), who was
transferred since the roll-up or was recorded after it, is taken out as the roll-up counted
them (at that midnight, under the assignment it knew) and put back as the records say at the
as-of instant, under their assignment now. A transfer since the roll-up thus shows at once
as of now and any day before.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from typing import Any

from django.db.models import Q, Sum

from ontrack.accounts.models import User
from ontrack.participants.models import EventKind, Participant, ParticipantEvent, SupervisionPlan
from ontrack.reports.dashboard import DashboardScope
from ontrack.reports.dashboard.census import (
    AS_OF_FIELDS,
    EVENT_STATUS,
    PLAN_MODALITY,
    CaseHistory,
    CensusKey,
    CensusRow,
    census,
    census_key,
    census_rows,
    supervised_at,
)
from ontrack.reports.models import CensusChange, RollupLevel, RollupRun
from ontrack.reports.rollups.levels import Assignment, assigned, readable
from ontrack.reports.rollups.rows import insert_rows
from ontrack.reports.rollups.runs import is_midnight, midnight, rollup_whole, settled_date

# Participants whose histories are read and counted at a time.
CHUNK = 2_000


def _histories(
    people: list[tuple[Any, ...]],
) -> Iterator[tuple[tuple[Any, ...], CaseHistory]]:
    """Each of ``people`` (pk, program, office, officer, enrolled, closed, status) with the
    history the census rule reads."""
    pks = [person[0] for person in people]
    events: dict[int, list[tuple[dt.datetime, int, str]]] = {}
    for pk, at, event_id, kind in ParticipantEvent.objects.filter(
        participant_id__in=pks, kind__in=list(EVENT_STATUS)
    ).values_list("participant_id", "at", "id", "kind"):
        events.setdefault(pk, []).append((at, event_id, kind))
    plans: dict[int, list[tuple[dt.datetime, dt.datetime | None, int, str, str]]] = {}
    for pk, *plan in (
        SupervisionPlan.objects.filter(participant_id__in=pks)
        .annotate(m=PLAN_MODALITY)
        .values_list("participant_id", "effective_from", "effective_to", "id", "level", "m")
    ):
        plans.setdefault(pk, []).append(tuple(plan))
    for person in people:
        pk, _program, _office, _officer, enrolled_at, closed_at, status = person
        yield person, CaseHistory(
            enrolled_at=enrolled_at, closed_at=closed_at, status=status,
            events=events.get(pk, []), plans=plans.get(pk, []),
        )  # fmt: skip


FIELDS = ("level", "program", "office", "officer", "day", "status", "plan_level", "modality", "n")


def census_write(until: dt.date) -> int:
    """Every participant's changes at instants up to midnight of ``until`` (the days before
    it), replacing what there was. Officer and office rows are written per chunk of people,
    an office's people one after the other (the reads sum them, so a day's key may have a
    row from each of two chunks); program rows once, summed over everyone."""
    CensusChange.objects.all().delete()
    cutoff = midnight(until)
    programs: Counter[tuple[Any, ...]] = Counter()
    written = 0
    people = Participant.objects.order_by("office_id", "pk").values_list(
        "pk", "program_id", "office_id", "officer_id", "enrolled_at", "closed_at", "status"
    )
    after = Q()
    while chunk := list(people.filter(after)[:CHUNK]):
        last_pk, _program, last_office, *_rest = chunk[-1]
        after = Q(office_id__gt=last_office) | Q(office_id=last_office, pk__gt=last_pk)
        officers: Counter[tuple[Any, ...]] = Counter()
        offices: Counter[tuple[Any, ...]] = Counter()
        for (_pk, program, office, officer, *_rest), history in _histories(chunk):
            for at, before, now in history.changes():
                if at > cutoff:
                    break
                day = settled_date(at)
                for state, sign in ((before, -1), (now, 1)):
                    if state is not None:
                        officers[(program, office, officer, day, *state)] += sign
                        offices[(program, office, None, day, *state)] += sign
                        programs[(program, None, None, day, *state)] += sign
        written += insert_rows(
            CensusChange,
            FIELDS,
            (
                (level, *key, n)
                for level, sums in ((RollupLevel.OFFICER, officers), (RollupLevel.OFFICE, offices))
                for key, n in sums.items()
                if n
            ),
        )
    rows = ((RollupLevel.PROGRAM, *key, n) for key, n in programs.items() if n)
    return written + insert_rows(CensusChange, FIELDS, rows)


def _changed_between(start: dt.datetime, end: dt.datetime) -> set[int]:
    """Participants whose census state may differ between ``start`` and ``end``: one of the
    instants the rule compares with lies in ``(start, end]``. Asked table by table, each on
    its own instants, so that a day's changes cost a day's rows, not a pass over everyone."""
    if start >= end:
        return set()
    events = ParticipantEvent.objects.filter(
        kind__in=list(EVENT_STATUS), at__gt=start, at__lte=end
    ).values_list("participant_id", flat=True)
    plans = SupervisionPlan.objects.filter(
        Q(effective_from__gt=start, effective_from__lte=end)
        | Q(effective_to__gt=start, effective_to__lte=end)
    ).values_list("participant_id", flat=True)
    people = Participant.objects.filter(
        Q(enrolled_at__gt=start, enrolled_at__lte=end) | Q(closed_at__gt=start, closed_at__lte=end)
    ).values_list("pk", flat=True)
    return {*events, *plans, *people}


def _assignments_then(run: RollupRun) -> dict[int, Assignment]:
    """The assignment the roll-up knew of each participant transferred since: where their
    first transfer after it moved them from."""
    then: dict[int, Assignment] = {}
    transfers = (
        ParticipantEvent.objects.filter(kind=EventKind.TRANSFERRED, at__gt=run.computed_at)
        .order_by("at", "id")
        .values_list("participant_id", "participant__program_id", "data")
    )
    for pk, program, data in transfers:
        moved_from = data.get("from") if isinstance(data, dict) else None
        if pk not in then and isinstance(moved_from, list) and len(moved_from) == 2:
            then[pk] = {
                "program_id": program,
                "office_id": moved_from[0],
                "officer_id": moved_from[1],
            }
    return then


def _states(pks: list[int], at: dt.datetime) -> Iterator[tuple[Assignment, int, CensusKey]]:
    """Each of the participants ``pks`` supervised at ``at``: their assignment now, pk and
    state (a chunk of them at a time: a query names a bounded number of them)."""
    for start in range(0, len(pks), CHUNK):
        people = Participant.objects.filter(pk__in=pks[start : start + CHUNK])
        rows = (
            supervised_at(people, at)
            .order_by()
            .values("pk", "program_id", "office_id", "officer_id", *AS_OF_FIELDS)
        )
        for row in rows:
            yield row, row["pk"], census_key(row)


def _brought_forward(
    run: RollupRun, rows: dict[str, int], base: dt.datetime, as_of: dt.datetime
) -> Counter[CensusKey]:
    """What to add to the roll-up's census at ``base`` to make it the census at ``as_of``
    under today's assignments (see the module's docstring)."""
    moved = _assignments_then(run)
    new = set(
        Participant.objects.filter(created_at__gt=run.computed_at).values_list("pk", flat=True)
    )
    changed = sorted(_changed_between(base, as_of) | new | set(moved))
    counts: Counter[CensusKey] = Counter()
    for assignment, pk, state in _states(changed, base):
        if pk not in new and assigned(moved.get(pk, assignment), rows):
            counts[state] -= 1
    for assignment, _pk, state in _states(changed, as_of):
        if assigned(assignment, rows):
            counts[state] += 1
    return counts


def rolled_census(user: User, scope: DashboardScope) -> list[CensusRow]:
    """The census at ``as_of`` from the roll-ups: the same rows as ``census``."""
    run = rollup_whole()
    as_of = scope.as_of
    if scope.participant_id or run is None:  # the roll-ups count no one person
        return census(user, scope)
    if not is_midnight(as_of) and as_of < run.computed_at:
        return census(user, scope)  # the middle of a past day: never asked by the page
    found = readable(user, scope)
    if found is None:
        return []
    level, rows = found
    base = min(as_of, midnight(run.covers_until))
    sums = (
        CensusChange.objects.filter(level=level, day__lt=base.date(), **rows)
        .values_list("status", "plan_level", "modality")
        .annotate(n=Sum("n"))
        .order_by()
    )
    counts: Counter[CensusKey] = Counter({(s, lv, m): n for s, lv, m, n in sums})
    counts.update(_brought_forward(run, rows, base, as_of))
    return census_rows(counts)
