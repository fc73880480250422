"""From a device's frames to a person's decision, through every process: the gateway stores
the fixes and the zone engine raises the alert, the worker opens it when its grace ends and
the sender e-mails staff, and an officer acknowledges and resolves it on the alert page. The
same unit then stays silent, and the worker's silence watchdog raises a message gap that
clears when it reports again (a unit that dies inside a zone is an alert of its own)."""

from __future__ import annotations

import pytest

from tests.system.alert_scenarios import (
    AWAY,
    Wearer,
    at_seconds_ago,
    queued,
    wearer_enters_an_exclusion_zone,
    zone_entry_opens_after_grace_and_is_handled,
)
from tests.system.harness import System, eventually

# One running system serves every scenario (session fixture): keep them on one
# xdist worker so that it starts once.
pytestmark = [pytest.mark.xdist_group("system"), pytest.mark.both_databases]


@pytest.fixture(scope="module")
def wearer_gone_silent_in_a_zone(system: System) -> Wearer:
    return wearer_enters_an_exclusion_zone(system)


def test_an_exclusion_zone_entry_opens_after_grace_and_notifies_staff_by_email(
    system: System, wearer_gone_silent_in_a_zone: Wearer
) -> None:
    zone_entry_opens_after_grace_and_is_handled(system, wearer_gone_silent_in_a_zone)


def test_a_device_that_falls_silent_raises_a_message_gap_that_clears_when_it_reports_again(
    system: System, wearer_gone_silent_in_a_zone: Wearer
) -> None:
    pid = wearer_gone_silent_in_a_zone.participant["id"]
    imei = wearer_gone_silent_in_a_zone.imei
    officer = system.browser("olivia")

    # Silence is judged by when the gateway last heard from the unit, on the wall clock: the
    # worker's silence watchdog raises the gap once a minute has passed without a report.
    gap = eventually(
        lambda: queued(system, pid, "message_gap"),
        what="the message-gap alert after a minute of silence",
        timeout=150,
    )
    assert gap["status"] == "open"
    assert gap["details"]["tier_minutes"] == 1

    system.simulate(
        {"wearers": [{"device": imei, "protocol": "gt06",
                      "steps": [{"at": at_seconds_ago(0), "lat": AWAY[0], "lon": AWAY[1]}]}]}
    )  # fmt: skip
    path = f"/alerts/{gap['id']}/"
    eventually(
        lambda: "Cleared by itself" in officer.page(path),
        what="the message-gap alert to clear once the unit reported again",
    )
    assert queued(system, pid, "message_gap") is None, "cleared: off the queue"
