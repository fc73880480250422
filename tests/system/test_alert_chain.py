"""From a device's frames to a person's decision, through every process: the gateway stores
the fixes and the zone engine raises the alert, the worker opens it when its grace ends and
the sender e-mails staff, and an officer acknowledges and resolves it on the alert page. The
same unit then stays silent, and the worker's silence watchdog raises a message gap that
clears when it reports again (a unit that dies inside a zone is an alert of its own)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pytest

from tests.system.harness import System, enrol, eventually, fit_device, mail_text, office_id

# One running system serves every scenario (session fixture): keep them on one
# xdist worker so that it starts once.
pytestmark = pytest.mark.xdist_group("system")

EXCLUDED = (40.7505, -73.9934)  # (lat, lon): a protected address
AWAY = (40.7300, -74.0300)


def _at(seconds_ago: float) -> str:
    when = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds_ago)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _queued(system: System, participant_id: int, kind: str) -> dict[str, Any] | None:
    """The participant's alert of ``kind`` as the officer's queue shows it, if it is there."""
    page = system.api("olivia").get("/alerts", participant=participant_id, kind=kind)
    return page["results"][0] if page["results"] else None


def _rule_row(page: str, kind: str) -> str:
    """One kind's row of the alert rules page."""
    row = re.search(rf'<tr id="rule-{kind}">(.*?)</tr>', page, re.S)
    assert row, f"no {kind} row on the rules page"
    return row.group(1)


@dataclass(frozen=True)
class Wearer:
    participant: dict[str, Any]
    imei: str
    zone_id: int


@pytest.fixture(scope="module")
def wearer_gone_silent_in_a_zone(system: System) -> Wearer:
    """A wearer whose unit sends its last fixes 40 s late (buffered): the entry into an
    exclusion zone around a protected address. Then it says nothing more. Both tests below
    watch what follows: the entry's grace, which the officer set to one minute for this
    person, ends about 20 s after the frames arrive, and the one-minute message gap she set
    passes about a minute after.

    Staff have asked beforehand to be told of high alerts by e-mail (the office's
    supervisor, on the notifications page)."""
    office = office_id(system.api("sam"))
    told = system.browser("sam").submit(
        f"/alerts/notifications/office/{office}/",
        {"min_priority": "3", "channel": "email", "recipient": "officer", "address": ""},
    )
    assert told.status_code == 302, "the supervisor could not ask for e-mail notices"
    participant = enrol(system, gps=True)
    pid = participant["id"]
    imei = fit_device(system, pid)
    zone = system.api("olivia").post(
        f"/participants/{pid}/zones",
        {
            "name": "Protected address",
            "kind": "exclusion",
            "geometry": {"type": "Circle", "center": [EXCLUDED[1], EXCLUDED[0]], "radius_m": 300},
        },
    )
    officer = system.browser("olivia")
    rules = f"/alerts/rules/participant/{pid}/"
    for setting in (
        {"kind": "exclusion_zone_entry", "grace_minutes": "1"},
        {"kind": "message_gap", "gap_tiers_minutes": "1"},
    ):
        saved = officer.submit(rules, setting)
        assert saved.status_code == 302, f"the officer could not set {setting}"
    page = officer.page(rules)
    assert '<td>1 min <small class="muted source">participant</small>' in _rule_row(
        page, "exclusion_zone_entry"
    )
    assert "tiers 1 min <small" in _rule_row(page, "message_gap")

    system.simulate(
        {"wearers": [{"device": imei, "protocol": "gt06", "steps": [
            {"at": _at(45), "lat": AWAY[0], "lon": AWAY[1]},
            {"at": _at(40), "lat": EXCLUDED[0], "lon": EXCLUDED[1]},
        ]}]}
    )  # fmt: skip
    return Wearer(participant=participant, imei=imei, zone_id=zone["id"])


def test_an_exclusion_zone_entry_opens_after_grace_and_notifies_staff_by_email(
    system: System, wearer_gone_silent_in_a_zone: Wearer
) -> None:
    participant = wearer_gone_silent_in_a_zone.participant
    pid = participant["id"]
    alert = eventually(
        lambda: _queued(system, pid, "exclusion_zone_entry"),
        what="the exclusion-zone alert to reach the officer's queue",
        timeout=90,
    )
    assert alert["status"] == "open"
    assert alert["source"] == f"zone:{wearer_gone_silent_in_a_zone.zone_id}"
    detail = system.api("olivia").get(f"/alerts/{alert['id']}")
    steps = [(s["from_status"], s["to_status"], s["note"], s["actor_id"]) for s in detail["steps"]]
    assert steps == [
        ("", "pending", "", None),
        ("pending", "open", "grace period over", None),
    ], "raised within grace, then opened by the grace watchdog when the grace ran out"
    assert dt.datetime.fromisoformat(detail["raised_at"]) < dt.datetime.fromisoformat(
        detail["visible_at"]
    ), "the alert was raised while its grace was still running"

    link = f"{system.base_url}/alerts/{alert['id']}/"
    mail = eventually(
        lambda: [
            m
            for m in system.mailbox.received
            if link in mail_text(m) and m["To"] == "olivia@example.org"
        ],
        what="the officer's notice e-mail at the SMTP server",
    )
    (notice,) = mail
    assert notice["To"] == "olivia@example.org"
    assert notice["Subject"] == "High alert: Entered an exclusion zone"
    assert participant["case_number"] in mail_text(notice)

    officer = system.browser("olivia")
    path = link.removeprefix(system.base_url)
    assert "Open" in officer.page(path)
    acknowledged = officer.submit(path, {}, action=f"{path}acknowledge/")
    assert acknowledged.status_code == 302
    assert re.search(r"<small>High · Acknowledged</small>", officer.page(path))
    resolved = officer.submit(
        path,
        {"disposition": "false_alarm", "note": "Drove past on the highway; called her."},
        action=f"{path}resolve/",
    )
    assert resolved.status_code == 302
    page = officer.page(path)
    assert re.search(r"<small>High · Resolved</small>", page)
    assert re.search(
        r"False alarm, decided by [^<]+ — Drove past on the highway; called her\.", page
    )
    assert _queued(system, pid, "exclusion_zone_entry") is None, "resolved: off the queue"


def test_a_device_that_falls_silent_raises_a_message_gap_that_clears_when_it_reports_again(
    system: System, wearer_gone_silent_in_a_zone: Wearer
) -> None:
    pid = wearer_gone_silent_in_a_zone.participant["id"]
    imei = wearer_gone_silent_in_a_zone.imei
    officer = system.browser("olivia")

    # Silence is judged by when the gateway last heard from the unit, on the wall clock: the
    # worker's silence watchdog raises the gap once a minute has passed without a report.
    gap = eventually(
        lambda: _queued(system, pid, "message_gap"),
        what="the message-gap alert after a minute of silence",
        timeout=150,
    )
    assert gap["status"] == "open" and gap["details"]["tier_minutes"] == 1

    system.simulate(
        {"wearers": [{"device": imei, "protocol": "gt06",
                      "steps": [{"at": _at(0), "lat": AWAY[0], "lon": AWAY[1]}]}]}
    )  # fmt: skip
    path = f"/alerts/{gap['id']}/"
    eventually(
        lambda: "Cleared by itself" in officer.page(path),
        what="the message-gap alert to clear once the unit reported again",
    )
    assert _queued(system, pid, "message_gap") is None, "cleared: off the queue"
