"""Sign-in by code or link, then PIN: single use, throttled, and separate from staff login."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from ontrack.accounts.models import Office, User
from ontrack.participants.models import Participant
from ontrack.portal.models import PortalAccess, SignInChallenge
from ontrack.portal.services import pin_set

pytestmark = pytest.mark.django_db

PHONE = "(973) 555-0142"


def test_code_then_new_pin_signs_the_participant_in(
    production_hashers: None,
    make_participant: Callable[..., Participant],
    sent_sign_in: Callable[[Participant], tuple[str, str]],
) -> None:
    participant = make_participant()
    client = Client()
    response = client.post("/me/sign-in/", {"phone": PHONE})
    assert response.status_code == 302
    assert response["Location"] == "/me/code/"
    code, _link = sent_sign_in(participant)
    response = client.post("/me/code/", {"code": code})
    assert response["Location"] == "/me/pin/"
    response = client.post("/me/pin/", {"pin": "4812", "pin_again": "4812"})
    assert response["Location"] == "/me/"
    assert client.get("/me/").status_code == 200
    access = PortalAccess.objects.get(participant=participant)
    assert access.pin_hash.startswith("argon2")


def test_codes_and_tokens_are_stored_only_hashed(
    make_participant: Callable[..., Participant],
    sent_sign_in: Callable[[Participant], tuple[str, str]],
) -> None:
    participant = make_participant()
    Client().post("/me/sign-in/", {"phone": PHONE})
    code, link = sent_sign_in(participant)
    challenge = SignInChallenge.objects.get(participant=participant)
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert code not in challenge.code_hash
    assert token not in challenge.token_hash


def test_unknown_number_gets_the_same_answer_and_no_message(
    db: None, sent_sign_in: Callable[[Participant], tuple[str, str]]
) -> None:
    response = Client().post("/me/sign-in/", {"phone": "(202) 555-0199"})
    assert response.status_code == 302
    assert response["Location"] == "/me/code/"
    assert not SignInChallenge.objects.exists()


def test_a_code_works_only_once(
    make_participant: Callable[..., Participant],
    sent_sign_in: Callable[[Participant], tuple[str, str]],
) -> None:
    participant = make_participant()
    pin_set(participant, "1234")
    first = Client()
    first.post("/me/sign-in/", {"phone": PHONE})
    code, _ = sent_sign_in(participant)
    assert first.post("/me/code/", {"code": code})["Location"] == "/me/pin/"
    second = Client()
    second.post("/me/sign-in/", {"phone": PHONE})  # a new text; the old code stays dead
    response = second.post("/me/code/", {"code": code})
    assert response.status_code == 200
    assert "does not work" in response.content.decode()


def test_link_signs_in_once_and_preview_does_not_use_it(
    make_participant: Callable[..., Participant],
    sent_sign_in: Callable[[Participant], tuple[str, str]],
) -> None:
    participant = make_participant()
    pin_set(participant, "1234")
    Client().post("/me/sign-in/", {"phone": PHONE})
    _, link = sent_sign_in(participant)
    path = link[link.index("/me/") :]
    client = Client()
    assert client.get(path).status_code == 200  # a chat app's preview
    assert client.post(path)["Location"] == "/me/pin/"
    assert client.post("/me/pin/", {"pin": "1234"})["Location"] == "/me/"
    assert Client().post(path).status_code == 400


def test_wrong_codes_kill_the_code_and_are_throttled(
    make_participant: Callable[..., Participant],
    sent_sign_in: Callable[[Participant], tuple[str, str]],
    settings: Settings,
) -> None:
    participant = make_participant()
    client = Client()
    client.post("/me/sign-in/", {"phone": PHONE})
    code, _ = sent_sign_in(participant)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(settings.ONTRACK_PORTAL_CODE_MAX_TRIES):
        assert client.post("/me/code/", {"code": wrong}).status_code == 200
    # The right code no longer works: the challenge died after too many wrong ones.
    assert client.post("/me/code/", {"code": code}).status_code == 200
    settings.ONTRACK_PORTAL_TRY_LIMIT = 3
    response = client.post("/me/code/", {"code": code})
    assert "Too many tries" in response.content.decode()


def test_sending_codes_is_throttled_per_number(
    make_participant: Callable[..., Participant],
    settings: Settings,
    sent_sign_in: Callable[[Participant], tuple[str, str]],
) -> None:
    participant = make_participant()
    settings.ONTRACK_PORTAL_SEND_LIMIT = 2
    client = Client()
    for _ in range(2):
        client.post("/me/sign-in/", {"phone": PHONE})
    response = client.post("/me/sign-in/", {"phone": PHONE})
    assert "Too many tries" in response.content.decode()
    assert SignInChallenge.objects.filter(participant=participant).count() == 2


def test_sign_in_requests_are_throttled_per_address(db: None, settings: Settings) -> None:
    settings.ONTRACK_PORTAL_IP_LIMIT = 3
    client = Client()
    for n in range(3):
        client.post("/me/sign-in/", {"phone": f"(202) 555-01{n:02d}"})
    response = client.post("/me/sign-in/", {"phone": "(202) 555-0190"})
    assert "Too many tries" in response.content.decode()


def test_wrong_pins_lock_the_pin(
    make_participant: Callable[..., Participant],
    portal_client_pending: Callable[[Participant], Client],
    settings: Settings,
) -> None:
    participant = make_participant(preferred_language="en")
    pin_set(participant, "1234")
    client = portal_client_pending(participant)
    for _ in range(settings.ONTRACK_PORTAL_PIN_MAX_FAILURES - 1):
        assert "not right" in client.post("/me/pin/", {"pin": "9999"}).content.decode()
    response = client.post("/me/pin/", {"pin": "9999"})
    assert "Too many wrong PINs" in response.content.decode()
    again = portal_client_pending(participant)
    # Even the right PIN is refused while locked.
    assert again.post("/me/pin/", {"pin": "1234"}).status_code == 200
    assert PortalAccess.objects.get(participant=participant).locked_until is not None


def test_pins_must_match_and_be_digits(
    make_participant: Callable[..., Participant],
    portal_client_pending: Callable[[Participant], Client],
) -> None:
    participant = make_participant()
    client = portal_client_pending(participant)
    assert client.post("/me/pin/", {"pin": "12ab", "pin_again": "12ab"}).status_code == 200
    assert client.post("/me/pin/", {"pin": "1234", "pin_again": "1235"}).status_code == 200
    assert not PortalAccess.objects.get(participant=participant).pin_hash


def test_portal_session_is_separate_from_staff_login(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
    portal_client: Callable[..., Client],
) -> None:
    participant = make_participant()
    staff = client_for(officer)
    assert staff.get("/me/")["Location"] == "/me/sign-in/"  # a staff login is not a participant
    client = portal_client(participant)
    assert client.get("/participants/").status_code == 302  # and the reverse
    client.post("/me/sign-out/")
    assert client.get("/me/")["Location"] == "/me/sign-in/"


def test_officer_sends_a_link_and_resets_the_pin(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
    sent_sign_in: Callable[[Participant], tuple[str, str]],
) -> None:
    participant = make_participant()
    pin_set(participant, "1234")
    staff = client_for(officer)
    page = staff.get(f"/participants/{participant.pk}/").content.decode()
    assert "Send a sign-in link" in page
    assert "Reset PIN" in page
    assert staff.post(f"/me/staff/{participant.pk}/send-link/").status_code == 302
    _, link = sent_sign_in(participant)
    assert "/me/link/" in link
    staff.post(f"/me/staff/{participant.pk}/reset-pin/")
    assert not PortalAccess.objects.get(participant=participant).pin_hash


def test_officer_of_another_office_cannot_send_links(
    make_participant: Callable[..., Participant],
    make_office: Callable[..., Office],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    stranger = make_user(office=make_office("Trenton"))
    response = client_for(stranger).post(f"/me/staff/{participant.pk}/send-link/")
    assert response.status_code in (403, 404)
    assert not SignInChallenge.objects.filter(participant=participant).exists()
