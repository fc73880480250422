"""One person's timeline shows what happened to them through every process: the officer
fits a device (web), the unit's strap is cut (gateway: a device event and its alert), the
officer texts them and the worker sends it over SMPP, and their answer comes back from the
SMSC (worker). Each appears on the timeline page, in plain words, over HTTP."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest

from tests.system.harness import System, enrol, eventually, fit_device, new_phone

# One running system serves every scenario (session fixture): keep them on one
# xdist worker so that it starts once.
pytestmark = pytest.mark.xdist_group("system")


def _visible(html: str) -> str:
    """The timeline's words, without its "technical details" disclosures."""
    without = re.sub(r'<details class="technical">.*?</details>', "", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", without))


def test_what_the_processes_did_appears_on_the_persons_timeline(system: System) -> None:
    phone = new_phone()
    participant = enrol(system, gps=True, phones=[phone])
    pid = participant["id"]
    imei = fit_device(system, pid)
    time.sleep(2)  # the gateway's directory learns the wearer (see test_device_fitting)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    system.simulate(
        {"wearers": [{"device": imei, "protocol": "gt06", "steps": [
            {"at": now, "lat": 40.7357, "lon": -74.1724, "event": "strap_cut"},
        ]}]}
    )  # fmt: skip
    officer = system.browser("olivia")
    conversation = f"/messaging/participants/{pid}/"
    sent = officer.submit(conversation, {"body": "Please call the office about your device."})
    assert sent.status_code == 302, "the officer's text was not queued"
    eventually(
        lambda: any("call the office" in t for t in system.smsc.texts_to(phone)),
        what="the officer's text at the SMSC, sent by the worker",
    )
    system.smsc.mobile_originated(phone.lstrip("+"), "I was at the clinic, will call")

    timeline = f"/participants/{pid}/timeline/"
    expected = [
        "Device assigned or returned",
        "Strap or case tampered with",  # the gateway's stored device event
        "Alert: Strap tamper",  # raised from it by the gateway's hand-off to alerts
        "Text message to the participant: ",  # ... then "sent" or "delivered" (the worker)
        "Please call the office about your device.",
        "Text received",  # the answer, received by the worker over SMPP
        "I was at the clinic, will call",
    ]

    def shown() -> str | None:
        text = _visible(officer.page(timeline))
        return text if all(words in text for words in expected) else None

    text = eventually(shown, what="every event on the timeline page", timeout=60)
    assert re.search(r"Text message to the participant: (sent|delivered)", text), (
        "the worker did not move the text past queued"
    )
    for code in ("strap_tamper", "device:", "0x"):
        assert code not in text, f"a raw code ({code}) outside the technical details"
    # Newest first: the answer came after the text, which came after the fit.
    assert text.index("I was at the clinic") < text.index("Please call the office")
    assert text.index("Please call the office") < text.index("Device assigned or returned")

    alerts_only = _visible(officer.page(timeline, kind="alerts"))
    assert "Alert: Strap tamper" in alerts_only
    assert "I was at the clinic" not in alerts_only
    assert system.browser("sam").get("/participants/987654/timeline/").status_code == 404
