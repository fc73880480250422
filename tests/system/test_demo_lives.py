"""`ontrack demo` on a fresh home lives within about two minutes: every office's alert queue
holds alerts that the simulated wearers raised (through the gateway, the zone engine and the
worker's watchdogs), and the pages a visitor opens first show a history, not empty tables.

Everything is read the way a person reads it: signed in over HTTP as the demo's operator and
supervisor. The seeded history holds no open alert, so an open device alert can only have
come from the running processes; a message-gap alert only from the worker's silence
watchdog, so the test fails if the worker never ran.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from html import unescape
from pathlib import Path

import pytest

from tests.support import cli_environment, free_port, wait_for_url

# A whole demo of its own, beside the system tests on the other worker.
pytestmark = pytest.mark.xdist_group("demo-lives")

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
    """A signed-in session over plain HTTP (cookies and the forms' CSRF tokens): the demo
    password, then the second factor from ``ontrack totp``, as the demo's closing block
    tells a person to."""

    def __init__(self, base: str, username: str, password: str, env: dict[str, str]) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        page = self.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, "the login page has no CSRF token"
        form = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token.group(1), "username": username, "password": password}
        ).encode()
        request = urllib.request.Request(
            base + "/login/", data=form, headers={"Referer": base + "/login/"}
        )
        asked = self.opener.open(request, timeout=30).read().decode()
        assert "Second factor" in asked, f"{username}'s password was refused"
        code = subprocess.run(
            [sys.executable, "-m", "ontrack.cli", "totp", username],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[0]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', asked)
        assert token, "the second factor's page has no CSRF token"
        form = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token.group(1), "code": code, "next": "/"}
        ).encode()
        request = urllib.request.Request(
            base + "/account/second-factor/", data=form, headers={"Referer": base + "/"}
        )
        landing = self.opener.open(request, timeout=30).read().decode()
        assert "Sign out" in landing, f"{username} could not sign in"
        assert "Second factor" not in landing, f"{username} could not sign in"

    def get(self, path: str) -> str:
        # Generous: on two shared cores the first minute (seeding done, every process
        # starting, the worker catching up on its jobs) can hold a request for a while.
        with self.opener.open(self.base + path, timeout=90) as response:
            return str(response.read().decode())


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


def test_demo_shows_live_alerts_in_every_office_within_two_and_a_half_minutes(
    tmp_path: Path,
) -> None:
    port = free_port()
    # Its own gateway ports and no MQTT broker, so that no other demo on this machine feeds
    # its wearers to this one (or the other way round).
    gateway = [
        flag
        for name in (
            "gt06",
            "teltonika",
            "osmand",
            "h02",
            "watch",
            "tk103",
            "queclink",
            "meitrack",
            "suntech",
        )
        for flag in (f"--{name}-port", str(free_port()))
    ]
    env = cli_environment(tmp_path / "home")
    started = time.monotonic()
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ontrack.cli",
            "demo",
            "--port",
            str(port),
            *gateway,
            "--mqtt-host",
            "off",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_url(base + "/healthz", timeout=DEADLINE_S)
        # The install's own demo password, kept in $ONTRACK_HOME/demo-password (README).
        password = (tmp_path / "home" / "demo-password").read_text().strip()
        operator = _Browser(base, "operator", password, env)
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
            if lively or time.monotonic() - started > DEADLINE_S:
                break
            time.sleep(5)
        elapsed = time.monotonic() - started
        assert lively, (
            f"after {elapsed:.0f} s, open device alerts per office were {kinds}; expected at "
            "least three kinds in each, message gaps (the worker's silence watchdog) among them"
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
        supervisor = _Browser(base, "supervisor", password, env)
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
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.communicate()
