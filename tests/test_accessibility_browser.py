"""Every main page of the console, as each staff role, and the participant portal's pages, in
a real headless Chromium at a laptop's size (1366×768) and a phone's (390×844), checked by
axe-core (vendored in ``tests/vendor/axe-core``): no violation axe rates serious or critical,
and no page wider than the screen.

The data is the demo's (``ontrack.seed``, one office), so every page has what a user would
see on it: alerts, tracks, reviews, check-in photos, messages. Staff are signed in by their
session cookie (the sign-in forms have tests of their own). The pages' strict
Content-Security-Policy refuses the injected axe script, so this test's contexts bypass it;
``browser_page`` tests keep watching the policy.

With ``ONTRACK_TEST_SCREENSHOTS`` naming a folder, each page's full-length screenshot is
saved there, to be looked at by a person.

Needs Debian's ``chromium`` package; skipped with that reason where it is absent.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from ontrack.accounts.models import Office, User
from ontrack.alerts.models import AlertKind
from ontrack.participants.models import Participant, Phone
from ontrack.portal.services import pin_set
from ontrack.reviews.models import SupervisionReview
from ontrack.seed import seed
from ontrack.tracking.models import DeviceAssignment
from tests.conftest import PORTAL_PIN
from tests.staff_sign_in import verify_session
from tests.support import raised_alert

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
VIEWPORTS = {"1366x768": (1366, 768), "390x844": (390, 844)}
STAFF = {
    "officer": "officer1",
    "supervisor": "supervisor",
    "operator": "operator",
    "administrator": "admin",
}
BLOCKING = {"serious", "critical"}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium package is not installed"),
]


# Pages a role is refused (403), by design: the access log is the auditor's and the
# administrator's, the system status the operator's and the administrator's, an office's
# calendar its supervisor's and the administrator's.
REFUSED = {
    "officer": {"access log", "status", "office day"},
    "supervisor": {"access log", "status"},
    "operator": {"access log", "office day"},
    "administrator": set(),
}
# Where a page shows once loaded, for the pages that fill a part of themselves afterwards.
READY = {"person": "#schedule-panel h2"}


@dataclass(frozen=True)
class Visit:
    who: str
    page: str
    path: str

    def __str__(self) -> str:
        return f"{self.who} {self.page} ({self.path})"


def _console_pages(person: int, alert: int) -> dict[str, str]:
    """The console's main pages, on the demo's records (a person wearing a device, an open
    alert about them, the latest review)."""
    review = SupervisionReview.objects.order_by("-pk").first()
    office = Office.objects.order_by("pk").first()
    assert review, "the demo opened no review"
    assert office, "the demo has no office"
    return {
        "caseload": "/participants/",
        "person": f"/participants/{person}/",
        "timeline": f"/participants/{person}/timeline/",
        "track": f"/tracking/participants/{person}/track/",
        "zones": f"/zones/participant/{person}/",
        "alerts queue": "/alerts/",
        "alert": f"/alerts/{alert}/",
        "dashboard": "/reports/",
        "reviews": "/reviews/",
        "review": f"/reviews/{review.pk}/",
        "photo review": "/schedule/review/",
        "access log": "/audit/",
        "messages": "/messaging/",
        "conversation": f"/messaging/participants/{person}/",
        "today": "/schedule/today/",
        "office day": f"/schedule/offices/{office.pk}/",
        "live map": "/tracking/map/",
        "status": "/status/",
    }


PORTAL_PAGES = {"home": "/me/", "check-in": "/me/check-in/"}
SIGNED_OUT_PAGES = {"staff sign-in": "/login/", "portal sign-in": "/me/sign-in/"}


def _wearer() -> DeviceAssignment:
    """The first participant wearing a device, their phone number made theirs alone (the
    demo's numbers, in the range kept for fiction, are few and shared), so that the portal
    signs them in by it."""
    assignment = DeviceAssignment.objects.order_by("pk").select_related("participant").first()
    assert assignment is not None, "the demo fitted no device"
    Phone.objects.filter(participant=assignment.participant).update(number="+12025550142")
    return assignment


def _session(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _staff_session(user: User) -> str:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    verify_session(client, user)
    return _session(client)


def _problems(page: Any, visit: Visit, width: int) -> list[str]:
    """axe's serious and critical violations on the page, and its width if wider than
    the screen."""
    violations = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact,"
        " help: v.help, nodes: v.nodes.map(n => n.target.join(' '))})))"
    )
    found = [
        f"{visit}: {v['impact']} {v['id']} ({v['help']}) on {', '.join(v['nodes'][:5])}"
        for v in violations
        if v["impact"] in BLOCKING
    ]
    wide = page.evaluate("document.documentElement.scrollWidth")
    if wide > width:
        found.append(f"{visit}: {wide} px wide, scrolls sideways")
    return found


@pytest.mark.parametrize("size", VIEWPORTS)
@pytest.mark.django_db(transaction=True)
def test_every_page_passes_axe_and_fits_the_screen_for_every_role(
    size: str,
    live_server: LiveServer,
    chromium: Any,
    portal_client: Callable[[Participant], Client],
) -> None:
    seed(participants=40, offices=1, officers_per_office=1)
    sessions = {
        who: _staff_session(User.objects.get(username=username)) for who, username in STAFF.items()
    }
    worn = _wearer()
    wearer = worn.participant
    sos = raised_alert(  # open at once: the queue has a row to triage
        participant_id=wearer.pk,
        kind=AlertKind.SOS,
        source=f"device:{worn.device_id}",
        occurred_at=timezone.now(),
        device_id=worn.device_id,
    )
    pages = _console_pages(wearer.pk, sos.pk)
    pin_set(wearer, PORTAL_PIN)
    sessions["participant"] = _session(portal_client(wearer))
    visits = [Visit("signed out", name, path) for name, path in SIGNED_OUT_PAGES.items()]
    visits += [
        Visit(who, name, path)
        for who in STAFF
        for name, path in pages.items()
        if name not in REFUSED[who]
    ]
    visits += [Visit("participant", name, path) for name, path in PORTAL_PAGES.items()]

    axe = AXE.read_text()
    shots = os.environ.get("ONTRACK_TEST_SCREENSHOTS")
    width, height = VIEWPORTS[size]
    context = chromium.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    page = context.new_page()
    problems: list[str] = []
    signed_in_as = "signed out"
    for visit in visits:
        if visit.who != signed_in_as:
            context.clear_cookies()
            cookie = {"name": settings.SESSION_COOKIE_NAME, "value": sessions[visit.who]}
            context.add_cookies([{**cookie, "url": live_server.url}])
            signed_in_as = visit.who
        response = page.goto(live_server.url + visit.path)
        assert response is not None
        assert response.status == 200, f"{visit} answered {response.status}"
        if visit.page in READY:
            page.wait_for_selector(READY[visit.page])
        page.add_script_tag(content=axe)
        problems += _problems(page, visit, width)
        if shots:
            name = f"{size}-{visit.who}-{visit.page}.png".replace(" ", "-")
            page.screenshot(path=str(Path(shots) / name), full_page=True)
    context.close()
    assert not problems, f"at {size}:\n" + "\n".join(problems)
