"""The alert page says what an alert's details mean in words, times on the office's clock;
the raw keys and values stay inside its "technical details" disclosure."""

import datetime as dt
import re
from collections.abc import Callable
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from ontrack.accounts.models import User
from ontrack.alerts.detail_labels import detail_words
from ontrack.alerts.models import Alert
from ontrack.alerts.services import alerts_promote_due
from ontrack.participants.models import Participant
from tests.support import raised_alert

pytestmark = pytest.mark.django_db

SILENT_SINCE = dt.datetime(2026, 12, 5, 21, 30, tzinfo=dt.UTC)

# What each producer of alerts writes (grep ``details=`` in the apps), and an unknown key
# such as an import from another system might carry.
DETAILS: dict[str, dict[str, object]] = {
    "missed_checkin": {"local_date": "2026-12-05"},
    "missed_appointment": {"type": "routine_checkin", "kind": "home_visit"},
    "missed_hearing": {"court": "Downtown Immigration Court", "kind": "master_calendar"},
    "message_gap": {"tier_minutes": 120, "silent_since": SILENT_SINCE.isoformat()},
    "charger_not_connected": {"last_charged_at": SILENT_SINCE.isoformat(), "hours": 24},
    "gps_lost": {"last_fix_at": SILENT_SINCE.isoformat(), "minutes": 30},
    "strap_tamper": {"event": "tamper", "raw_code": "0x13"},
    "low_battery": {"battery_pct": 12, "threshold_pct": 20},
    "exclusion_zone_entry": {"lat": 40.712341, "lon": -74.006789, "accuracy_m": 14.6},
    "sos": {
        "imported_from": {"system": "Legacy EM", "status": "pending", "step_actors": ["jdoe"]},
        "vendor_flag_7": "x1",
    },
}

RAW_KEYS = {key for details in DETAILS.values() for key in details} | {"escalation"}

# Codes that must not be read outside the disclosure (values as their producers wrote them).
RAW_VALUES = [
    SILENT_SINCE.isoformat(),
    "routine_checkin",
    "home_visit",
    "master_calendar",
    "0x13",
    "step_actors",
    "x1",
]


def _outside_disclosure(page: str) -> str:
    start = page.index('<details class="technical" id="alert-technical">')
    end = page.index("</details>", start) + len("</details>")
    return page[:start] + page[end:]


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _queued(participant: Participant, kind: str, source: str) -> Alert:
    """An alert with the producer's details, past its grace: on the page."""
    at = timezone.now() - dt.timedelta(hours=2)
    alert = raised_alert(
        participant_id=participant.pk,
        kind=kind,
        source=source,
        occurred_at=at,
        details=DETAILS[kind],
        now=at,
    )
    alerts_promote_due()
    return alert


def _page(client: Client, alert_id: int) -> str:
    response = client.get(f"/alerts/{alert_id}/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("kind", list(DETAILS))
def test_no_raw_detail_key_or_code_is_shown_outside_the_technical_details(
    kind: str,
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    alert = _queued(make_participant(), kind, "device:4")
    page = _page(client_for(officer), alert.pk)
    outside = _outside_disclosure(page)
    visible = _text(outside)
    for key in RAW_KEYS:
        assert f"<dt>{key}</dt>" not in outside, f"{key} is a label outside the disclosure"
        if "_" in key or key in ("lat", "lon"):
            assert not re.search(rf"\b{key}\b", visible), f"{key} shows outside the disclosure"
    for raw in RAW_VALUES:
        assert raw not in visible, f"{raw} shows outside the disclosure"
    assert "device:4" not in visible, "the condition's code is technical too"
    disclosure = page[page.index('id="alert-technical"') :]
    for key in alert.details:
        assert f"<dt>{key}</dt>" in disclosure, f"{key} is kept in the technical details"


def test_known_details_read_as_words_with_times_on_the_offices_clock(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    client = client_for(officer)

    def words(kind: str, source: str) -> str:
        alert = _queued(participant, kind, source)
        return _text(_outside_disclosure(_page(client, alert.pk)))

    local = SILENT_SINCE.astimezone(ZoneInfo(participant.office.time_zone))
    gap = words("message_gap", "device:1")
    assert f"Last heard from the device {local:%Y-%m-%d %H:%M} {local.tzname()}" in gap
    assert "Silent for at least 2 h 00 min" in gap
    assert "Earlier alerts like it None within the escalation window" in gap
    assert "Day of the check-in Saturday 5 December 2026" in words("missed_checkin", "w:1")
    appointment = words("missed_appointment", "appointment:1")
    assert "Appointment for Routine check-in" in appointment
    assert "Appointment Home visit" in appointment
    hearing = words("missed_hearing", "hearing:1")
    assert "Hearing Master calendar" in hearing
    assert "Court Downtown Immigration Court" in hearing
    assert "What the device reported Strap or case tampered with" in words("strap_tamper", "d:2")
    assert "Battery 12% " in words("low_battery", "device:3")
    assert "Position 40.71234, -74.00679" in words("exclusion_zone_entry", "zone:1")
    assert "Imported from Legacy EM, where it was pending (within grace)" in words("sos", "d:5")


def test_a_repeat_says_how_many_earlier_alerts_raised_its_priority() -> None:
    facts = dict(detail_words("sos", {"escalation": 3}, time_zone="America/New_York").facts)
    assert facts == {
        "Earlier alerts like it": "2 within the escalation window, so its priority was raised"
    }


def test_a_value_that_does_not_read_as_expected_stays_technical() -> None:
    words = detail_words(
        "gps_lost",
        {"last_fix_at": "yesterday", "minutes": "thirty", "surprise": 1},
        time_zone="America/New_York",
    )
    assert words.facts == ()
    assert words.technical == (
        ("last_fix_at", "yesterday"),
        ("minutes", "thirty"),
        ("surprise", "1"),
    )
