"""The count tables: enrolments and closures, check-in compliance, hearing attendance,
supervision reviews, adverse closures and messages."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db.models import Case, CharField, Count, F, Value, When
from django.db.models.functions import Coalesce

from ontrack.accounts.models import Office, User
from ontrack.messaging.models import Message, MessageStatus
from ontrack.participants.models import ClosureReason, Hearing, HearingOutcome, Language
from ontrack.participants.services import ADVERSE_CLOSURE_REASONS
from ontrack.reports.dashboard.measures import Counting, Measure, by_label, raw_counts
from ontrack.reports.dashboard.scope import (
    DashboardScope,
    Table,
    in_period,
    participants_in_scope,
    share,
    with_shares,
)
from ontrack.reviews.models import ReviewOrigin, ReviewOutcome
from ontrack.reviews.queries import review_decision_counts, reviews_of_participants
from ontrack.schedule.models import COMPLIANCE_JUDGED, COMPLIANCE_MET, CheckinWindow, Outcome

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


def enrolments_table(user: User, scope: DashboardScope) -> Table:
    """Enrolments and closures in the period, per office."""
    people = participants_in_scope(user, scope)
    enrolled = dict(
        people.filter(in_period("enrolled_at", scope))
        .order_by()
        .values_list("office_id")
        .annotate(n=Count("pk"))
    )
    closed = dict(
        people.filter(in_period("closed_at", scope))
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
        .filter(in_period("closed_at", scope))
        .order_by()
        .values_list("closure_reason")
        .annotate(n=Count("pk"))
    )
    rows = [[label, counts.get(value, 0)] for value, label in ClosureReason.choices]
    return with_shares("closures", "Closures by reason", "Reason", rows)


def checkins_table(user: User, scope: DashboardScope, count: Counting = raw_counts) -> Table:
    """Check-in windows that opened in the period, by outcome as recorded at ``as_of``."""
    counts = by_label(count(user, scope, CHECKINS))
    order = [Outcome.ON_TIME, Outcome.LATE, Outcome.MISSED, Outcome.EXCUSED]
    order += [Outcome.TECHNICAL_FAILURE, Outcome.DUE]
    rows = [[str(Outcome(o).label), counts.get(o, 0)] for o in order]
    table = with_shares("checkins", "Check-in compliance", "Outcome", rows)
    table.columns[1] = "Windows"
    done = sum(counts.get(o, 0) for o in COMPLIANCE_MET)
    judged = sum(counts.get(o, 0) for o in COMPLIANCE_JUDGED)
    table.note = (
        f"Compliance (on time or late, of windows that were not excused, not a technical "
        f"failure and not still due): {share(done, judged)}. A technical failure means the "
        "person tried; it is never counted as missed."
    )
    return table


def hearings_table(user: User, scope: DashboardScope, count: Counting = raw_counts) -> Table:
    """Hearings scheduled in the period, by their outcome as recorded at ``as_of``: an
    outcome recorded later counts as still scheduled. Outcomes recorded before ontrack kept
    the time of recording (``outcome_recorded_at`` empty) are taken as known from the
    hearing's own time, the earliest they could have been."""
    counts = by_label(count(user, scope, HEARINGS))
    rows = [[label, counts.get(value, 0)] for value, label in HearingOutcome.choices]
    table = with_shares("hearings", "Hearing attendance", "Outcome", rows)
    table.columns[1] = "Hearings"
    attended = counts.get(HearingOutcome.ATTENDED, 0)
    table.note = (
        "Hearings scheduled in the period, by the outcome as recorded at the as-of date (one "
        "recorded later counts as scheduled). Attendance (attended of attended or failed to "
        f"appear): {share(attended, attended + counts.get(HearingOutcome.FAILED_TO_APPEAR, 0))}."
    )
    return table


REVIEW_COLUMNS = (ReviewOutcome.STEPPED_DOWN, ReviewOutcome.KEPT, ReviewOutcome.PENDING)


def reviews_table(user: User, scope: DashboardScope) -> Table:
    """Supervision reviews opened in the period, by why they opened (the plan's review date
    or the participant's own request) and what a supervisor had decided by ``as_of``."""
    reviews = reviews_of_participants(participants_in_scope(user, scope)).filter(
        in_period("opened_at", scope)
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
        .filter(in_period("closed_at", scope), closure_reason__in=list(ADVERSE_CLOSURE_REASONS))
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
