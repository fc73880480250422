"""The system tests' fixture: one running ontrack for the session (see ``harness``), and
the processes' output added to the report of any test that fails."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

import pluggy
import pytest

from tests.system.harness import TWILIO_AUTH_TOKEN, System, running_system

# Thresholds the product lets an operator set, shortened so that a scenario plays in
# seconds: a window is missed as soon as it closes, a process that has not beaten for 5 s is
# silent, the stale-worker banner shows after 5 s, and an alert nobody acknowledged goes to
# the person on call at once (when someone is on call). Quiet hours are off so that a bulk
# message goes out whatever the hour the suite runs at. Twilio's webhooks are signed with
# ``TWILIO_AUTH_TOKEN``, as a texting provider's would be (texts still go out over SMPP).
SYSTEM_SETTINGS = {
    "ONTRACK_SCHEDULE_MISSED_GRACE_MINUTES": "0",
    "ONTRACK_PROCESS_STALE_S": "5",
    "ONTRACK_WORKER_BANNER_S": "5",
    "ONTRACK_MESSAGING_QUIET_HOURS": "",
    "ONTRACK_ALERTS_ON_CALL_MINUTES": "0",
    "ONTRACK_TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
}


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """ontrack migrated, seeded with one office and its staff, and running: web, worker and
    gateway, shared by every scenario (each works with its own participants and devices)."""
    with running_system(
        tmp_path_factory.mktemp("ontrack-home"), settings=SYSTEM_SETTINGS
    ) as running:
        yield running


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[Any]
) -> Generator[None, pluggy.Result[pytest.TestReport], None]:
    outcome = yield
    report = outcome.get_result()
    running = getattr(item, "funcargs", {}).get("system")
    if report.failed and isinstance(running, System):
        report.sections.append(("ontrack processes", running.tails()))
