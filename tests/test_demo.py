"""`ontrack demo` as a user starts it: a real process tree, real HTTP, the printed logins."""

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
from pathlib import Path
from typing import Any

import pytest

from tests.support import cli_environment, free_port, migrated, wait_for_url


def _csrf_token(page: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def _positions_stored(database: Path, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline and count == 0:
        time.sleep(1)
        with sqlite3.connect(database, timeout=10) as db:
            count = db.execute("select count(*) from tracking_position").fetchone()[0]
    return count


def test_help_lists_the_subcommands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ontrack.cli", "--help"], capture_output=True, text=True, check=True
    )
    for command in ["demo", "serve", "migrate", "seed", "createuser", "import", "worker"]:
        assert re.search(rf"^\s+{command}\b", result.stdout, re.M), command


def test_seed_is_reproducible(tmp_path: Path) -> None:
    def names(home: Path) -> list[Any]:
        migrated(home)
        env = cli_environment(home)
        subprocess.run(
            [sys.executable, "-m", "ontrack.cli", "seed", "--participants", "30", "--seed", "7"],
            env=env,
            check=True,
            capture_output=True,
        )
        with sqlite3.connect(home / "ontrack.sqlite3") as db:
            return db.execute(
                "select case_number, given_name, family_name, preferred_language "
                "from participants_participant order by id"
            ).fetchall()

    first, second = names(tmp_path / "a"), names(tmp_path / "b")
    assert len(first) == 30
    assert first == second
    assert len({row[3] for row in first}) >= 3  # several languages


@pytest.mark.xdist_group("demo-gateway-ports")
def test_demo_serves_the_console_and_the_demo_logins_work(
    migrated_cli_env: dict[str, str],
) -> None:
    # From the migrated database: a demo on a fresh clone, migrating too, is
    # tests/system/test_demo_lives.py.
    port = free_port()
    env = migrated_cli_env
    demo = subprocess.Popen(
        [sys.executable, "-m", "ontrack.cli", "demo", "--port", str(port), "--participants", "120"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_url(base + "/healthz")
        # This install's own password, as the README says where it is kept.
        password = (Path(env["ONTRACK_HOME"]) / "demo-password").read_text().strip()
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(base + "/login/").read().decode()
        token = _csrf_token(page)
        form = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": token,
                "username": "supervisor",
                "password": password,
            }
        ).encode()
        request = urllib.request.Request(
            base + "/login/", data=form, headers={"Referer": base + "/login/"}
        )
        second_factor = opener.open(request).read().decode()
        assert "<h1>Second factor</h1>" in second_factor
        # As the closing block says: the code from `ontrack totp` in another terminal.
        code = subprocess.run(
            [sys.executable, "-m", "ontrack.cli", "totp", "supervisor"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[0]
        token = _csrf_token(second_factor)
        form = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "code": code, "next": "/"}
        ).encode()
        request = urllib.request.Request(
            base + "/account/second-factor/", data=form, headers={"Referer": base + "/"}
        )
        caseload = opener.open(request).read().decode()
        assert "<h1>Caseload</h1>" in caseload
        assert re.search(r"\d+ participants", caseload)
        assert opener.open(base + "/api/openapi.json").status == 200
        # The simulator's wearers report through the gateway into the database.
        stored = _positions_stored(Path(env["ONTRACK_HOME"]) / "ontrack.sqlite3", timeout=60)
        assert stored > 0, "no simulated position reached the database within 60 s"
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            output, _ = demo.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            raise
    assert f"ontrack demo is running at http://127.0.0.1:{port}/" in output
    assert "supervisor" in output
    assert f"password for every account: {password}" in output, "the closing block says it"
    assert "ontrack-demo-2026" not in output, "never the password published with the code"
    assert "uv run ontrack totp officer1" in output
    assert re.search(r"6 digits\): ([A-Z2-7]{4} ){7}[A-Z2-7]{4}\n", output), (
        "the demo prints no authenticator key"
    )
    assert demo.returncode == 0, output


def test_createtoken_prints_a_token_that_the_api_accepts(migrated_cli_env: dict[str, str]) -> None:
    run = [sys.executable, "-m", "ontrack.cli"]
    subprocess.run(
        [*run, "seed", "--participants", "5", "--offices", "1"],
        env=migrated_cli_env,
        check=True,
        capture_output=True,
    )
    made = subprocess.run(
        [*run, "createtoken", "officer1", "--name", "crm"],
        env=migrated_cli_env,
        capture_output=True,
        text=True,
        check=True,
    )
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("ot_")
    check = subprocess.run(
        [
            *run,
            "manage",
            "shell",
            "-c",
            f"from ontrack.accounts.services import api_token_authenticate as a; "
            f"print(a({secret!r}).username)",
        ],
        env=migrated_cli_env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout.strip().splitlines()[-1] == "officer1"
    refused = subprocess.run(
        [*run, "createtoken", "nobody"], env=migrated_cli_env, capture_output=True, text=True
    )
    assert refused.returncode == 2
    assert "no active staff member" in refused.stderr


def test_totp_prints_a_demo_logins_code_and_no_one_elses(migrated_cli_env: dict[str, str]) -> None:
    """The seeded logins share one authenticator key the demo prints; `ontrack totp` reads
    their code out, and refuses for an account made any other way."""
    run = [sys.executable, "-m", "ontrack.cli"]
    subprocess.run(
        [*run, "seed", "--participants", "5", "--offices", "1"],
        env=migrated_cli_env,
        check=True,
        capture_output=True,
    )
    shown = subprocess.run(
        [*run, "totp", "officer1"], env=migrated_cli_env, capture_output=True, text=True, check=True
    )
    assert re.match(r"\d{6}  \(current for \d+ more seconds", shown.stdout), shown.stdout
    subprocess.run(
        [*run, "createuser", "rosa", "--role", "auditor"],
        env={**migrated_cli_env, "ONTRACK_PASSWORD": "a long enough passphrase 2026"},
        check=True,
        capture_output=True,
    )
    refused = subprocess.run(
        [*run, "totp", "rosa"], env=migrated_cli_env, capture_output=True, text=True
    )
    assert refused.returncode == 2
    assert "not one of the demo's seeded logins" in refused.stderr
    with sqlite3.connect(Path(migrated_cli_env["ONTRACK_HOME"]) / "ontrack.sqlite3") as db:
        keys = db.execute(
            "select count(*), count(distinct key) from otp_totp_totpdevice"
        ).fetchone()
    assert keys[0] >= 5, "every seeded login shares the one demo key"
    assert keys[1] == 1, "every seeded login shares the one demo key"
