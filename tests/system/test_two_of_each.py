"""Two workers and two gateways against one database behave as one system, as a deployment
on several machines runs them: each periodic job runs once per tick whichever worker claims
it, a bulk message reaches each person once, and an on-demand location request reaches the
device through whichever gateway holds its connection. Then one of each is killed, as a
machine fails, and the other carries on alone."""

from __future__ import annotations

import re
import socket
import struct
import time
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from ontrack.tracking.simulator.wearers import gt06_login
from tests.system.alert_scenarios import (
    wearer_enters_an_exclusion_zone,
    zone_entry_opens_after_grace_and_is_handled,
)
from tests.system.conftest import SYSTEM_SETTINGS
from tests.system.harness import (
    System,
    bulk_message_send,
    enrol,
    eventually,
    fit_device,
    new_phone,
    running_system,
    texts_to,
)

# Its own running system, on an xdist worker of its own beside the shared one.
pytestmark = pytest.mark.xdist_group("system-two-of-each")

PROCESSES = ("web", "worker", "worker-2", "gateway", "gateway-2")
_JOB_DONE = re.compile(r"job done job=(\S+) .*\btick=(\S+)")
_GT06_COMMAND = 0x80


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    home = tmp_path_factory.mktemp("ontrack-two-of-each")
    with running_system(
        home, processes=PROCESSES, production=True, settings=SYSTEM_SETTINGS
    ) as running:
        yield running


def _ticks_run(log: Path) -> list[tuple[str, str]]:
    """(job, tick) of every job a worker's log says it ran."""
    if not log.exists():
        return []
    return [
        (match.group(1), match.group(2))
        for match in map(_JOB_DONE.search, log.read_text(errors="replace").splitlines())
        if match
    ]


def _runs_by_worker(system: System) -> dict[str, list[tuple[str, str]]]:
    return {name: _ticks_run(system.logs / f"{name}.log") for name in ("worker", "worker-2")}


def _assert_each_tick_ran_once(runs: dict[str, list[tuple[str, str]]]) -> None:
    counts = Counter(run for worker_runs in runs.values() for run in worker_runs)
    twice = sorted(run for run, count in counts.items() if count > 1)
    assert not twice, f"ticks run by more than one worker: {twice[:5]}"


def test_each_periodic_job_runs_once_per_tick_and_the_survivor_carries_on(pair: System) -> None:
    both_working = eventually(
        lambda: all(len(runs) >= 5 for runs in _runs_by_worker(pair).values()),
        what="both workers to run periodic jobs",
        timeout=90,
    )
    assert both_working
    _assert_each_tick_ran_once(_runs_by_worker(pair))

    pair.stop("worker", kill=True)
    survivor_before = len(_runs_by_worker(pair)["worker-2"])
    ticks_before = {tick for _, tick in _runs_by_worker(pair)["worker-2"]}
    eventually(
        lambda: len({tick for _, tick in _runs_by_worker(pair)["worker-2"]} - ticks_before) >= 3,
        what="the remaining worker to run the jobs of three more ticks",
        timeout=90,
    )
    assert len(_runs_by_worker(pair)["worker-2"]) > survivor_before
    _assert_each_tick_ran_once(_runs_by_worker(pair))


def test_a_bulk_message_reaches_each_person_once_with_two_workers(pair: System) -> None:
    audience = [
        enrol(pair, phones=[new_phone()], plan={"level": "standard", "review_date": "2030-01-01"})
        for _ in range(4)
    ]
    sent = bulk_message_send(
        pair.browser("olivia"),
        {"level": "standard", "template": "contact_update",
         "purpose": "Yearly check that contact details are current"},
    )  # fmt: skip
    assert sent.status_code == 302, f"bulk message refused: {sent.text[-1500:]}"
    phones = [person["phones"][0] for person in audience]
    for phone in phones:
        eventually(partial(texts_to, pair, phone), what=f"a text to {phone}")
    time.sleep(5)  # the jobs of two more ticks, in which a second send would go out
    assert {phone: len(texts_to(pair, phone)) for phone in phones} == dict.fromkeys(phones, 1)


def test_a_zone_entry_opens_after_grace_and_notifies_staff_once_on_the_production_stores(
    pair: System,
) -> None:
    """The alert chain of ``test_alert_chain`` on PostgreSQL and Redis, where deployments
    run, after one worker was killed: the zone engine in the gateway the unit reached, the
    grace watchdog in the surviving worker, and exactly one notice e-mail."""
    zone_entry_opens_after_grace_and_is_handled(pair, wearer_enters_an_exclusion_zone(pair))


def _login(system: System, imei: str, gateway: str) -> socket.socket:
    """A GT06 unit logged in to ``gateway`` and holding the connection, as a unit does."""
    sock = socket.create_connection(("127.0.0.1", system.port("gt06", gateway)), timeout=10)
    sock.settimeout(10)
    sock.sendall(gt06_login(imei, 1))
    assert sock.recv(10), f"{gateway} did not acknowledge the login"
    return sock


def _next_command(sock: socket.socket) -> bytes:
    """The content of the next online command (0x80) the gateway sends on ``sock``."""
    sock.settimeout(60)
    buffer = b""
    while True:
        chunk = sock.recv(1024)
        assert chunk, "the gateway closed the connection"
        buffer += chunk
        while len(buffer) >= 5 and buffer[:2] == b"\x78\x78":
            length = buffer[2]
            frame, buffer = buffer[: length + 5], buffer[length + 5 :]
            if frame[3] == _GT06_COMMAND:
                (size,) = struct.unpack_from("B", frame, 4)
                return frame[9 : 9 + size - 4]


def _locate(system: System, imei: str) -> None:
    (device,) = system.api("olivia").get("/devices", q=imei)["results"]
    asked = system.browser("olivia").submit(
        f"/tracking/devices/{device['id']}/", {}, action=f"/tracking/devices/{device['id']}/locate/"
    )
    assert asked.status_code == 302, f"locate refused: {asked.text[-1500:]}"


def test_a_locate_request_reaches_the_gateway_holding_the_device_and_follows_it(
    pair: System,
) -> None:
    participant = enrol(pair, gps=True)
    imei = fit_device(pair, participant["id"])
    eventually(lambda: pair.gateway_knows(imei, "gateway-2"), what="gateway-2 to know the unit")

    with _login(pair, imei, "gateway-2") as held_by_second:
        _locate(pair, imei)
        assert _next_command(held_by_second), "no command through gateway-2"

    pair.stop("gateway-2", kill=True)
    with _login(pair, imei, "gateway") as held_by_first:
        _locate(pair, imei)
        assert _next_command(held_by_first), "no command through the remaining gateway"
