"""The triage desk's actions (``alerts.triage``): claim, assign, notes, bulk acknowledgement."""

from collections.abc import Callable

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from ontrack.accounts.models import Office, Role, User
from ontrack.alerts.models import Alert, AlertStatus, StepAction
from ontrack.alerts.services import alert_acknowledge
from ontrack.alerts.triage import (
    alert_assign,
    alert_assignees,
    alert_claim,
    alert_note_add,
    alerts_acknowledge_bulk,
    alerts_bulk_selection,
)
from ontrack.participants.models import Participant
from tests.support import raised_alert

pytestmark = pytest.mark.django_db


def _open(participant: Participant, kind: str = "strap_tamper", source: str = "device:1") -> Alert:
    return raised_alert(
        participant_id=participant.pk, kind=kind, source=source, occurred_at=timezone.now()
    )


def test_claiming_makes_the_user_hold_the_alert_and_records_a_step_that_keeps_its_status(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    alert = _open(make_participant())
    alert_claim(user=officer, alert_id=alert.pk)
    alert.refresh_from_db()
    assert alert.assignee == officer
    assert alert.status == AlertStatus.OPEN
    step = alert.steps.latest("id")
    assert (step.action, step.actor, step.from_status, step.to_status) == (
        StepAction.CLAIM, officer, AlertStatus.OPEN, AlertStatus.OPEN,
    )  # fmt: skip


def test_an_alert_someone_holds_cannot_be_claimed_from_them(
    make_participant: Callable[..., Participant],
    officer: User,
    make_user: Callable[..., User],
) -> None:
    alert = _open(make_participant())
    operator = make_user(Role.OPERATOR)
    alert_claim(user=operator, alert_id=alert.pk)
    with pytest.raises(ValidationError, match="already holds"):
        alert_claim(user=officer, alert_id=alert.pk)
    alert.refresh_from_db()
    assert alert.assignee == operator


def test_a_closed_alert_cannot_be_claimed(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    alert = _open(make_participant())
    Alert.objects.filter(pk=alert.pk).update(status=AlertStatus.RESOLVED)
    with pytest.raises(ValidationError, match="resolved"):
        alert_claim(user=officer, alert_id=alert.pk)


def test_an_alert_outside_the_users_caseload_cannot_be_claimed(
    make_participant: Callable[..., Participant], make_user: Callable[..., User]
) -> None:
    alert = _open(make_participant())
    with pytest.raises(PermissionDenied):
        alert_claim(user=make_user(Role.OFFICER), alert_id=alert.pk)


def test_assignees_are_the_staff_who_see_the_participant_and_never_the_auditor(
    make_participant: Callable[..., Participant],
    officer: User,
    make_user: Callable[..., User],
    make_office: Callable[..., Office],
) -> None:
    alert = _open(make_participant())
    supervisor = make_user(Role.SUPERVISOR)
    operator = make_user(Role.OPERATOR, office=None)
    make_user(Role.OFFICER)  # another caseload
    make_user(Role.SUPERVISOR, office=make_office())  # another office
    make_user(Role.AUDITOR, office=None)
    assert set(alert_assignees(alert)) == {officer, supervisor, operator}


def test_assigning_hands_the_alert_to_someone_in_scope_and_names_them_in_the_step(
    make_participant: Callable[..., Participant],
    officer: User,
    make_user: Callable[..., User],
) -> None:
    alert = _open(make_participant())
    operator = make_user(Role.OPERATOR, office=None)
    alert_claim(user=operator, alert_id=alert.pk)
    alert_assign(user=operator, alert_id=alert.pk, assignee_id=officer.pk)
    alert.refresh_from_db()
    assert alert.assignee == officer
    step = alert.steps.latest("id")
    assert (step.action, step.actor, step.note) == (StepAction.ASSIGN, operator, f"to {officer}")


def test_an_alert_cannot_be_assigned_to_someone_who_does_not_see_the_participant(
    make_participant: Callable[..., Participant],
    officer: User,
    make_user: Callable[..., User],
) -> None:
    alert = _open(make_participant())
    stranger = make_user(Role.OFFICER)
    with pytest.raises(ValidationError, match="Choose someone"):
        alert_assign(user=officer, alert_id=alert.pk, assignee_id=stranger.pk)
    alert.refresh_from_db()
    assert alert.assignee is None


def test_a_note_is_kept_in_the_alerts_history_without_changing_its_status(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    alert = _open(make_participant())
    step = alert_note_add(user=officer, alert_id=alert.pk, note="  Called her; no answer. ")
    assert (step.action, step.note, step.to_status) == (
        StepAction.NOTE, "Called her; no answer.", AlertStatus.OPEN,
    )  # fmt: skip
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


def test_an_empty_note_is_refused(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    alert = _open(make_participant())
    with pytest.raises(ValidationError, match="Write the note"):
        alert_note_add(user=officer, alert_id=alert.pk, note="   ")


def test_bulk_acknowledgement_acknowledges_every_alert_with_the_reason_in_each_history(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    alerts = [_open(make_participant()) for _ in range(3)]
    selection = alerts_acknowledge_bulk(
        user=officer, alert_ids=[a.pk for a in alerts], reason="Tower outage in Newark"
    )
    assert len(selection.alerts) == 3
    for alert in alerts:
        alert.refresh_from_db()
        assert alert.status == AlertStatus.ACKNOWLEDGED
        assert alert.acknowledged_at is not None
        step = alert.steps.latest("id")
        assert (step.to_status, step.actor, step.note) == (
            AlertStatus.ACKNOWLEDGED, officer, "Tower outage in Newark",
        )  # fmt: skip


def test_bulk_acknowledgement_refuses_alerts_of_mixed_kinds_and_acknowledges_none(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    p = make_participant()
    tamper = _open(p)
    sos = _open(p, kind="sos")
    with pytest.raises(ValidationError, match="one type at a time"):
        alerts_acknowledge_bulk(user=officer, alert_ids=[tamper.pk, sos.pk], reason="outage")
    assert set(Alert.objects.values_list("status", flat=True)) == {AlertStatus.OPEN}


def test_bulk_selection_refuses_an_alert_that_is_no_longer_open(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    first, second = _open(make_participant()), _open(make_participant())
    alert_acknowledge(user=officer, alert_id=second.pk)
    with pytest.raises(ValidationError, match="1 of these is not open"):
        alerts_bulk_selection(user=officer, alert_ids=[first.pk, second.pk])


def test_bulk_selection_of_an_alert_outside_the_caseload_is_refused_as_unknown(
    make_participant: Callable[..., Participant],
    officer: User,
    make_user: Callable[..., User],
) -> None:
    mine = _open(make_participant())
    theirs = _open(make_participant(officer=make_user(Role.OFFICER)))
    with pytest.raises(PermissionDenied):
        alerts_bulk_selection(user=officer, alert_ids=[mine.pk, theirs.pk])


def test_bulk_acknowledgement_needs_a_reason(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    alert = _open(make_participant())
    with pytest.raises(ValidationError, match="Say why"):
        alerts_acknowledge_bulk(user=officer, alert_ids=[alert.pk], reason=" ")
