"""Staff sign in with a password and a second factor (authenticator app, passkey or recovery
code), through the real forms here; the rest of the suite uses ``client_for``."""

from __future__ import annotations

import re
from base64 import b32decode
from binascii import hexlify
from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django.fixtures import Settings

from ontrack.accounts.models import (
    RecoveryCode,
    RecoveryCodeDevice,
    Role,
    SecondFactorEvent,
    SecondFactorEventKind,
    User,
)
from ontrack.accounts.services import api_token_create
from ontrack.participants.models import Participant
from tests.conftest import PASSWORD
from tests.staff_sign_in import authenticator_code, authenticator_for

pytestmark = pytest.mark.django_db


def password_only(user: User) -> Client:
    """A browser that has passed the password form and nothing more."""
    client = Client()
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, "the password was refused"
    return client


def enrol_through_the_page(client: Client) -> tuple[TOTPDevice, list[str]]:
    """Set up the authenticator app as a person does: read the key off the page, type the
    code the app then shows. Returns the device and the recovery codes shown."""
    page = client.get("/account/second-factor/setup/").content.decode()
    key = re.search(r'<code id="totp-key">([A-Z2-7 ]+)</code>', page)
    assert key, "the set-up page shows no key to type in"
    device = TOTPDevice.objects.get(key=hexlify(b32decode(key.group(1).replace(" ", ""))).decode())
    shown = client.post("/account/second-factor/setup/", {"code": authenticator_code(device)})
    assert shown.status_code == 200, "the right code did not confirm the app"
    return device, re.findall(r"<li><code>([0-9a-z-]{19})</code></li>", shown.content.decode())


@pytest.fixture
def enrolled(officer: User) -> TOTPDevice:
    return authenticator_for(officer)


def test_a_password_alone_reaches_only_the_second_factor_pages(
    officer: User, enrolled: TOTPDevice, make_user: Callable[..., User]
) -> None:
    client = password_only(officer)
    for path in ("/", "/participants/", "/account/", "/alerts/", "/admin/", "/audit/"):
        response = client.get(path)
        assert response.status_code == 302, f"{path} opened with a password alone"
        assert response["Location"].startswith("/account/second-factor/?next="), path
    assert client.get("/account/second-factor/").status_code == 200
    assert client.post("/participants/enrol/", {}).status_code == 302
    assert client.get("/api/offices").status_code == 401, "the API took the session unverified"
    assert client.get("/healthz").status_code == 200
    assert client.post("/logout/").status_code == 302


def test_the_page_asked_for_opens_after_the_code(officer: User, enrolled: TOTPDevice) -> None:
    client = Client()
    client.post(
        "/login/?next=/alerts/",
        {"username": officer.username, "password": PASSWORD, "next": "/alerts/"},
    )
    to_verify = client.get("/alerts/")
    assert to_verify["Location"] == "/account/second-factor/?next=%2Falerts%2F"
    done = client.post(
        "/account/second-factor/", {"code": authenticator_code(enrolled), "next": "/alerts/"}
    )
    assert done.status_code == 302
    assert done["Location"] == "/alerts/"
    assert client.get("/alerts/").status_code == 200
    assert client.get("/api/offices").status_code == 200, "a verified session uses the API"


def test_the_next_page_after_the_code_is_never_another_site(
    officer: User, enrolled: TOTPDevice
) -> None:
    client = password_only(officer)
    done = client.post(
        "/account/second-factor/",
        {"code": authenticator_code(enrolled), "next": "https://evil.example/"},
    )
    assert done["Location"] == "/"


def test_first_sign_in_sets_up_the_app_and_shows_recovery_codes_once(officer: User) -> None:
    client = password_only(officer)
    assert client.get("/")["Location"].startswith("/account/second-factor/?next=")
    assert client.get("/account/second-factor/")["Location"].startswith(
        "/account/second-factor/setup/"
    )
    page = client.get("/account/second-factor/setup/").content.decode()
    assert "<svg" in page, "the QR code is drawn on the page itself"
    device, codes = enrol_through_the_page(client)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert client.get("/").status_code == 302
    assert client.get("/participants/").status_code == 200
    stored = set(RecoveryCode.objects.values_list("digest", flat=True))
    assert not stored & {c.replace("-", "") for c in codes}, (
        "recovery codes are stored as digests only"
    )
    assert not stored & set(codes), "recovery codes are stored as digests only"
    again = client.get("/account/second-factor/setup/", follow=True).content.decode()
    assert 'id="totp-key"' not in again
    assert device.key not in again
    account = client.get("/account/").content.decode()
    assert "Authenticator app set up" in account
    assert not any(c in account for c in codes)


def test_the_key_stays_the_same_until_the_app_is_confirmed(officer: User) -> None:
    client = password_only(officer)
    first = client.get("/account/second-factor/setup/").content.decode()
    second = client.get("/account/second-factor/setup/").content.decode()
    key = re.compile(r'<code id="totp-key">([A-Z2-7 ]+)</code>')
    assert key.search(first)[1] == key.search(second)[1]  # type: ignore[index]


def test_a_wrong_code_is_refused_and_further_codes_wait(
    officer: User, enrolled: TOTPDevice, settings: Settings
) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    client = password_only(officer)
    wrong = client.post("/account/second-factor/", {"code": "000000"})
    if wrong.status_code != 400:  # 000000 was, by chance, the right code
        pytest.skip("the random key's code was 000000")
    assert "not right" in wrong.content.decode()
    right_too_soon = client.post("/account/second-factor/", {"code": authenticator_code(enrolled)})
    assert right_too_soon.status_code == 429
    assert "Too many wrong codes" in right_too_soon.content.decode()
    assert client.get("/participants/").status_code == 302, "still not signed in"


def test_an_authenticator_code_works_once(officer: User, enrolled: TOTPDevice) -> None:
    code = authenticator_code(enrolled)
    first = password_only(officer)
    assert first.post("/account/second-factor/", {"code": code}).status_code == 302
    second = password_only(officer)
    assert second.post("/account/second-factor/", {"code": code}).status_code == 400


def test_a_recovery_code_signs_in_once(officer: User) -> None:
    client = password_only(officer)
    _, codes = enrol_through_the_page(client)
    client.post("/logout/")

    lost_phone = password_only(officer)
    used = lost_phone.post("/account/second-factor/", {"code": codes[3].upper()})
    assert used.status_code == 302, "a recovery code did not sign in"
    assert "9 left" in lost_phone.get("/account/").content.decode()
    event = SecondFactorEvent.objects.get(kind=SecondFactorEventKind.RECOVERY_CODE_USED)
    assert event.user == officer
    assert event.detail == "9 left"

    again = password_only(officer)
    assert again.post("/account/second-factor/", {"code": codes[3]}).status_code == 400


def test_new_recovery_codes_replace_the_old_ones(
    officer: User, client_for: Callable[[User], Client]
) -> None:
    client = client_for(officer)
    old = re.findall(
        r"<li><code>([0-9a-z-]{19})</code></li>",
        client.post("/account/second-factor/recovery-codes/").content.decode(),
    )
    new = re.findall(
        r"<li><code>([0-9a-z-]{19})</code></li>",
        client.post("/account/second-factor/recovery-codes/").content.decode(),
    )
    assert len(new) == 10
    assert not set(old) & set(new)
    assert password_only(officer).post("/account/second-factor/", {"code": old[0]}).status_code == (
        400
    )
    assert RecoveryCodeDevice.objects.get(user=officer).codes_left == 10


def test_recovery_codes_are_never_shown_again(
    officer: User, client_for: Callable[[User], Client]
) -> None:
    client = client_for(officer)
    codes = re.findall(
        r"<li><code>([0-9a-z-]{19})</code></li>",
        client.post("/account/second-factor/recovery-codes/").content.decode(),
    )
    page = client.get("/account/second-factor/recovery-codes/").content.decode()
    assert "10</strong> unused" in page
    assert not any(code in page for code in codes)


def test_an_administrators_reset_is_recorded_and_the_next_sign_in_enrols_again(
    officer: User,
    enrolled: TOTPDevice,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    admin = make_user(Role.ADMINISTRATOR, office=None)
    officers_browser = client_for(officer)
    assert officers_browser.get("/participants/").status_code == 200
    colleague = client_for(admin).get(f"/account/staff/{officer.pk}/").content.decode()
    assert "Reset second factor" in colleague
    assert enrolled.key not in colleague

    done = client_for(admin).post(f"/account/staff/{officer.pk}/second-factor/reset/")
    assert done.status_code == 302

    event = SecondFactorEvent.objects.get(kind=SecondFactorEventKind.RESET)
    assert (event.user, event.actor, event.actor_username) == (officer, admin, admin.username)
    assert "authenticator app" in event.detail
    assert event.ip_address == "127.0.0.1"
    assert not TOTPDevice.objects.filter(user=officer).exists()
    signed_out = officers_browser.get("/participants/")
    assert signed_out.status_code == 302, "a session verified before the reset stayed open"
    assert signed_out["Location"].startswith("/login/"), (
        "a session verified before the reset stayed open"
    )
    client = password_only(officer)
    assert client.get("/account/second-factor/")["Location"].startswith(
        "/account/second-factor/setup/"
    )
    enrol_through_the_page(client)
    own_page = client.get("/account/").content.decode()
    assert f"Second factor reset by {admin.username}" in own_page
    auditor = client_for(make_user(Role.AUDITOR, office=None))
    record = auditor.get("/account/second-factor/changes/").content.decode()
    assert "Second factor reset" in record
    assert officer.username in record


def test_only_another_administrator_resets_a_second_factor(
    officer: User,
    enrolled: TOTPDevice,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    supervisor = make_user(Role.SUPERVISOR)
    admin = make_user(Role.ADMINISTRATOR, office=None)
    assert (
        client_for(supervisor).post(f"/account/staff/{officer.pk}/second-factor/reset/").status_code
        == 403
    )
    assert (
        client_for(admin).post(f"/account/staff/{admin.pk}/second-factor/reset/").status_code == 403
    )
    assert TOTPDevice.objects.filter(user=officer).exists()
    assert client_for(officer).get("/account/second-factor/changes/").status_code == 403


def test_the_command_line_resets_the_last_administrators_second_factor(
    make_user: Callable[..., User], capsys: pytest.CaptureFixture[str]
) -> None:
    admin = make_user(Role.ADMINISTRATOR, office=None)
    authenticator_for(admin)
    call_command("second_factor_reset", admin.username)
    assert not TOTPDevice.objects.filter(user=admin).exists()
    event = SecondFactorEvent.objects.get(kind=SecondFactorEventKind.RESET)
    assert event.actor is None
    assert event.actor_username == "command line"
    assert admin.username in capsys.readouterr().out


def test_the_api_with_a_bearer_token_needs_no_second_factor(
    officer: User, enrolled: TOTPDevice
) -> None:
    _, secret = api_token_create(user=officer, name="crm")
    response = Client().get("/api/offices", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200


def test_the_participant_portal_opens_beside_an_unfinished_staff_sign_in(
    officer: User, enrolled: TOTPDevice
) -> None:
    client = password_only(officer)
    assert client.get("/me/sign-in/").status_code == 200


def test_an_htmx_request_is_sent_to_the_second_factor_as_a_whole_page(
    officer: User, enrolled: TOTPDevice
) -> None:
    client = password_only(officer)
    response = client.get("/participants/", HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"].startswith("/account/second-factor/")


def test_a_passkey_cannot_be_added_to_an_enrolled_account_with_a_password_alone(
    officer: User, enrolled: TOTPDevice
) -> None:
    client = password_only(officer)
    response = client.post("/account/passkeys/registration/begin/")
    assert response.status_code == 403


def test_a_deployment_with_mfa_in_front_turns_it_off(
    officer: User, enrolled: TOTPDevice, settings: Settings
) -> None:
    settings.ONTRACK_STAFF_MFA = False
    client = password_only(officer)
    assert client.get("/participants/").status_code == 200
    assert client.get("/api/offices").status_code == 200


def test_the_pending_page_shows_no_way_into_the_console(
    officer: User, enrolled: TOTPDevice
) -> None:
    page = password_only(officer).get("/account/second-factor/").content.decode()
    assert "Caseload" not in page
    assert "Sign out" in page


def test_the_portals_staff_actions_need_the_second_factor(
    officer: User, enrolled: TOTPDevice, make_participant: Callable[..., Participant]
) -> None:
    participant = make_participant()
    client = password_only(officer)
    response = client.post(f"/me/staff/{participant.pk}/reset-pin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/second-factor/")


def test_no_administrator_reads_an_authenticator_key_in_the_admin(
    make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    admin = make_user(Role.ADMINISTRATOR, office=None)
    client = client_for(admin)
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404
    assert client.get("/admin/accounts/secondfactorevent/").status_code == 200


def test_setting_up_the_app_refuses_a_wrong_code_and_then_waits(
    officer: User, settings: Settings
) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    client = password_only(officer)
    client.get("/account/second-factor/setup/")
    device = TOTPDevice.objects.get(user=officer, confirmed=False)
    right = authenticator_code(device)
    wrong = client.post("/account/second-factor/setup/", {"code": "1" if right != "1" else "2"})
    assert wrong.status_code == 400
    assert "not right" in wrong.content.decode()
    too_soon = client.post("/account/second-factor/setup/", {"code": right})
    assert too_soon.status_code == 400
    assert "Too many wrong codes" in too_soon.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
