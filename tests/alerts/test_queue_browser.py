"""The triage queue in a real headless Chromium: a new alert appears without a reload; an
officer claims an alert and acknowledges several of one type together; a critical alert a
refresh brings is announced to a browser that opted in."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from ontrack.accounts.models import User
from ontrack.alerts.models import Alert, AlertStatus
from ontrack.participants.models import Participant
from tests.support import raised_alert

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser_page: Any) -> Iterator[Any]:
    """The browser page; afterwards, the database connection that the test body opened
    while Playwright was running (a context of its own) is closed, or the PostgreSQL test
    database could not be dropped at the end of the run."""
    yield browser_page
    connections.close_all()


# The browser's Notification API, recorded: the page's script is what is under test, and a
# headless browser shows no desktop notices to look at.
RECORD_NOTICES = """
window.__notices = [];
window.Notification = class {
  constructor(title, options) { window.__notices.push([title, options.body]); }
  static get permission() { return "granted"; }
  static requestPermission() { return Promise.resolve("granted"); }
};
"""


def _refresh_queue(page: Any) -> None:
    """What the queue's poll does every 10 s, done now."""
    page.evaluate("new Promise(done => htmx.ajax('GET', location.href, '#queue').then(done))")


@pytest.mark.django_db(transaction=True)
def test_an_alert_raised_while_the_queue_is_open_appears_without_a_reload(
    live_server: LiveServer,
    make_participant: Callable[..., Participant],
    officer: User,
    page: Any,
    browser_sign_in: Callable[[Any, str, User], None],
) -> None:
    participant = make_participant()
    first = raised_alert(
        participant_id=participant.pk, kind="sos", source="device:1", occurred_at=timezone.now()
    )
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    browser_sign_in(page, live_server.url, officer)
    page.goto(live_server.url + "/alerts/")
    page.wait_for_selector(f"#queue a[href='/alerts/{first.pk}/']")
    page.evaluate("window.__marker = 'same page'")

    second = raised_alert(
        participant_id=participant.pk,
        kind="strap_tamper",
        source="device:1",
        occurred_at=timezone.now(),
    )
    # The table polls every 10 s; allow two rounds.
    page.wait_for_selector(f"#queue a[href='/alerts/{second.pk}/']", timeout=25_000)
    assert page.evaluate("window.__marker") == "same page", "the page was not reloaded"
    assert errors == []


@pytest.mark.django_db(transaction=True)
def test_an_officer_claims_an_alert_and_acknowledges_two_of_one_type_together(
    live_server: LiveServer,
    make_participant: Callable[..., Participant],
    officer: User,
    page: Any,
    browser_sign_in: Callable[[Any, str, User], None],
) -> None:
    alerts = [
        raised_alert(
            participant_id=make_participant().pk,
            kind="strap_tamper",
            source="device:1",
            occurred_at=timezone.now(),
        )
        for _ in range(2)
    ]
    first, second = (f"#queue tr[data-alert='{a.pk}']" for a in alerts)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    browser_sign_in(page, live_server.url, officer)
    page.goto(live_server.url + "/alerts/")

    page.click(f"{first} button:has-text('Claim')")
    page.wait_for_selector(f"{first} td.holder:has-text('(you)')")
    assert page.inner_text(f"{first} time.alert-age").endswith("min"), "time since raised"

    page.check(f"{first} input[name=alert]")
    page.check(f"{second} input[name=alert]")
    # The table refreshes itself; the ticks survive it.
    page.evaluate("new Promise(done => htmx.ajax('GET', location.href, '#queue').then(done))")
    assert page.is_checked(f"{first} input[name=alert]")
    assert page.is_checked(f"{second} input[name=alert]")
    page.click("#bulk-ack button[type=submit]")
    page.wait_for_selector("#bulk-summary")
    assert "2 open Strap tamper alerts for 2 participants" in page.inner_text("#bulk-summary")
    page.fill("textarea[name=reason]", "Straps of this batch report falsely")
    page.click("button:has-text('Acknowledge all 2')")
    page.wait_for_selector(".messages :text('2 Strap tamper alerts acknowledged.')")
    assert set(
        Alert.objects.filter(pk__in=[a.pk for a in alerts]).values_list("status", flat=True)
    ) == {AlertStatus.ACKNOWLEDGED}
    assert errors == []


@pytest.mark.django_db(transaction=True)
def test_a_new_critical_alert_is_announced_only_once_the_browser_opted_in(
    live_server: LiveServer,
    make_participant: Callable[..., Participant],
    officer: User,
    page: Any,
    browser_sign_in: Callable[[Any, str, User], None],
) -> None:
    participant = make_participant()

    def critical(kind: str) -> Alert:
        return raised_alert(
            participant_id=participant.pk, kind=kind, source="device:1", occurred_at=timezone.now()
        )

    critical("sos")
    page.add_init_script(RECORD_NOTICES)
    browser_sign_in(page, live_server.url, officer)
    page.goto(live_server.url + "/alerts/")
    quiet = critical("device_removal")
    _refresh_queue(page)
    page.wait_for_selector(f"#queue tr[data-alert='{quiet.pk}']")
    assert page.evaluate("window.__notices") == [], "not opted in: no notice"

    page.check("#critical-notify")
    page.reload()
    assert page.is_checked("#critical-notify"), "the opt-in is kept by this browser"
    loud = critical("strap_tamper")
    _refresh_queue(page)
    page.wait_for_selector(f"#queue tr[data-alert='{loud.pk}']")
    assert page.evaluate("window.__notices") == [["Critical alert", "Strap tamper"]]
