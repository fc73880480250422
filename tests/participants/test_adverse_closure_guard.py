"""No adverse closure (absconded, departed / removed, detained) without a named decider and
a note: the console and the service ask for both, record who decided, and the database
refuses a row that lacks either, whoever writes it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from ontrack.accounts.models import User
from ontrack.participants.models import Participant
from ontrack.participants.services import participant_close

pytestmark = pytest.mark.django_db


def test_closing_a_case_records_who_decided_it(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    person = make_participant()
    participant_close(person, actor=officer, reason="detained", note="Detained by ICE on 3 Dec")
    person.refresh_from_db()
    assert person.closed_by == officer
    assert person.closure_note == "Detained by ICE on 3 Dec"


ADVERSE = ["absconded", "departed", "detained"]


@pytest.mark.parametrize("reason", ADVERSE)
def test_the_database_refuses_an_adverse_closure_without_a_named_decider(
    make_participant: Callable[..., Participant], reason: str
) -> None:
    person = make_participant()
    with pytest.raises(IntegrityError), transaction.atomic():
        Participant.objects.filter(pk=person.pk).update(
            status="closed", closure_reason=reason, closure_note="No contact for 30 days"
        )


@pytest.mark.parametrize("reason", ADVERSE)
def test_the_database_refuses_an_adverse_closure_without_a_note(
    make_participant: Callable[..., Participant], officer: User, reason: str
) -> None:
    person = make_participant()
    with pytest.raises(IntegrityError), transaction.atomic():
        Participant.objects.filter(pk=person.pk).update(
            status="closed", closure_reason=reason, closed_by=officer
        )


@pytest.mark.parametrize("reason", ["case_concluded", "transferred", "deceased", "other"])
def test_an_ordinary_closure_needs_neither(
    make_participant: Callable[..., Participant], reason: str
) -> None:
    person = make_participant()
    Participant.objects.filter(pk=person.pk).update(status="closed", closure_reason=reason)
    assert Participant.objects.get(pk=person.pk).closure_reason == reason


def test_closing_as_departed_from_the_console_needs_a_note_and_names_the_officer(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    person = make_participant()
    client = client_for(officer)
    refused = client.post(f"/participants/{person.pk}/close/", {"reason": "departed"})
    assert refused.status_code == 400, "a departure closed without a note must be refused"
    assert "Explain the decision" in refused.content.decode()
    person.refresh_from_db()
    assert person.status == "enrolled"
    done = client.post(
        f"/participants/{person.pk}/close/",
        {"reason": "departed", "note": "Removed to Guatemala on 2 Dec, confirmed by ERO"},
    )
    assert done.status_code == 302
    person.refresh_from_db()
    assert (person.status, person.closed_by, person.closure_note) == (
        "closed",
        officer,
        "Removed to Guatemala on 2 Dec, confirmed by ERO",
    )


def test_the_api_refuses_a_departure_without_a_note(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    from ontrack.accounts.services import api_token_create

    person = make_participant()
    _, secret = api_token_create(user=officer, name="test")
    response = Client().post(
        f"/api/participants/{person.pk}/close",
        data={"reason": "departed"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code in (400, 422), response.content
    person.refresh_from_db()
    assert person.status == "enrolled"
