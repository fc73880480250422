"""End to end on a phone-sized headless Chromium: sign in from a texted link, check in with a
photo and a location fix, lose the connection during the upload, and see the check-in land
with its original attempt time once the phone is back online."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext
from PIL import Image
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import User
from ontrack.audit.models import AccessLogEntry
from ontrack.participants.models import Participant
from ontrack.portal.services import sign_in_link_send
from ontrack.schedule.models import Appointment, Checkin, CheckinWindow, RescheduleRequest
from tests.support import csp_violations_watched

if TYPE_CHECKING:
    from playwright.sync_api import Geolocation

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium package is not installed"),
]

KEPT_ON_PHONE = """() => new Promise(resolve => {
  const open = indexedDB.open('ontrack-portal', 1);
  open.onsuccess = () => {
    const count = open.result.transaction('outbox').objectStore('outbox').count();
    count.onsuccess = () => resolve(count.result);
  };
})"""
NEWARK: Geolocation = {"latitude": 40.7357, "longitude": -74.1724, "accuracy": 12}
# A phone whose browser cannot open the camera itself: the page falls back to the file
# picker (which on a phone opens the camera app or the gallery).
NO_CAMERA_API = "delete MediaDevices.prototype.getUserMedia;"


def _selfie() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 160, 120)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def camera_page(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A phone-sized page in a real headless Chromium with Chromium's fake camera (a test
    pattern, and the permission prompt answered yes) and a location fix set on the
    context, as a phone with both would give."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
            ],
        )
        context = browser.new_context(
            viewport={"width": 360, "height": 740},
            geolocation=NEWARK,
            permissions=["geolocation", "camera"],
        )
        page = context.new_page()
        refused = csp_violations_watched(page)
        yield page
        # Playwright runs the test in a context of its own, where Django opened connections
        # of its own; close them, or PostgreSQL refuses to drop the test database.
        connections.close_all()
        browser.close()
        assert refused == [], "the page broke its Content-Security-Policy"


@pytest.mark.parametrize(
    ("language", "saved_text", "receipt_text", "cut"),
    [
        ("en", "saved on this phone", "Your reference number is", "upload"),
        ("es", "guardado en este teléfono", "Su número de referencia es", "answer"),
        ("ht", "anrejistre nan telefòn sa a", "Nimewo referans ou se", "upload"),
    ],
)
@pytest.mark.django_db(transaction=True)
def test_checkin_cut_off_during_upload_lands_when_back_online(
    live_server: LiveServer,
    camera_page: Any,
    make_participant: Callable[..., Participant],
    officer: User,
    sent_sign_in: Callable[[Participant], tuple[str, str]],
    open_checkin_window: Callable[[Participant], CheckinWindow],
    checkins_of: Callable[[Participant], list[Checkin]],
    language: str,
    saved_text: str,
    receipt_text: str,
    cut: str,
) -> None:
    """Signed in from the texted link, the participant takes the photo with the camera and
    sends it; the connection drops while it uploads (``upload``: the request never reaches
    the server; ``answer``: it does, and the answer is lost). The attempt waits on the
    phone and lands once, with the time of the press, when the phone is online again."""
    participant = make_participant(preferred_language=language)
    open_checkin_window(participant)
    sign_in_link_send(
        actor=officer, participant=participant, link_base=f"{live_server.url}/me/link/"
    )
    _, link = sent_sign_in(participant)

    page = camera_page
    page.goto(link)
    page.click("#continue")
    page.fill("#id_pin", "4812")
    page.fill("#id_pin_again", "4812")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/me/")
    assert page.get_attribute("html", "lang") == language
    page.click("a[href='/me/check-in/']")
    page.click("#open-camera")
    page.wait_for_function(
        "() => document.getElementById('camera-view').videoWidth > 0", timeout=15_000
    )
    page.click("#take-photo")
    page.wait_for_selector("#photo-taken:not([hidden])")

    uploads: list[str] = []

    def cut_the_first_upload(route: Any) -> None:
        uploads.append(route.request.method)
        if len(uploads) > 1:
            route.continue_()
        elif cut == "answer":
            route.fetch()  # the server has it; the phone never hears back
            route.abort("internetdisconnected")
        else:
            route.abort("internetdisconnected")

    page.route("**/me/check-in/submit/", cut_the_first_upload)
    before_click = timezone.now()
    page.click("#send")
    page.wait_for_selector(f"#outbox-status:has-text('{saved_text}')")
    assert page.evaluate(KEPT_ON_PHONE) == 1
    assert len(checkins_of(participant)) == (1 if cut == "answer" else 0)
    back_online = timezone.now()

    page.context.set_offline(True)
    page.context.set_offline(False)  # the phone's "online" event sends what it kept
    page.wait_for_selector("#receipt-reference", timeout=45_000)
    assert receipt_text in page.inner_text("#outbox-status")
    reference = page.inner_text("#receipt-reference")

    (checkin,) = checkins_of(participant)
    assert checkin.reference == reference
    assert len(uploads) == 2
    # The time that counts is when the participant pressed the button, not when it landed.
    assert before_click - dt.timedelta(seconds=5) <= checkin.attempted_at <= back_online
    assert checkin.outcome == "on_time"
    assert (checkin.lat, checkin.lon) == (NEWARK["latitude"], NEWARK["longitude"])
    with checkin.photo.open("rb") as stored:
        assert Image.open(stored).format == "JPEG"
    assert page.evaluate(KEPT_ON_PHONE) == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


@pytest.mark.django_db(transaction=True)
def test_location_refused_is_a_technical_failure_not_a_miss(
    live_server: LiveServer,
    browser_page: Any,
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    open_checkin_window: Callable[[Participant], CheckinWindow],
    checkins_of: Callable[[Participant], list[Checkin]],
) -> None:
    participant = make_participant(preferred_language="ht")
    open_checkin_window(participant)
    client = portal_client(participant)
    page = browser_page
    page.add_init_script(NO_CAMERA_API)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/me/check-in/")
    assert "yon sèl fwa" in page.inner_text("main")
    page.set_input_files(
        "#photo", files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": _selfie()}]
    )
    page.click("#send")  # no geolocation permission was granted: the browser refuses
    page.wait_for_selector("#receipt-reference", timeout=45_000)
    assert "pa konte" in page.inner_text("#outbox-status")
    (checkin,) = checkins_of(participant)
    assert checkin.outcome == "technical_failure"


@pytest.mark.parametrize("language", ["es", "ht"])
@pytest.mark.django_db(transaction=True)
def test_new_user_asks_for_another_time_and_downloads_their_data(
    live_server: LiveServer,
    browser_page: Any,
    make_participant: Callable[..., Participant],
    officer: User,
    sent_sign_in: Callable[[Participant], tuple[str, str]],
    book_appointment: Callable[[Participant], Appointment],
    reschedule_requests_of: Callable[[Participant], list[RescheduleRequest]],
    language: str,
) -> None:
    participant = make_participant(preferred_language=language)
    appointment = book_appointment(participant)
    sign_in_link_send(
        actor=officer, participant=participant, link_base=f"{live_server.url}/me/link/"
    )
    _, link = sent_sign_in(participant)
    with translation.override(language):
        sent_text = gettext("Your request for another time was sent.")
        purpose = gettext("Routine check-in")
    assert sent_text != "Your request for another time was sent.", "not translated"

    page = browser_page
    page.goto(link)
    page.click("#continue")
    page.fill("#id_pin", "4812")
    page.fill("#id_pin_again", "4812")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/me/")
    assert purpose in page.inner_text("main")
    page.click(f"a[href='/me/appointments/{appointment.pk}/reschedule/']")
    page.fill("textarea[name=reason]", "Mwen travay jou sa a.")
    page.click("main button[type=submit]")
    page.wait_for_selector(f"text={sent_text}")
    (request,) = reschedule_requests_of(participant)
    assert (request.appointment_id, request.reason) == (appointment.pk, "Mwen travay jou sa a.")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.goto(f"{live_server.url}/me/my-data/")
    with page.expect_download() as download:
        page.click("a[href='/me/my-data/download/']")
    with zipfile.ZipFile(Path(download.value.path())) as archive:
        about_me = next(n for n in archive.namelist() if n.startswith("00 "))
        assert participant.case_number in archive.read(about_me).decode("utf-8")
    assert AccessLogEntry.objects.filter(
        participant_id=participant.pk, what__contains="my data download"
    ).exists()


def _signed_in_page(
    page: Any, live_server: LiveServer, client: Client, *, camera_api: bool = False
) -> None:
    """Signed in, camera and location allowed; without ``camera_api`` the browser cannot
    open the camera itself, so the page offers the file picker."""
    if not camera_api:
        page.add_init_script(NO_CAMERA_API)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.context.grant_permissions(["geolocation", "camera"], origin=live_server.url)
    page.context.set_geolocation(NEWARK)


@pytest.mark.django_db(transaction=True)
def test_a_refused_upload_is_reported_as_a_technical_failure_and_told_plainly(
    live_server: LiveServer,
    browser_page: Any,
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    open_checkin_window: Callable[[Participant], CheckinWindow],
    checkins_of: Callable[[Participant], list[Checkin]],
    settings: Settings,
) -> None:
    settings.ONTRACK_SCHEDULE_PHOTO_MAX_BYTES = 100
    participant = make_participant(preferred_language="es")
    open_checkin_window(participant)
    page = browser_page
    _signed_in_page(page, live_server, portal_client(participant))
    page.goto(f"{live_server.url}/me/check-in/")
    page.set_input_files(
        "#photo", files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": _selfie()}]
    )
    page.click("#send")
    page.wait_for_selector("#receipt-reference", timeout=45_000)
    status = page.inner_text("#outbox-status")
    with translation.override("es"):
        assert gettext("Your photo could not be sent.") in status
        assert gettext("The photo is too large.") in status
    assert "La foto es demasiado grande." in status, status
    (checkin,) = checkins_of(participant)
    assert (checkin.outcome, checkin.failure_reason) == ("technical_failure", "upload")
    assert checkin.failure_detail.startswith("HTTP 422"), checkin.failure_detail
    assert page.evaluate(KEPT_ON_PHONE) == 0


@pytest.mark.django_db(transaction=True)
def test_the_photo_is_made_smaller_on_the_phone_before_it_is_sent(
    live_server: LiveServer,
    browser_page: Any,
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    open_checkin_window: Callable[[Participant], CheckinWindow],
    checkins_of: Callable[[Participant], list[Checkin]],
) -> None:
    participant = make_participant(preferred_language="en")
    open_checkin_window(participant)
    buffer = io.BytesIO()
    Image.effect_noise((3000, 2000), 60).convert("RGB").save(buffer, "JPEG", quality=95)
    page = browser_page
    _signed_in_page(page, live_server, portal_client(participant))
    page.goto(f"{live_server.url}/me/check-in/")
    page.set_input_files(
        "#photo", files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()}]
    )
    page.click("#send")
    page.wait_for_selector("#receipt-reference", timeout=45_000)
    (checkin,) = checkins_of(participant)
    assert checkin.outcome == "on_time"
    with checkin.photo.open("rb") as stored:
        data = stored.read()
    assert Image.open(io.BytesIO(data)).size == (1280, 853)
    assert len(data) < len(buffer.getvalue())
    assert checkin.photo_content_type == "image/jpeg"


@pytest.mark.django_db(transaction=True)
def test_uploads_failing_past_the_windows_end_are_reported_as_a_technical_failure(
    live_server: LiveServer,
    browser_page: Any,
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    checkins_of: Callable[[Participant], list[Checkin]],
) -> None:
    """The server answers 503 to every upload; after five tries past the window's end the
    phone reports an upload failure (the officer gets a task) and still keeps the photo."""
    from ontrack.schedule import services as schedule_services
    from ontrack.schedule.models import Task

    participant = make_participant(preferred_language="fr")
    now = timezone.now()
    window = schedule_services.window_adhoc(
        participant,
        actor=SYSTEM,
        opens_at=now - dt.timedelta(hours=1),
        closes_at=now + dt.timedelta(seconds=20),
        now=now,
    )
    page = browser_page
    _signed_in_page(page, live_server, portal_client(participant))
    page.route(
        "**/me/check-in/submit/", lambda route: route.fulfill(status=503, body="unavailable")
    )
    page.goto(f"{live_server.url}/me/check-in/")
    page.set_input_files(
        "#photo", files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": _selfie()}]
    )
    page.click("#send")
    page.wait_for_function("() => !document.getElementById('outbox-status').hidden")
    wait = (window.closes_at - timezone.now()).total_seconds() + 1
    if wait > 0:
        page.wait_for_timeout(wait * 1000)
    assert checkins_of(participant) == []
    for _ in range(5):
        page.evaluate("() => window.ontrackPortalFlush()")
    page.wait_for_selector("#receipt-reference", timeout=30_000)
    assert "Votre pointage n’a pas pu être envoyé pendant longtemps." in page.inner_text(
        "#outbox-status"
    )
    (failure,) = checkins_of(participant)
    assert (failure.outcome, failure.failure_reason) == ("technical_failure", "upload")
    assert failure.window_id == window.pk
    assert "HTTP 503" in failure.failure_detail
    assert Task.objects.filter(participant=participant, kind="technical_failure").exists()
    assert page.evaluate(KEPT_ON_PHONE) == 1, "the check-in itself stays on the phone"


@pytest.mark.django_db(transaction=True)
def test_the_camera_is_offered_where_the_browser_can_and_the_file_picker_only_without_it(
    live_server: LiveServer,
    browser_page: Any,
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    open_checkin_window: Callable[[Participant], CheckinWindow],
) -> None:
    participant = make_participant(preferred_language="en")
    open_checkin_window(participant)
    client = portal_client(participant)
    page = browser_page
    _signed_in_page(page, live_server, client, camera_api=True)
    page.goto(f"{live_server.url}/me/check-in/")
    assert page.is_visible("#open-camera")
    assert not page.is_visible("#photo"), "the file picker shows beside the camera"
    assert not page.is_visible("label[for=photo]")

    fallback = page.context.new_page()
    fallback.add_init_script(NO_CAMERA_API)
    fallback.goto(f"{live_server.url}/me/check-in/")
    assert fallback.is_visible("#photo")
    assert not fallback.is_visible("#open-camera")
