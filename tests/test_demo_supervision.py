"""``ontrack demo`` as a user runs it: a console of one line per process ending in how to sign
in, children logging to ``$ONTRACK_HOME/logs/``, a killed child started again, and a stop
that says one line per process.

One demo serves the whole story (seeding and starting four processes is the slow part).
Its gateway runs on free ports with MQTT off, so that another demo on this machine, on the
default ports, is neither disturbed nor fed this one's wearers.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support import cli_environment, free_port, migrated

STARTED = re.compile(r"^(\w+)\s+started \(pid (\d+)\), log: (\S+)$", re.M)


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


class Browser:
    """A cookie-keeping HTTP client that posts Django forms with their CSRF token."""

    def __init__(self, base: str) -> None:
        self.base = base
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def post_form(self, path: str, fields: dict[str, str]) -> tuple[str, str]:
        """(final URL after redirects, page) of submitting the form at ``path``."""
        page = self.opener.open(self.base + path).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, f"a form at {path}"
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": token.group(1), **fields}).encode()
        with self.opener.open(urllib.request.Request(self.base + path, data=data)) as response:
            return response.geturl(), response.read().decode()


def test_demo_console_restarts_and_portal_sign_in(tmp_path: Path) -> None:
    home = tmp_path / "home"
    migrated(home)  # migrating on a fresh clone is tests/system/test_demo_lives.py's
    env = {**cli_environment(home), "ONTRACK_HEARTBEAT_S": "1"}
    port = free_port()
    flags = ["--gt06-port", str(free_port()), "--teltonika-port", str(free_port()),
             "--osmand-port", str(free_port()), "--h02-port", str(free_port()),
             "--watch-port", str(free_port()), "--tk103-port", str(free_port()),
             "--queclink-port", str(free_port()), "--meitrack-port", str(free_port()),
             "--suntech-port", str(free_port()), "--mqtt-host", "off"]  # fmt: skip
    console_file = tmp_path / "console.txt"
    with console_file.open("w") as out:
        demo = subprocess.Popen(
            [sys.executable, "-m", "ontrack.cli", "demo", "--port", str(port),
             "--participants", "120", "--simulated-devices", "60", *flags],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def console() -> str:
        return console_file.read_text()

    database = home / "ontrack.sqlite3"
    logs = home / "logs"
    try:
        _eventually(lambda: "Press Ctrl-C to stop." in console(), 240, "the demo is ready")
        text = console()
        started = _started(text)
        assert set(started) == {"web", "worker", "gateway", "simulator"}, text
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
        assert f"http://127.0.0.1:{port}/" in block
        for username in ("officer1", "supervisor", "operator", "admin", "auditor"):
            assert username in block
        assert "PIN 2468" in block
        shown = re.search(r"password for every account: ([a-z0-9-]+)\)", block)
        assert shown, block
        assert shown.group(1) == (home / "demo-password").read_text().strip(), (
            "the block shows this install's own demo password"
        )
        assert "ontrack-demo-2026" not in text
        phone_match = re.search(r"phone number (\+\d+)", block)
        assert phone_match, block
        phone = phone_match.group(1)
        assert "logs/worker.log" in block, "where to find the sign-in code"

        # Kill the worker: the console says so and a new one beats.
        old_worker = started["worker"][0]
        os.kill(old_worker, signal.SIGKILL)
        _eventually(
            lambda: "worker    exited with code -9; restarting in 1 s" in console(),
            15,
            "the console reports the dead worker",
        )
        _eventually(lambda: len(_started(console())["worker"]) == 2, 15, "a new worker starts")
        new_worker = _started(console())["worker"][1]
        assert new_worker != old_worker
        _eventually(
            lambda: _running_beat(database, "worker", new_worker), 60, "the new worker beats"
        )

        # The printed phone number and PIN sign in to the portal; the code is in worker.log.
        browser = Browser(f"http://127.0.0.1:{port}")
        url, _ = browser.post_form("/me/sign-in/", {"phone": phone})
        assert url.endswith("/me/code/"), url
        code_line = re.compile(rf"sms to {re.escape(phone)}\].*?\b(\d{{6}})\b")
        code = _eventually(
            lambda: code_line.findall((logs / "worker.log").read_text()),
            60,
            "the restarted worker texts the sign-in code",
        )[-1]
        url, _ = browser.post_form("/me/code/", {"code": code})
        assert url.endswith("/me/pin/"), url
        url, page = browser.post_form("/me/pin/", {"pin": "2468"})
        assert url.endswith("/me/"), (url, page[:500])
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            raise
    output = console()
    assert demo.returncode == 0, output
    tail = output[output.index("Stopping...") :]
    for name in ("web", "worker", "gateway", "simulator"):
        assert f"{name:<10}stopped\n" in tail, tail
    assert tail.rstrip().endswith("ontrack demo stopped."), tail
    assert "Traceback" not in output, output
    gateway_log = (logs / "gateway.log").read_text()
    assert gateway_log.count("gateway stopped") == 1, gateway_log[-2000:]
    assert "CancelledError" not in gateway_log
    assert "Traceback" not in gateway_log
    assert "simulator stopped" in (logs / "simulator.log").read_text()
    assert "web stopped" in (logs / "web.log").read_text()
