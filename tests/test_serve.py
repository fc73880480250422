"""``ontrack serve`` as an operator runs it: the web process reports a heartbeat while it
runs, marks it stopped when it stops, and a stop is one line."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from tests.support import cli_environment, free_port, migrated


def _web_beats(database: Path) -> list[tuple[str, str | None, dict[str, object]]]:
    with sqlite3.connect(database, timeout=30) as db:
        rows = db.execute(
            "select instance, stopped_at, details from operations_heartbeat where kind = 'web'"
        ).fetchall()
    return [(instance, stopped, json.loads(details)) for instance, stopped, details in rows]


def test_importing_the_asgi_application_starts_no_thread() -> None:
    import ontrack.asgi

    assert ontrack.asgi.application is not None
    assert not [t.name for t in threading.enumerate() if t.name.startswith("heartbeat")]


def test_the_web_process_beats_while_it_serves_and_says_when_it_stopped(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**cli_environment(home), "ONTRACK_HEARTBEAT_S": "0.5"}
    cli = [sys.executable, "-m", "ontrack.cli"]
    migrated(home)
    port = free_port()
    log = tmp_path / "web.log"
    with log.open("w") as out:
        web = subprocess.Popen(
            [*cli, "serve", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    database = home / "ontrack.sqlite3"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the web app answered:\n" + log.read_text()
                time.sleep(0.3)
        deadline = time.monotonic() + 10
        while not any(d.get("requests") for _, s, d in _web_beats(database) if s is None):
            assert time.monotonic() < deadline, f"a running web heartbeat: {_web_beats(database)}"
            time.sleep(0.2)
        [(instance, _, _)] = _web_beats(database)
        assert instance.endswith(f":{web.pid}")
    finally:
        web.send_signal(signal.SIGINT)
        web.wait(timeout=30)
    output = log.read_text()
    assert web.returncode == 0, output
    [(_, stopped_at, _)] = _web_beats(database)
    assert stopped_at is not None, "the heartbeat row says the web process stopped"
    assert output.count("web stopped") == 1, output
    assert "Shutting down" not in output, output
    assert "Traceback" not in output, output


def test_a_forwarded_for_header_is_not_believed_without_a_configured_proxy(
    tmp_path: Path,
) -> None:
    """Believing X-Forwarded-For from anyone let a client rotate addresses past the sign-in
    lock-out and write a false address into the access log."""
    home = tmp_path / "home"
    env = cli_environment(home)
    cli = [sys.executable, "-m", "ontrack.cli"]
    migrated(home)
    port = free_port()
    log = tmp_path / "web.log"
    with log.open("w") as out:
        web = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, stdout=out,
                               stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/healthz", headers={"X-Forwarded-For": "203.0.113.9"}
        )
        while True:
            try:
                with urllib.request.urlopen(request, timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the web app answered:\n" + log.read_text()
                time.sleep(0.3)
        time.sleep(0.5)
    finally:
        web.send_signal(signal.SIGTERM)
        web.wait(timeout=30)
    text = log.read_text()
    assert "/healthz" in text, text
    assert "203.0.113.9" not in text, "the forwarded address was taken as the client's"
