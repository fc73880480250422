"""Reads of alerts shared by the triage queue, the alert page, the export and the API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count, Max, Q, QuerySet

from ontrack.accounts.models import User
from ontrack.alerts.models import (
    OPEN_STATUSES,
    Alert,
    AlertKind,
    AlertStatus,
    AlertStep,
    Priority,
)
from ontrack.participants.caseload_signals import CaseloadSignals
from ontrack.participants.queries import participant_visible_q, participants_visible_to

QUEUE_STATUSES = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)

# How far back the alert page looks for alerts of the same kind for the same participant.
HISTORY_DAYS = 90


@dataclass(frozen=True)
class AlertFilter:
    status: str = "active"
    kind: str = ""
    priority: int | None = None
    office: int | None = None
    officer: int | None = None
    participant: int | None = None
    assignee: int | None = None  # held by this person ("mine")
    unclaimed: bool = False  # held by nobody


def alerts_visible_to(user: User) -> QuerySet[Alert]:
    """Alerts of the participants this user may see; pending ones (inside grace) are not
    shown to anyone: they are not yet something to act on. The scope is a join on the
    person (``participant_visible_q``; none at all for a scope of everyone), not ``IN
    (SELECT id FROM participants ...)``: PostgreSQL hashed every participant for that, in
    each of the queue's four queries (an operator's queue, 169 ms at 100,000 people)."""
    return Alert.objects.filter(participant_visible_q(user, "participant")).exclude(
        status=AlertStatus.PENDING
    )


def alert_officers_for(user: User) -> QuerySet[User]:
    """The officers the queue's officer filter offers: those with a caseload among the
    participants this user may see (an officer sees only themselves, a supervisor their
    office's), so the list names nobody the user could not already find."""
    return User.objects.filter(
        pk__in=participants_visible_to(user).exclude(officer=None).values("officer_id")
    ).order_by("last_name", "first_name", "pk")


def alert_filter(alerts: QuerySet[Alert], f: AlertFilter) -> QuerySet[Alert]:
    """Newest-highest-priority first within the chosen filters."""
    if f.status == "active":
        alerts = alerts.filter(status__in=QUEUE_STATUSES)
    elif f.status in AlertStatus.values:
        alerts = alerts.filter(status=f.status)
    if f.kind:
        alerts = alerts.filter(kind=f.kind)
    if f.priority:
        alerts = alerts.filter(priority=f.priority)
    if f.office:
        alerts = alerts.filter(participant__office_id=f.office)
    if f.officer:
        alerts = alerts.filter(participant__officer_id=f.officer)
    if f.participant:
        alerts = alerts.filter(participant_id=f.participant)
    if f.assignee:
        alerts = alerts.filter(assignee_id=f.assignee)
    if f.unclaimed:
        alerts = alerts.filter(assignee=None)
    return alerts.order_by("-priority", "-occurred_at", "-id")


# The queue counts the alerts closed over this last stretch, as a shift reads them: counts
# since the program began grow with its history (a second a poll at 100,000 participants).
CLOSED_COUNTED = dt.timedelta(hours=24)
CLOSED_COUNTED_STATUSES = (AlertStatus.RESOLVED, AlertStatus.AUTO_RESOLVED)


def alert_counts(alerts: QuerySet[Alert], *, now: dt.datetime) -> dict[str, int]:
    """How many of ``alerts`` stand in the queue, and how many were resolved or cleared by
    themselves in the ``CLOSED_COUNTED`` before ``now``, by status. Two queries, each read
    through its own index (status; status and closing time), never the alerts' history."""
    queued = alerts.filter(status__in=QUEUE_STATUSES)
    closed = alerts.filter(
        status__in=CLOSED_COUNTED_STATUSES, closed_at__gt=now - CLOSED_COUNTED, closed_at__lte=now
    )
    counts: dict[str, int] = {}
    for rows in (queued, closed):
        for status, n in rows.order_by().values_list("status").annotate(n=Count("id")):
            counts[status] = n
    return counts


def alert_history(alert: Alert, *, days: int = HISTORY_DAYS) -> QuerySet[Alert]:
    """Other alerts of the same kind for the same participant, from ``days`` before this one
    until now, newest first: whether this is a pattern, and how the earlier ones were
    decided. Pending ones are left out (nobody has seen them yet)."""
    since = alert.occurred_at - dt.timedelta(days=days)
    return (
        Alert.objects.filter(
            participant_id=alert.participant_id, kind=alert.kind, occurred_at__gte=since
        )
        .exclude(pk=alert.pk)
        .exclude(status=AlertStatus.PENDING)
        .select_related("resolved_by")
        .order_by("-occurred_at", "-id")
    )


def alert_disposition_counts(alerts: QuerySet[Alert]) -> dict[str, int]:
    """How many of ``alerts`` were closed with each disposition (by people only)."""
    rows = alerts.exclude(disposition="").order_by().values("disposition").annotate(n=Count("id"))
    return {row["disposition"]: row["n"] for row in rows}


@dataclass(frozen=True, slots=True)
class ResponseTimes:
    """How long staff took. The clock starts when the alert reached the queue (after its
    grace period), not when the condition began: nobody could act on it before. Only a
    person's resolution counts as a response; an alert that cleared by itself has none."""

    queued_at: dt.datetime | None
    to_acknowledge: dt.timedelta | None
    to_resolve: dt.timedelta | None


def alert_response_times(alert: Alert) -> ResponseTimes:
    queued_at = (
        AlertStep.objects.filter(alert=alert, to_status=AlertStatus.OPEN)
        .order_by("at", "id")
        .values_list("at", flat=True)
        .first()
    )
    if queued_at is None:
        return ResponseTimes(None, None, None)
    acknowledged = alert.acknowledged_at - queued_at if alert.acknowledged_at else None
    resolved = (
        alert.closed_at - queued_at
        if alert.closed_at and alert.status == AlertStatus.RESOLVED
        else None
    )
    return ResponseTimes(queued_at, acknowledged, resolved)


def queued_alerts_by_participant(condition: Q) -> dict[int, tuple[int, int]]:
    """Participant id -> (how many alerts stand in the queue for them, the highest priority
    among those), for the alerts matching ``condition`` (e.g. a scope on their participant).
    Open or acknowledged only: pending ones are still in grace, nobody is asked to act yet.
    One grouped query through the status index: it costs what the queue holds, however long
    the list it is for (a correlated subquery per row of the live map cost 850 ms for an
    operator's 7,500 wearers at 100,000 participants)."""
    rows = (
        Alert.objects.filter(condition, status__in=QUEUE_STATUSES)
        .order_by()
        .values("participant_id")
        .annotate(n=Count("id"), top=Max("priority"))
        .values_list("participant_id", "n", "top")
    )
    return {pk: (n, top) for pk, n, top in rows}


STRAP_KINDS = (AlertKind.STRAP_TAMPER, AlertKind.DEVICE_REMOVAL)


def participant_open_strap_alerts(participant_id: int) -> QuerySet[Alert]:
    """Open tamper and removal alerts: what the system currently believes about the strap."""
    return Alert.objects.filter(
        participant_id=participant_id, kind__in=STRAP_KINDS, status__in=OPEN_STATUSES
    ).order_by("occurred_at", "id")


def caseload_alert_signals(
    participant_ids: Sequence[int], now: dt.datetime
) -> dict[int, CaseloadSignals]:
    """The caseload list's alert column (``participants.caseload_signals``): how many alerts
    stand in the queue for each person and the highest priority among them, in one query."""
    queued = queued_alerts_by_participant(Q(participant_id__in=participant_ids))
    return {
        pk: CaseloadSignals(
            open_alerts=n, top_priority=top, top_priority_label=str(Priority(top).label)
        )
        for pk, (n, top) in queued.items()
    }
