"""A bulk message from the officer's form to the handsets and back: the worker expands the
audience, the sender hands each text to the SMSC over SMPP, the SMSC's delivery receipts
come back on the same bind, and a STOP texted from a handset opts that person out."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.system.harness import (
    System,
    bulk_message_send,
    enrol,
    eventually,
    new_phone,
    texts_to,
)

# One running system serves every scenario (session fixture): keep them on one
# xdist worker so that it starts once.
pytestmark = [pytest.mark.xdist_group("system"), pytest.mark.both_databases]


def _texts(system: System, phone: str) -> Callable[[], list[str]]:
    return lambda: texts_to(system, phone)


def test_a_bulk_message_to_a_filtered_caseload_is_delivered_and_a_stop_reply_opts_out(
    system: System,
) -> None:
    audience = [
        enrol(system, phones=[new_phone()], preferred_language=language,
              plan={"level": "standard", "review_date": "2030-01-01"})
        for language in ("es", "en")
    ]  # fmt: skip
    left_out = enrol(
        system, phones=[new_phone()], plan={"level": "high", "review_date": "2030-01-01"}
    )
    officer = system.browser("olivia")

    sent = bulk_message_send(
        officer,
        {"level": "standard", "template": "contact_update",
         "purpose": "Yearly check that contact details are current"},
    )  # fmt: skip
    assert sent.status_code == 302, f"bulk message refused: {sent.text[-1500:]}"
    bulk_page = sent.headers["Location"]
    assert re.fullmatch(r"/messaging/bulk/\d+/", bulk_page)

    phones = {p["phones"][0]: p for p in audience}
    texts = {p: eventually(_texts(system, p), what=f"a text to {p}") for p in phones}
    assert texts[audience[0]["phones"][0]][0].startswith(
        f"{audience[0]['given_name']}, asegúrese de que"
    ), "each person is written to in their own language"
    assert texts[audience[1]["phones"][0]][0].startswith(
        f"{audience[1]['given_name']}, please make sure"
    )
    assert texts_to(system, left_out["phones"][0]) == [], "outside the filter: not messaged"
    page = officer.page(bulk_page)
    assert "written 2 of 2" in page

    for submitted in list(system.smsc.submitted):
        if "+" + submitted["to"] in phones:
            system.smsc.receipt(submitted["id"], "DELIVRD")
    eventually(
        lambda: "delivered: 2" in officer.page(bulk_page),
        what="both delivery receipts to show on the bulk message's page",
    )
    for participant in audience:
        conversation = system.api("olivia").get(f"/participants/{participant['id']}/conversation")
        statuses = [entry.get("status") for entry in conversation]
        assert "Delivered" in statuses, conversation

    stopper = audience[1]
    system.smsc.mobile_originated(stopper["phones"][0].lstrip("+"), "STOP")
    eventually(
        lambda: "Replied STOP" in officer.page(f"/messaging/participants/{stopper['id']}/"),
        what="the STOP reply to show the participant as opted out",
    )
    assert "Replied STOP" not in officer.page(f"/messaging/participants/{audience[0]['id']}/")
