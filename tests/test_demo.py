"""`ontrack demo` as a user starts it: a real process tree, real HTTP, the printed logins."""

import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.support import cli_environment, migrated


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
