"""The bulk transfer pages: choose, preview (logged, nothing moved), confirm with the
previewed token and a reason, then the action's page with its undo."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from ontrack.accounts.models import Office, Role, User
from ontrack.audit.models import AccessAction, AccessLogEntry
from ontrack.participants.models import BulkAction, Participant

pytestmark = pytest.mark.django_db


def _token(body: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', body)
    assert found, "the preview carries the confirmation token"
    return found.group(1)


def _officer_ids(people: list[Participant]) -> set[int | None]:
    return {p.officer_id for p in Participant.objects.filter(pk__in=[p.pk for p in people])}


def test_whole_caseload_is_previewed_then_moved_only_on_confirmation_with_a_reason(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    people = [make_participant() for _ in range(3)]
    target = make_user(Role.OFFICER)
    client = client_for(make_user(Role.SUPERVISOR))
    preview = client.post(
        "/participants/transfer/", {"from_officer": officer.pk, "officer": target.pk}
    )
    body = preview.content.decode()
    assert preview.status_code == 200
    assert "3 participants will move to" in body
    assert all(p.family_name in body for p in people)
    assert _officer_ids(people) == {officer.pk}, "a preview moves no one"
    logged = AccessLogEntry.objects.get(action=AccessAction.LIST)
    assert (logged.what, logged.participant_ids) == (
        "caseload transfer preview",
        "," + ",".join(str(p.pk) for p in sorted(people, key=lambda p: p.pk)) + ",",
    )

    no_reason = client.post("/participants/transfer/confirm/", {"token": _token(body)})
    assert no_reason.status_code == 400
    assert "Say why these participants move." in no_reason.content.decode()
    assert _officer_ids(people) == {officer.pk}

    done = client.post(
        "/participants/transfer/confirm/", {"token": _token(body), "reason": "Olivia on leave"}
    )
    action = BulkAction.objects.get()
    assert done.status_code == 302
    assert done["Location"] == f"/participants/bulk/{action.pk}/"
    assert _officer_ids(people) == {target.pk}
    page = client.get(done["Location"]).content.decode()
    assert "Olivia on leave" in page
    assert "Undo this transfer" in page


def test_ticked_participants_are_the_only_ones_previewed(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    keep, move = make_participant(), make_participant()
    body = (
        client_for(make_user(Role.SUPERVISOR))
        .post("/participants/transfer/", {"participant": [move.pk], "officer": make_user().pk})
        .content.decode()
    )
    assert move.family_name in body
    assert keep.family_name not in body


def test_tampered_token_is_refused_with_400_and_moves_no_one(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    people = [make_participant() for _ in range(2)]
    client = client_for(make_user(Role.SUPERVISOR))
    body = client.post(
        "/participants/transfer/", {"participant": [people[0].pk], "officer": make_user().pk}
    ).content.decode()
    token = _token(body)
    tampered = token.replace(token[2], "A" if token[2] != "A" else "B", 1)
    response = client.post(
        "/participants/transfer/confirm/", {"token": tampered, "reason": "because"}
    )
    assert response.status_code == 400
    assert "altered or is not yours" in response.content.decode()
    assert _officer_ids(people) == {officer.pk}


def test_out_of_scope_ids_are_never_previewed_nor_moved(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    make_office: Callable[..., Office],
    client_for: Callable[[User], Client],
) -> None:
    denver = make_office("Denver")
    denver_officer = make_user(Role.OFFICER, office=denver)
    theirs, ours = make_participant(officer=denver_officer), make_participant()
    target = make_user()
    client = client_for(make_user(Role.SUPERVISOR))
    body = client.post(
        "/participants/transfer/", {"participant": [theirs.pk, ours.pk], "officer": target.pk}
    ).content.decode()
    assert theirs.family_name not in body
    client.post("/participants/transfer/confirm/", {"token": _token(body), "reason": "x"})
    assert Participant.objects.get(pk=theirs.pk).officer == denver_officer
    assert Participant.objects.get(pk=ours.pk).officer == target
    other_supervisor = client_for(make_user(Role.SUPERVISOR, office=denver))
    action_page = f"/participants/bulk/{BulkAction.objects.get().pk}/"
    assert other_supervisor.get(action_page).status_code == 404


def test_undo_from_the_action_page_moves_everyone_back_once(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    people = [make_participant() for _ in range(2)]
    client = client_for(make_user(Role.SUPERVISOR))
    body = client.post(
        "/participants/transfer/", {"from_officer": officer.pk, "officer": make_user().pk}
    ).content.decode()
    done = client.post("/participants/transfer/confirm/", {"token": _token(body), "reason": "r"})
    undone = client.post(done["Location"] + "undo/")
    assert undone.status_code == 302
    assert _officer_ids(people) == {officer.pk}
    assert "2 participants moved back" in client.get(undone["Location"]).content.decode()
    again = client.post(done["Location"] + "undo/")
    assert again.status_code == 400
    assert "already been undone" in again.content.decode()


def test_an_officer_may_not_open_the_bulk_transfer_pages(
    officer: User, client_for: Callable[[User], Client]
) -> None:
    client = client_for(officer)
    assert client.get("/participants/transfer/").status_code == 403
    assert client.post("/participants/transfer/confirm/", {"token": "x"}).status_code == 403


def test_undo_after_the_window_is_a_400_saying_so(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    officer: User,
    client_for: Callable[[User], Client],
    settings: Settings,
) -> None:
    settings.ONTRACK_BULK_UNDO_MINUTES = 0  # the window closes as soon as the transfer is done
    people = [make_participant() for _ in range(2)]
    target = make_user()
    client = client_for(make_user(Role.SUPERVISOR))
    body = client.post(
        "/participants/transfer/", {"from_officer": officer.pk, "officer": target.pk}
    ).content.decode()
    done = client.post("/participants/transfer/confirm/", {"token": _token(body), "reason": "r"})
    assert "Undo this transfer" not in client.get(done["Location"]).content.decode()
    late = client.post(done["Location"] + "undo/")
    assert late.status_code == 400
    assert "can no longer be undone" in late.content.decode()
    assert _officer_ids(people) == {target.pk}
