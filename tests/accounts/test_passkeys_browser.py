"""Passkeys in a real headless Chromium, with a virtual authenticator (Chrome DevTools'
WebAuthn domain) standing in for a phone or security key: django-otp-webauthn's scripts,
our relying party and origin, the ceremonies end to end.

Needs Debian's ``chromium`` package; skipped with that reason where it is absent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from pytest_django.live_server_helper import LiveServer

from ontrack.accounts.models import SecondFactorEvent, SecondFactorEventKind, User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _virtual_authenticator(page: Any) -> None:
    """A platform authenticator that says yes (user present and verified) to every
    ceremony, as a person touching their fingerprint reader would."""
    devtools = page.context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )


@pytest.mark.django_db(transaction=True)
def test_an_officer_adds_a_passkey_and_signs_in_with_it_after_the_password(
    live_server: LiveServer,
    officer: User,
    browser_page: Any,
    browser_sign_in: Callable[[Any, str, User], None],
) -> None:
    page = browser_page
    assert live_server.url.startswith("http://localhost:"), "passkeys need a host name"
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _virtual_authenticator(page)
    browser_sign_in(page, live_server.url, officer)

    page.goto(live_server.url + "/account/")
    page.click("#passkey-register-button")
    page.wait_for_selector("#second-factor dd >> text=added")  # the page reloads with it
    assert not errors, errors

    # Each step waits for its page: a navigation started before the last one finished
    # (the sign-out's POST, say) cancels it, which a loaded CI machine makes likely.
    with page.expect_navigation():
        page.click("header button[type=submit]")  # sign out
    page.goto(live_server.url + "/login/?next=/alerts/")
    page.fill("#id_username", officer.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    page.click("#passkey-verification-button")
    try:
        page.wait_for_url(live_server.url + "/alerts/", timeout=60_000)
    except PlaywrightTimeoutError as timeout:
        status = page.inner_text("#passkey-verification-status-message")
        raise AssertionError(f"still on {page.url}; passkey status: {status!r}") from timeout
    assert page.inner_text("h1").startswith("Alert"), page.inner_text("h1")
    assert not errors, errors
    added = SecondFactorEvent.objects.get(kind=SecondFactorEventKind.PASSKEY_ADDED)
    assert added.user == officer


@pytest.mark.django_db(transaction=True)
def test_a_first_sign_in_can_choose_a_passkey_and_then_makes_recovery_codes(
    live_server: LiveServer, officer: User, browser_page: Any
) -> None:
    page = browser_page
    _virtual_authenticator(page)
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", officer.username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.click("#passkey-register-button")
    page.wait_for_selector("h1:text('Recovery codes')")
    page.click("main button[type=submit]")  # "Make my recovery codes"
    page.wait_for_selector("#recovery-codes")
    assert len(page.query_selector_all("#recovery-codes li")) == 10
    page.click("text=I have kept them")
    page.wait_for_selector("h1:text('Caseload')")
