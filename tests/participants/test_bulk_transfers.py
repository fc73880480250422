"""Bulk caseload transfers: one recorded action with a reason, a preview token that pins
exactly who moves, and an undo within the window that leaves anyone changed since."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from ontrack.accounts.models import Office, Role, User
from ontrack.participants import bulk_transfers, services
from ontrack.participants.models import BulkAction, BulkActionKind, EventKind, Participant

pytestmark = pytest.mark.django_db


def _officers(people: list[Participant]) -> list[int | None]:
    return [Participant.objects.get(pk=p.pk).officer_id for p in people]


def test_bulk_transfer_is_one_action_with_each_persons_officer_before_and_after(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    officer: User,
) -> None:
    supervisor, target = make_user(Role.SUPERVISOR), make_user(Role.OFFICER)
    people = [make_participant() for _ in range(3)]
    action = bulk_transfers.participants_bulk_transfer(
        actor=supervisor,
        participant_ids=[p.pk for p in people],
        officer=target,
        reason="Olivia is on leave",
    )
    assert (action.kind, action.actor, action.reason) == (
        BulkActionKind.TRANSFER,
        supervisor,
        "Olivia is on leave",
    )
    assert sorted(
        (i.participant_id, i.officer_before_id, i.officer_after_id) for i in action.items.all()
    ) == [(p.pk, officer.pk, target.pk) for p in people]
    event = people[0].events.get(kind=EventKind.TRANSFERRED)
    assert "Olivia is on leave" in event.summary
    assert event.data["bulk_action"] == action.pk


def test_bulk_transfer_needs_a_reason_and_moves_no_one_without_it(
    make_participant: Callable[..., Participant], make_user: Callable[..., User], officer: User
) -> None:
    people = [make_participant() for _ in range(2)]
    with pytest.raises(ValidationError, match="Say why"):
        bulk_transfers.participants_bulk_transfer(
            actor=make_user(Role.SUPERVISOR),
            participant_ids=[p.pk for p in people],
            officer=make_user(Role.OFFICER),
            reason="  ",
        )
    assert _officers(people) == [officer.pk, officer.pk]


def test_bulk_transfer_moves_everyone_or_no_one(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    make_office: Callable[..., Office],
    officer: User,
) -> None:
    people = [make_participant() for _ in range(3)]
    elsewhere = make_user(Role.OFFICER, office=make_office("Denver"))
    with pytest.raises(PermissionDenied):
        bulk_transfers.participants_bulk_transfer(
            actor=make_user(Role.SUPERVISOR),
            participant_ids=[p.pk for p in people],
            officer=elsewhere,
            reason="reorganisation",
        )
    assert _officers(people) == [officer.pk] * 3


def test_bulk_transfer_never_moves_anyone_outside_the_actors_scope(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    make_office: Callable[..., Office],
) -> None:
    denver = make_office("Denver")
    theirs = make_participant(officer=make_user(Role.OFFICER, office=denver))
    ours = make_participant()
    action = bulk_transfers.participants_bulk_transfer(
        actor=make_user(Role.SUPERVISOR),
        participant_ids=[theirs.pk, ours.pk],
        officer=make_user(Role.OFFICER),
        reason="rebalancing",
    )
    assert [i.participant_id for i in action.items.all()] == [ours.pk]
    assert Participant.objects.get(pk=theirs.pk).office == denver


def test_preview_token_names_exactly_the_previewed_people_and_refuses_another_user(
    make_participant: Callable[..., Participant], make_user: Callable[..., User]
) -> None:
    supervisor, target = make_user(Role.SUPERVISOR), make_user(Role.OFFICER)
    people = [make_participant() for _ in range(2)]
    preview = bulk_transfers.bulk_transfer_preview(
        actor=supervisor, participant_ids=[p.pk for p in people], officer=target
    )
    again = bulk_transfers.bulk_transfer_previewed(actor=supervisor, token=preview.token)
    assert ([p.pk for p in again.participants], again.officer) == (
        [p.pk for p in preview.participants],
        target,
    )
    with pytest.raises(ValidationError, match="altered or is not yours"):
        bulk_transfers.bulk_transfer_previewed(
            actor=make_user(Role.SUPERVISOR), token=preview.token
        )
    with pytest.raises(ValidationError, match="altered or is not yours"):
        bulk_transfers.bulk_transfer_previewed(actor=supervisor, token=preview.token + "x")


def _transferred(
    make_participant: Callable[..., Participant], make_user: Callable[..., User], n: int
) -> tuple[User, User, list[Participant], BulkAction]:
    supervisor, target = make_user(Role.SUPERVISOR), make_user(Role.OFFICER)
    people = [make_participant() for _ in range(n)]
    action = bulk_transfers.participants_bulk_transfer(
        actor=supervisor, participant_ids=[p.pk for p in people], officer=target, reason="leave"
    )
    return supervisor, target, people, action


def test_undo_moves_everyone_back_as_an_action_of_its_own(
    make_participant: Callable[..., Participant], make_user: Callable[..., User], officer: User
) -> None:
    supervisor, _target, people, action = _transferred(make_participant, make_user, 2)
    undo = bulk_transfers.bulk_transfer_undo(actor=supervisor, action=action)
    assert (undo.kind, undo.undoes) == (BulkActionKind.TRANSFER_UNDO, action)
    assert _officers(people) == [officer.pk, officer.pk]
    assert not undo.items.exclude(skipped="").exists()
    assert not bulk_transfers.bulk_action_undoable(action)
    with pytest.raises(ValidationError, match="already been undone"):
        bulk_transfers.bulk_transfer_undo(actor=supervisor, action=action)


def test_undo_skips_anyone_changed_since_the_transfer(
    make_participant: Callable[..., Participant], make_user: Callable[..., User], officer: User
) -> None:
    supervisor, _target, people, action = _transferred(make_participant, make_user, 2)
    third = make_user(Role.OFFICER)
    services.participant_transfer(people[1], actor=supervisor, officer=third)
    undo = bulk_transfers.bulk_transfer_undo(actor=supervisor, action=action)
    assert _officers(people) == [officer.pk, third.pk]
    skipped = undo.items.get(participant=people[1])
    assert skipped.skipped == "changed since the transfer"


def test_undo_after_the_window_is_refused_and_moves_no_one(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
) -> None:
    supervisor, target, people, action = _transferred(make_participant, make_user, 2)
    later = action.created_at + dt.timedelta(minutes=16)
    assert not bulk_transfers.bulk_action_undoable(action, now=later)
    with pytest.raises(ValidationError, match="can no longer be undone"):
        bulk_transfers.bulk_transfer_undo(actor=supervisor, action=action, now=later)
    assert _officers(people) == [target.pk, target.pk]
