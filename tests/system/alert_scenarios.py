"""The alert chain from a device's frames to a person's decision, as scenarios any running
system can play (``test_alert_chain`` on the shared system, ``test_two_of_each`` on the
production stores with two of each process)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from tests.system.harness import System, enrol, eventually, fit_device, mail_text, office_id

EXCLUDED = (40.7505, -73.9934)  # (lat, lon): a protected address
AWAY = (40.7300, -74.0300)


def at_seconds_ago(seconds_ago: float) -> str:
    when = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds_ago)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def queued(system: System, participant_id: int, kind: str) -> dict[str, Any] | None:
    """The participant's alert of ``kind`` as the officer's queue shows it, if it is there."""
    page = system.api("olivia").get("/alerts", participant=participant_id, kind=kind)
    return page["results"][0] if page["results"] else None


def rule_row(page: str, kind: str) -> str:
    """One kind's row of the alert rules page."""
    row = re.search(rf'<tr id="rule-{kind}">(.*?)</tr>', page, re.S)
    assert row, f"no {kind} row on the rules page"
    return row.group(1)


@dataclass(frozen=True)
class Wearer:
    participant: dict[str, Any]
    imei: str
    zone_id: int


def wearer_enters_an_exclusion_zone(system: System) -> Wearer:
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
    assert '<td>1 min <small class="muted source">participant</small>' in rule_row(
        page, "exclusion_zone_entry"
    )
    assert "tiers 1 min <small" in rule_row(page, "message_gap")

    system.simulate(
        {"wearers": [{"device": imei, "protocol": "gt06", "steps": [
            {"at": at_seconds_ago(45), "lat": AWAY[0], "lon": AWAY[1]},
            {"at": at_seconds_ago(40), "lat": EXCLUDED[0], "lon": EXCLUDED[1]},
        ]}]}
    )  # fmt: skip
    return Wearer(participant=participant, imei=imei, zone_id=zone["id"])


def zone_entry_opens_after_grace_and_is_handled(system: System, wearer: Wearer) -> None:
    """The alert of ``wearer_enters_an_exclusion_zone`` reaches the officer's queue when its
    grace is over, one notice e-mail reaches her, and she acknowledges and resolves it."""
    participant = wearer.participant
    pid = participant["id"]
    alert = eventually(
        lambda: queued(system, pid, "exclusion_zone_entry"),
        what="the exclusion-zone alert to reach the officer's queue",
        timeout=90,
    )
    assert alert["status"] == "open"
    assert alert["source"] == f"zone:{wearer.zone_id}"
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
    assert queued(system, pid, "exclusion_zone_entry") is None, "resolved: off the queue"
