"""An alert nobody acknowledges, through every process: the supervisor puts the officer on
call on the rota page, a wearer's strap is cut and the gateway raises a tamper alert, the
worker texts it to the officer on call (the escalation time is shortened to nothing here),
the SMSC receives the text with its reply code, and the officer's reply through the texting
provider's signed webhook acknowledges the alert as her."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from tests.system.alert_scenarios import at_seconds_ago, queued
from tests.system.harness import (
    OFFICE,
    System,
    enrol,
    eventually,
    fit_device,
    new_phone,
    office_id,
    text_via_twilio,
    texts_to,
)

# One running system serves every scenario (session fixture): keep them on one
# xdist worker so that it starts once.
pytestmark = pytest.mark.xdist_group("system")


def test_an_unacknowledged_alert_is_texted_to_the_officer_on_call_whose_reply_acknowledges_it(
    system: System,
) -> None:
    officer = system.browser("olivia")
    phone = new_phone()
    saved = officer.submit("/account/", {"email": "olivia@example.org", "phone": phone})
    assert saved.status_code == 302, "the officer could not add her mobile"

    office = office_id(system.api("sam"))
    (zone,) = [o["time_zone"] for o in system.api("sam").get("/offices") if o["name"] == OFFICE]
    rota = f"/alerts/on-call/office/{office}/"
    supervisor = system.browser("sam")
    choice = re.search(r'<option value="(\d+)">olivia \(Case officer\)', supervisor.page(rota))
    assert choice, "the officer is offered on the rota"
    olivia_id = int(choice.group(1))
    local_now = dt.datetime.now(ZoneInfo(zone))
    shift = {
        "person": olivia_id,
        "starts_at": f"{local_now - dt.timedelta(minutes=1):%Y-%m-%dT%H:%M}",
        "ends_at": f"{local_now + dt.timedelta(minutes=30):%Y-%m-%dT%H:%M}",
    }
    assert supervisor.submit(rota, shift).status_code == 302, "the shift was refused"
    assert "(now)" in supervisor.page(rota), "the rota shows her on call"

    participant = enrol(system, gps=True)
    imei = fit_device(system, participant["id"])
    system.simulate(
        {"wearers": [{"device": imei, "protocol": "gt06", "steps": [
            {"at": at_seconds_ago(0), "lat": 40.7357, "lon": -74.1724, "event": "strap_cut"},
        ]}]}
    )  # fmt: skip
    alert = eventually(
        lambda: queued(system, participant["id"], "strap_tamper"),
        what="the tamper alert in the officer's queue",
    )
    case = participant["case_number"]
    (page,) = eventually(
        lambda: [t for t in texts_to(system, phone) if case in t],
        what="the on-call text at the SMSC",
    )
    assert page.startswith("Critical alert not acknowledged: Strap tamper.")
    assert participant["family_name"] not in page, "a text never names the person"
    code = re.search(r"Reply ACK (\d{4}) to acknowledge", page)
    assert code, page

    answered = text_via_twilio(system, phone, f"ACK {code.group(1)}")
    assert answered.status_code == 200, answered.text
    (answer,) = eventually(
        lambda: [t for t in texts_to(system, phone) if t.startswith(("Acknowledged", "Not "))],
        what="the answer to her reply",
    )
    assert answer.startswith("Acknowledged."), answer
    detail = system.api("olivia").get(f"/alerts/{alert['id']}")
    assert detail["status"] == "acknowledged"
    last = detail["steps"][-1]
    assert (last["from_status"], last["to_status"], last["actor_id"]) == (
        "open",
        "acknowledged",
        olivia_id,
    ), "acknowledged as the officer who replied"

    # Off call again, so that the rest of the suite's alerts stay in the queue only.
    removed = re.search(r'action="(/alerts/on-call/\d+/remove/)"', supervisor.page(rota))
    assert removed, "the shift can be removed"
    assert supervisor.submit(rota, {}, action=removed.group(1)).status_code == 302
