"""The triage desk's actions on alerts in the queue: claiming and assigning them, notes
before a decision, and acknowledging many alerts of one condition at once.

Each is one typed function that checks who may act, changes the alert in a transaction and
writes the :class:`AlertStep` that the alert page and the person's timeline show, so a caller
cannot forget the history. None of them changes what happened to the person: a claim, an
assignment or a note keeps the alert's status; an acknowledgement says only that someone is
looking at it. Decisions stay with ``services.alert_resolve``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from ontrack.accounts.models import User
from ontrack.alerts.models import Alert, AlertKind, AlertStatus, AlertStep, StepAction
from ontrack.alerts.queries import QUEUE_STATUSES, alerts_visible_to
from ontrack.participants.models import Participant
from ontrack.participants.queries import staff_seeing

logger = logging.getLogger(__name__)

# Longest note or reason kept on a step: a few paragraphs, not a document.
NOTE_MAX_LENGTH = 2000
# The most alerts one bulk acknowledgement takes: a screenful a person can check.
BULK_MAX = 100


def _handler(user: User) -> None:
    if not user.reads_participants:
        raise PermissionDenied("Your role does not handle alerts.")


def _in_queue(user: User, alert_id: int) -> Alert:
    """The alert, locked for the change, if the user sees it (PermissionDenied otherwise,
    which the views answer as 404) and it is still in the queue."""
    _handler(user)
    # Locks the alert alone, not the person its scope joins.
    alert = alerts_visible_to(user).select_for_update(of=("self",)).filter(pk=alert_id).first()
    if alert is None:
        raise PermissionDenied("No such alert in your caseload.")
    if alert.status not in QUEUE_STATUSES:
        raise ValidationError(f"This alert is {alert.get_status_display().lower()}.")
    return alert


def _note_clean(text: str, *, field: str, missing: str) -> str:
    text = text.strip()
    if not text:
        raise ValidationError({field: missing})
    if len(text) > NOTE_MAX_LENGTH:
        raise ValidationError({field: f"At most {NOTE_MAX_LENGTH} characters."})
    return text


def _kept(
    alert: Alert, action: StepAction, at: dt.datetime, actor: User, note: str = ""
) -> AlertStep:
    return AlertStep.objects.create(
        alert=alert,
        at=at,
        actor=actor,
        from_status=alert.status,
        to_status=alert.status,
        action=action,
        note=note,
    )


def alert_assignees(alert: Alert) -> list[User]:
    """Whom ``alert`` may be handed to: the staff who see its participant (and so handle
    its alerts), the auditor and inactive accounts never."""
    return [u for u in staff_seeing(alert.participant) if u.reads_participants]


def alert_claim(*, user: User, alert_id: int, now: dt.datetime | None = None) -> Alert:
    """The user takes an unheld alert in the queue. One already held is refused rather than
    taken over: handing it on is an assignment, which names who decided it."""
    now = now or timezone.now()
    with transaction.atomic():
        alert = _in_queue(user, alert_id)
        if alert.assignee_id == user.pk:
            raise ValidationError("You already hold this alert.")
        if alert.assignee_id is not None:
            raise ValidationError(
                f"{alert.assignee} already holds this alert; ask them, or assign it."
            )
        alert.assignee = user
        alert.save(update_fields=["assignee"])
        _kept(alert, StepAction.CLAIM, now, user)
    logger.info("alert claimed id=%s by=%s", alert.pk, user.pk)
    return alert


def alert_assign(
    *, user: User, alert_id: int, assignee_id: int, now: dt.datetime | None = None
) -> Alert:
    """Hand an alert in the queue to someone who sees its participant (``alert_assignees``),
    whether or not someone holds it now; the step names both who assigned and who holds."""
    now = now or timezone.now()
    with transaction.atomic():
        alert = _in_queue(user, alert_id)
        assignee = next((u for u in alert_assignees(alert) if u.pk == assignee_id), None)
        if assignee is None:
            raise ValidationError({"assignee": "Choose someone who handles this alert."})
        if alert.assignee_id == assignee.pk:
            raise ValidationError(f"{assignee} already holds this alert.")
        alert.assignee = assignee
        alert.save(update_fields=["assignee"])
        _kept(alert, StepAction.ASSIGN, now, user, note=f"to {assignee}")
    logger.info("alert assigned id=%s to=%s by=%s", alert.pk, assignee.pk, user.pk)
    return alert


def alert_note_add(
    *, user: User, alert_id: int, note: str, now: dt.datetime | None = None
) -> AlertStep:
    """Add what was found or done (a call made, a unit checked) to an alert still in the
    queue; kept in its history, before and beside the note of its resolution."""
    now = now or timezone.now()
    text = _note_clean(note, field="note", missing="Write the note.")
    with transaction.atomic():
        alert = _in_queue(user, alert_id)
        return _kept(alert, StepAction.NOTE, now, user, note=text)


@dataclass(frozen=True, slots=True)
class BulkSelection:
    """Alerts chosen for one bulk acknowledgement, checked: all open, all of one kind."""

    kind: str
    alerts: tuple[Alert, ...]

    @property
    def kind_label(self) -> str:
        return AlertKind(self.kind).label

    @property
    def participants(self) -> list[Participant]:
        people = {a.participant_id: a.participant for a in self.alerts}
        return sorted(people.values(), key=lambda p: (p.family_name, p.given_name, p.pk))


def alerts_bulk_selection(*, user: User, alert_ids: Sequence[int]) -> BulkSelection:
    """Check a selection for a bulk acknowledgement: every alert seen by the user (or
    PermissionDenied, answered as 404), open, and all of one kind, so that one reason fits
    them all. Mixed kinds are refused: a tamper and a low battery are not one condition."""
    _handler(user)
    ids = sorted(set(alert_ids))
    if not ids:
        raise ValidationError("Select the alerts to acknowledge.")
    if len(ids) > BULK_MAX:
        raise ValidationError(f"At most {BULK_MAX} alerts at once.")
    alerts = tuple(
        alerts_visible_to(user)
        .filter(pk__in=ids)
        .select_related("participant")
        .order_by("-priority", "-occurred_at", "-id")
    )
    if len(alerts) != len(ids):
        raise PermissionDenied("No such alert in your caseload.")
    kinds = {a.kind for a in alerts}
    if len(kinds) > 1:
        labels = ", ".join(sorted(AlertKind(k).label for k in kinds))
        raise ValidationError(
            f"Acknowledge alerts of one type at a time; these are of {len(kinds)} types ({labels})."
        )
    not_open = [a for a in alerts if a.status != AlertStatus.OPEN]
    if not_open:
        raise ValidationError(
            f"Only open alerts can be acknowledged; {len(not_open)} of these "
            f"{'is' if len(not_open) == 1 else 'are'} not open any more."
        )
    return BulkSelection(kind=kinds.pop(), alerts=alerts)


def alerts_acknowledge_bulk(
    *, user: User, alert_ids: Sequence[int], reason: str, now: dt.datetime | None = None
) -> BulkSelection:
    """Acknowledge every alert of a checked selection (``alerts_bulk_selection``) at once,
    each with its own step carrying the one reason. All or none: if another person acted on
    one of them meanwhile, nothing is acknowledged and the selection is refused."""
    now = now or timezone.now()
    text = _note_clean(reason, field="reason", missing="Say why these are acknowledged together.")
    with transaction.atomic():
        selection = alerts_bulk_selection(user=user, alert_ids=alert_ids)
        ids = [a.pk for a in selection.alerts]
        changed = Alert.objects.filter(pk__in=ids, status=AlertStatus.OPEN).update(
            status=AlertStatus.ACKNOWLEDGED, acknowledged_at=now
        )
        if changed != len(ids):
            raise ValidationError("Some of these alerts changed meanwhile; select them again.")
        AlertStep.objects.bulk_create(
            AlertStep(
                alert=a,
                at=now,
                actor=user,
                from_status=AlertStatus.OPEN,
                to_status=AlertStatus.ACKNOWLEDGED,
                note=text,
            )
            for a in selection.alerts
        )
    logger.info(
        "alerts acknowledged in bulk kind=%s count=%s by=%s", selection.kind, len(ids), user.pk
    )
    return selection
