"""Alerts over JSON, with the console's rules: only alerts of participants the user may see
(404 otherwise), pending alerts (inside grace) never shown, every read written to the access
log, and every change made through the services (which record who did it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema

from ontrack.accounts.models import User
from ontrack.accounts.web import staff_user
from ontrack.alerts import services, triage
from ontrack.alerts.models import Alert, AlertKind, AlertStatus, AlertStep
from ontrack.alerts.queries import AlertFilter, alert_filter, alerts_visible_to
from ontrack.apipages import KeysetPagination, paginate
from ontrack.apitypes import BodySchema
from ontrack.audit.models import AccessAction
from ontrack.participants.gate import participant_read, participants_listed

router = Router(tags=["alerts"])

STATUS_CHOICES = ["active", *(s for s in AlertStatus.values if s != AlertStatus.PENDING)]


class AlertOut(Schema):
    id: int
    participant_id: int
    case_number: str
    kind: str
    source: str
    priority: int
    status: str
    occurred_at: dt.datetime
    last_occurred_at: dt.datetime
    raised_at: dt.datetime
    visible_at: dt.datetime
    acknowledged_at: dt.datetime | None
    closed_at: dt.datetime | None
    occurrences: int
    device_id: int | None
    zone_id: int | None
    details: dict[str, Any]
    disposition: str
    resolution_note: str
    resolved_by_id: int | None
    # An imported resolution: its resolver as the other system named them, and the import.
    resolved_by_name: str
    resolved_by_office: str
    resolution_imported_at: dt.datetime | None
    resolution_imported_by_id: int | None
    assignee_id: int | None  # who holds it in the queue

    @staticmethod
    def resolve_case_number(alert: Alert) -> str:
        return alert.participant.case_number


class StepOut(Schema):
    at: dt.datetime
    actor_id: int | None
    from_status: str
    to_status: str
    action: str
    note: str


class AlertDetailOut(AlertOut):
    steps: list[StepOut]

    @staticmethod
    def resolve_steps(alert: Alert) -> list[AlertStep]:
        return list(alert.steps.order_by("at", "id"))


class AlertQuery(Schema):
    status: str = Field("active", description="active (open and acknowledged), or one of: "
                        + ", ".join(STATUS_CHOICES[1:]))  # fmt: skip
    kind: str = Field("", description="One of: " + ", ".join(AlertKind.values))
    priority: int | None = Field(None, ge=1, le=4)
    office: int | None = None
    officer: int | None = None
    participant: int | None = None
    holder: str = Field("", description="mine (held by the caller) or unclaimed (by nobody)")


class ResolveIn(BodySchema):
    disposition: str
    note: str


class AssignIn(BodySchema):
    assignee_id: int


class NoteIn(BodySchema):
    note: str


class BulkAcknowledgeIn(BodySchema):
    alert_ids: list[int] = Field(..., description=f"At most {triage.BULK_MAX}, all of one kind.")
    reason: str = Field("", description="Why they are acknowledged together (not for a preview).")
    preview: bool = Field(
        False, description="Check the selection and show it, acknowledging nothing."
    )


class BulkAcknowledgeOut(Schema):
    kind: str
    participant_count: int
    acknowledged: bool
    alerts: list[AlertOut]


def _reader(request: HttpRequest) -> User:
    user = staff_user(request)
    if not user.reads_participants:
        raise PermissionDenied("Your role does not handle alerts.")
    return user


def _visible(user: User, alert_id: int) -> Alert:
    alert = alerts_visible_to(user).select_related("participant").filter(pk=alert_id).first()
    if alert is None:
        raise Http404("No such alert in your caseload.")
    return alert


def _log(request: HttpRequest, alert: Alert, what: str) -> None:
    """An alert is its participant's data: read through the gate, about them."""
    participant_read(request, alert.participant_id, what=what, action=AccessAction.API_READ)


def _alerts_shown(request: HttpRequest, alerts: list[Alert]) -> None:
    participants_listed(request, (a.participant_id for a in alerts), what="API alert list")


@router.get("/alerts", response=list[AlertOut])
@paginate(KeysetPagination, shown=_alerts_shown)
def alerts_list(request: HttpRequest, query: Query[AlertQuery]) -> QuerySet[Alert]:
    """The queue, highest priority and newest first; ``status=active`` (the default) is what
    still needs a person."""
    user = _reader(request)
    if query.status not in STATUS_CHOICES:
        raise ValidationError({"status": f"One of: {', '.join(STATUS_CHOICES)}."})
    if query.holder not in ("", "mine", "unclaimed"):
        raise ValidationError({"holder": "One of: mine, unclaimed."})
    if query.kind and query.kind not in AlertKind.values:
        raise ValidationError({"kind": f"One of: {', '.join(AlertKind.values)}."})
    f = AlertFilter(
        status=query.status,
        kind=query.kind,
        priority=query.priority,
        office=query.office,
        officer=query.officer,
        participant=query.participant,
        assignee=user.pk if query.holder == "mine" else None,
        unclaimed=query.holder == "unclaimed",
    )
    return alert_filter(alerts_visible_to(user), f).select_related("participant")


# Declared before "/alerts/{alert_id}", whose id would otherwise take "bulk-acknowledge".
@router.post("/alerts/bulk-acknowledge", response=BulkAcknowledgeOut)
def alerts_bulk_acknowledge(request: HttpRequest, payload: BulkAcknowledgeIn) -> dict[str, Any]:
    """Acknowledge open alerts of one kind together, each with a step carrying the one
    reason, as the console's bulk acknowledgement does: all or none (422 for mixed kinds, an
    alert no longer open, or no reason). ``preview`` checks the selection and answers what
    would be acknowledged, changing nothing. An alert the caller does not see is a 404."""
    user = _reader(request)
    try:
        if payload.preview:
            selection = triage.alerts_bulk_selection(user=user, alert_ids=payload.alert_ids)
        else:
            selection = triage.alerts_acknowledge_bulk(
                user=user, alert_ids=payload.alert_ids, reason=payload.reason
            )
    except PermissionDenied:
        raise Http404("No such alert in your caseload.") from None
    alerts = list(
        Alert.objects.filter(pk__in=[a.pk for a in selection.alerts])
        .select_related("participant")
        .order_by("-priority", "-occurred_at", "-id")
    )
    verb = "previewed" if payload.preview else "acknowledged"
    participants_listed(
        request, (a.participant_id for a in alerts), what=f"API alerts {verb} in bulk"
    )
    return {
        "kind": selection.kind,
        "participant_count": len(selection.participants),
        "acknowledged": not payload.preview,
        "alerts": alerts,
    }


@router.get("/alerts/{alert_id}", response=AlertDetailOut)
def alert_detail(request: HttpRequest, alert_id: int) -> Alert:
    user = _reader(request)
    alert = _visible(user, alert_id)
    _log(request, alert, f"API alert {alert.pk}")
    return alert


@router.post("/alerts/{alert_id}/acknowledge", response=AlertDetailOut)
def alert_acknowledge(request: HttpRequest, alert_id: int) -> Alert:
    """Someone is on it. Only an open alert can be acknowledged (422 otherwise)."""
    user = _reader(request)
    _visible(user, alert_id)
    services.alert_acknowledge(user=user, alert_id=alert_id)
    alert = _visible(user, alert_id)
    _log(request, alert, f"API alert {alert.pk} acknowledged")
    return alert


@router.post("/alerts/{alert_id}/resolve", response=AlertDetailOut)
def alert_resolve(request: HttpRequest, alert_id: int, payload: ResolveIn) -> Alert:
    """Close with a person's decision: a disposition and a note saying what was found (422
    without one)."""
    user = _reader(request)
    _visible(user, alert_id)
    services.alert_resolve(
        user=user, alert_id=alert_id, disposition=payload.disposition, note=payload.note
    )
    alert = _visible(user, alert_id)
    _log(request, alert, f"API alert {alert.pk} resolved")
    return alert


def _triaged(
    request: HttpRequest, alert_id: int, action: Callable[[User], object], what: str
) -> Alert:
    """Run a triage ``action`` as the caller on an alert they see, and answer with the alert
    as it now stands (its read logged as ``what``)."""
    user = _reader(request)
    _visible(user, alert_id)
    action(user)
    alert = _visible(user, alert_id)
    _log(request, alert, f"API alert {alert.pk} {what}")
    return alert


@router.post("/alerts/{alert_id}/claim", response=AlertDetailOut)
def alert_claim(request: HttpRequest, alert_id: int) -> Alert:
    """The caller holds the alert. One someone else holds is refused (422): assign it."""
    return _triaged(
        request,
        alert_id,
        lambda user: triage.alert_claim(user=user, alert_id=alert_id),
        "claimed",
    )


@router.post("/alerts/{alert_id}/assign", response=AlertDetailOut)
def alert_assign(request: HttpRequest, alert_id: int, payload: AssignIn) -> Alert:
    """Hand the alert to someone who sees its participant (422 for anyone else)."""
    return _triaged(
        request,
        alert_id,
        lambda user: triage.alert_assign(
            user=user, alert_id=alert_id, assignee_id=payload.assignee_id
        ),
        "assigned",
    )


@router.post("/alerts/{alert_id}/notes", response=AlertDetailOut)
def alert_note(request: HttpRequest, alert_id: int, payload: NoteIn) -> Alert:
    """A note in the alert's history while it is in the queue (422 when empty)."""
    return _triaged(
        request,
        alert_id,
        lambda user: triage.alert_note_add(user=user, alert_id=alert_id, note=payload.note),
        "note added",
    )
