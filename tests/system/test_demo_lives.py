"""`ontrack demo` on a fresh home, as a user runs it, from one demo process tree (seeding and
starting four processes is the slow part, so the module's tests share it, in file order):

- it lives within about two minutes: every office's alert queue holds alerts that the
  simulated wearers raised (through the gateway, the zone engine and the worker's watchdogs),
  and the pages a visitor opens first show a history, not empty tables;
- its console holds one line per process and ends in how to sign in (the logins work, the
  portal's phone number and PIN too), the children log to ``$ONTRACK_HOME/logs/``;
- a killed child is started again, and a stop says one line per process.

Everything is read the way a person reads it: signed in over HTTP as the demo's operator and
supervisor. The seeded history holds no open alert, so an open device alert can only have
come from the running processes; a message-gap alert only from the worker's silence
watchdog, so the test fails if the worker never ran. The demo's gateway runs on free ports
with MQTT off, so that another demo on this machine is neither disturbed nor fed this one's
wearers.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from tests.support import cli_environment, free_port, wait_for_url

# A whole demo of its own, beside the system tests on the other workers; its tests in order.
pytestmark = pytest.mark.xdist_group("demo-lives")

# From the moment the web process answers: migrating and seeding a fresh home before it takes
# 35 s on a quiet machine and 80 s or more while the suite's other processes start beside it,
# which says nothing of whether the running processes bring the demo to life.
DEADLINE_S = 150.0
# Kinds only a device (through the gateway or the silence watchdog) raises.
DEVICE_KINDS = {
    "exclusion_zone_entry": "Entered an exclusion zone",
    "inclusion_zone_exit": "Left an inclusion zone during its schedule",
    "strap_tamper": "Strap tamper",
    "low_battery": "Low battery",
    "critical_battery": "Critical battery",
    "message_gap": "No report from the device",
    "gps_lost": "GPS lost",
}


class _Browser:
    """A session over plain HTTP that keeps its cookies and posts Django forms with their CSRF
    token."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> str:
        # Generous: on two shared cores the first minute (seeding done, every process
        # starting, the worker catching up on its jobs) can hold a request for a while.
        with self.opener.open(self.base + path, timeout=90) as response:
            return str(response.read().decode())

    def post_form(self, path: str, fields: dict[str, str]) -> tuple[str, str]:
        """(final URL after redirects, page) of submitting the form at ``path``."""
        page = self.get(path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, f"a form at {path}"
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": token.group(1), **fields}).encode()
        request = urllib.request.Request(self.base + path, data=data)
        with self.opener.open(request, timeout=90) as response:
            return response.geturl(), response.read().decode()

    def sign_in_staff(self, username: str, password: str, env: dict[str, str]) -> str:
        """The landing page after the demo password, then the second factor from ``ontrack
        totp``, as the demo's closing block tells a person to."""
        _, asked = self.post_form("/login/", {"username": username, "password": password})
        assert "<h1>Second factor</h1>" in asked, f"{username}'s password was refused"
        code = subprocess.run(
            [sys.executable, "-m", "ontrack.cli", "totp", username],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[0]
        _, landing = self.post_form("/account/second-factor/", {"code": code, "next": "/"})
        assert "Sign out" in landing, f"{username} could not sign in"
        assert "Second factor" not in landing, f"{username} could not sign in"
        return landing


def _offices(queue_page: str) -> dict[str, str]:
    """Office id -> name, from the queue's office filter."""
    select = re.search(r'<select[^>]*name="office".*?</select>', queue_page, re.S)
    assert select, "the alert queue has no office filter"
    return {
        value: unescape(name.strip())
        for value, name in re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', select[0])
    }


def _open_device_kinds(browser: _Browser, office: str) -> set[str]:
    """The device kinds with at least one open or acknowledged alert in ``office``, read
    from the queue's pages the way the operator reads them."""
    labels: set[str] = set()
    for number in range(1, 10):
        page = browser.get(f"/alerts/?status=active&office={office}&page={number}")
        labels |= {
            unescape(label) for label in re.findall(r'data-label="Type"><a [^>]*>([^<]+)</a>', page)
        }
        if f"page={number + 1}" not in page:
            break
    return {kind for kind, label in DEVICE_KINDS.items() if label in labels}


STARTED = re.compile(r"^(\w+)\s+started \(pid (\d+)\), log: (\S+)$", re.M)
GATEWAY_PROTOCOLS = (
    "gt06", "teltonika", "osmand", "h02", "watch", "tk103", "queclink", "meitrack", "suntech",
)  # fmt: skip


@dataclass
class RunningDemo:
    process: subprocess.Popen[bytes]
    base: str
    home: Path
    env: dict[str, str]
    console_file: Path

    def console(self) -> str:
        return self.console_file.read_text()

    def password(self) -> str:
        """The install's own demo password, kept in $ONTRACK_HOME/demo-password (README)."""
        return (self.home / "demo-password").read_text().strip()

    def stop(self) -> str:
        """Stop it as a person does (Ctrl-C); the whole console."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
                raise
        return self.console()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    """``ontrack demo`` on a fresh home (it migrates, seeds and starts every process)."""
    folder = tmp_path_factory.mktemp("demo")
    home = folder / "home"
    env = cli_environment(home)
    port = free_port()
    gateway = [flag for name in GATEWAY_PROTOCOLS for flag in (f"--{name}-port", str(free_port()))]
    console_file = folder / "console.txt"
    with console_file.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ontrack.cli", "demo", "--port", str(port), *gateway,
             "--mqtt-host", "off"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    running = RunningDemo(process, f"http://127.0.0.1:{port}", home, env, console_file)
    try:
        yield running
    finally:
        running.stop()


def _eventually(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"within {timeout:g} s: {what}"
        time.sleep(0.3)


def _started(console: str) -> dict[str, list[int]]:
    """Process name -> every pid the console said it started, in order."""
    pids: dict[str, list[int]] = {}
    for name, pid, _log in STARTED.findall(console):
        pids.setdefault(name, []).append(int(pid))
    return pids


def _running_beat(database: Path, kind: str, pid: int) -> bool:
    with sqlite3.connect(database, timeout=30) as db:
        rows = db.execute(
            "select instance from operations_heartbeat where kind = ? and stopped_at is null",
            (kind,),
        ).fetchall()
    return any(instance.endswith(f":{pid}") for (instance,) in rows)


def _positions_stored(database: Path) -> int:
    with sqlite3.connect(database, timeout=30) as db:
        return int(db.execute("select count(*) from tracking_position").fetchone()[0])


def test_demo_shows_live_alerts_in_every_office_within_two_and_a_half_minutes_of_answering(
    demo: RunningDemo,
) -> None:
    wait_for_url(demo.base + "/healthz", timeout=240)
    answering = time.monotonic()
    operator = _Browser(demo.base)
    operator.sign_in_staff("operator", demo.password(), demo.env)
    offices = _offices(operator.get("/alerts/"))
    assert len(offices) == 3, offices
    kinds: dict[str, set[str]] = {}
    while True:
        try:
            kinds = {name: _open_device_kinds(operator, pk) for pk, name in offices.items()}
        except OSError:  # a request held past its timeout: ask again
            kinds = {}
        lively = bool(kinds) and all(
            len(found) >= 3 and "message_gap" in found for found in kinds.values()
        )
        if lively or time.monotonic() - answering > DEADLINE_S:
            break
        time.sleep(5)
    elapsed = time.monotonic() - answering
    assert lively, (
        f"{elapsed:.0f} s after the web process answered, open device alerts per office were "
        f"{kinds}; expected at least three kinds in each, message gaps (the worker's silence "
        "watchdog) among them"
    )

    dashboard = operator.get("/reports/")
    assert "Confirmed violation" in dashboard
    outcomes = re.search(r"Alert outcomes and who decided.*?</table>", dashboard, re.S)
    cell = r'<td data-label="[^"]*">'
    decided = rf"{cell}(Confirmed violation|False alarm)</td>{cell}[^<]*</td>{cell}[1-9]"
    assert outcomes, "the dashboard's alert outcomes show no decided alert"
    assert len(re.findall(decided, outcomes[0])) == 2, (
        "the dashboard's alert outcomes show no decided alert"
    )
    supervisor = _Browser(demo.base)
    supervisor.sign_in_staff("supervisor", demo.password(), demo.env)
    assert "Plan review date reached" in supervisor.get("/reviews/")
    decided_reviews = supervisor.get("/reviews/?show=decided")
    assert "Stepped down" in decided_reviews
    assert "Kept as it is" in decided_reviews
    photos = supervisor.get("/schedule/review/")
    waiting = re.search(r"Check-in photos to review \((\d+)\)", photos)
    assert waiting, "no check-in photo waits for review"
    assert int(waiting[1]) > 0, "no check-in photo waits for review"
    assert 'alt="Enrolment photo"' in photos, "no enrolment photo beside the check-ins"
    inbox = supervisor.get("/messaging/inbox/")
    assert "Reply" in inbox, "no reply waits in the supervisor's inbox"


def test_demo_console_says_one_line_per_process_and_how_to_sign_in(demo: RunningDemo) -> None:
    _eventually(lambda: "Press Ctrl-C to stop." in demo.console(), 240, "the demo is ready")
    text = demo.console()
    started = _started(text)
    assert set(started) == {"web", "worker", "gateway", "simulator"}, text
    logs = demo.home / "logs"
    for name in started:
        assert (logs / f"{name}.log").is_file(), f"{name} logs to {logs}"
    lines = text.splitlines()
    gateway_at = next(i for i, line in enumerate(lines) if line.startswith("gateway   start"))
    simulator_at = next(i for i, line in enumerate(lines) if line.startswith("simulator"))
    assert gateway_at < simulator_at, "the simulator starts after the gateway answers"
    assert "Connect call failed" not in (logs / "simulator.log").read_text(), (
        "no wearer found the gateway closed"
    )
    assert " INFO " not in text, "the children's logs stay in files"
    assert "Uvicorn" not in text, "the children's logs stay in files"
    block = text[text.index("ontrack demo is running at") :]
    assert f"{demo.base}/" in block
    for username in ("officer1", "supervisor", "operator", "admin", "auditor"):
        assert username in block
    assert f"password for every account: {demo.password()})" in block, "this install's own"
    assert "ontrack-demo-2026" not in text, "never the password published with the code"
    assert "uv run ontrack totp officer1" in block
    assert re.search(r"6 digits\): ([A-Z2-7]{4} ){7}[A-Z2-7]{4}\n", block), (
        "the demo prints no authenticator key"
    )
    assert "PIN 2468" in block
    assert re.search(r"phone number (\+\d+)", block), block
    assert "logs/worker.log" in block, "where to find the sign-in code"

    # Not a login the first test signed in with: the same authenticator code, twice within
    # its 30 s, is refused the second time (as it should be).
    officer = _Browser(demo.base)
    caseload = officer.sign_in_staff("officer1", demo.password(), demo.env)
    assert "<h1>Caseload</h1>" in caseload
    assert re.search(r"\d+ participants", caseload)
    assert "openapi" in officer.get("/api/openapi.json")
    # The simulator's wearers report through the gateway into the database.
    _eventually(
        lambda: _positions_stored(demo.home / "ontrack.sqlite3"), 60, "a simulated position"
    )


def test_demo_restarts_a_killed_child_signs_in_to_the_portal_and_stops_cleanly(
    demo: RunningDemo,
) -> None:
    _eventually(lambda: "Press Ctrl-C to stop." in demo.console(), 240, "the demo is ready")
    block = demo.console()[demo.console().index("ontrack demo is running at") :]
    phone_match = re.search(r"phone number (\+\d+)", block)
    assert phone_match, block
    phone = phone_match.group(1)
    logs = demo.home / "logs"

    # Kill the worker: the console says so and a new one beats.
    old_worker = _started(demo.console())["worker"][0]
    os.kill(old_worker, signal.SIGKILL)
    _eventually(
        lambda: "worker    exited with code -9; restarting in 1 s" in demo.console(),
        15,
        "the console reports the dead worker",
    )
    _eventually(lambda: len(_started(demo.console())["worker"]) == 2, 15, "a new worker starts")
    new_worker = _started(demo.console())["worker"][1]
    assert new_worker != old_worker
    _eventually(
        lambda: _running_beat(demo.home / "ontrack.sqlite3", "worker", new_worker),
        60,
        "the new worker beats",
    )

    # The printed phone number and PIN sign in to the portal; the code is in worker.log.
    portal = _Browser(demo.base)
    url, _ = portal.post_form("/me/sign-in/", {"phone": phone})
    assert url.endswith("/me/code/"), url
    code_line = re.compile(rf"sms to {re.escape(phone)}\].*?\b(\d{{6}})\b")
    code = _eventually(
        lambda: code_line.findall((logs / "worker.log").read_text()),
        60,
        "the restarted worker texts the sign-in code",
    )[-1]
    url, _ = portal.post_form("/me/code/", {"code": code})
    assert url.endswith("/me/pin/"), url
    url, page = portal.post_form("/me/pin/", {"pin": "2468"})
    assert url.endswith("/me/"), (url, page[:500])

    output = demo.stop()
    assert demo.process.returncode == 0, output
    tail = output[output.index("Stopping...") :]
    for name in ("web", "worker", "gateway", "simulator"):
        assert f"{name:<10}stopped\n" in tail, tail
    assert tail.rstrip().endswith("ontrack demo stopped."), tail
    assert "Traceback" not in output, output
    gateway_log = (logs / "gateway.log").read_text()
    assert gateway_log.count("gateway stopped") == 1, gateway_log[-2000:]
