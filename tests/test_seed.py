"""`ontrack seed` and the demo's logins: the password is this install's own (random, kept
owner-only, printed), and seeding a database that holds anything but demo data is refused
unless asked for."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password

from ontrack.accounts.models import Office, Program, Role, User
from ontrack.participants.models import Participant
from ontrack.seed import DEMO_PROGRAM, SeedRefused, demo_password, seed
from tests.conftest import PASSWORD
from tests.support import cli_environment, migrated


def test_the_demo_password_is_random_per_install_owner_only_and_the_same_next_time(
    tmp_path: Path, settings: Any
) -> None:
    settings.ONTRACK_HOME = tmp_path / "one"
    settings.ONTRACK_HOME.mkdir()
    first = demo_password()
    assert first == demo_password(), "a restarted demo shows the same password"
    kept = tmp_path / "one" / "demo-password"
    assert kept.read_text().strip() == first
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert len(first) >= 16
    assert first != "ontrack-demo-2026"
    settings.ONTRACK_HOME = tmp_path / "two"
    settings.ONTRACK_HOME.mkdir()
    assert demo_password() != first, "another install, another password"


@pytest.mark.django_db
def test_seed_refuses_a_database_with_staff_that_are_not_demo_data(
    make_user: Callable[..., User],
) -> None:
    make_user(Role.SUPERVISOR, username="sam")
    with pytest.raises(SeedRefused, match="1 staff account that are not demo data"):
        seed(participants=2, offices=1, officers_per_office=1)
    assert not Program.objects.filter(name=DEMO_PROGRAM).exists(), "nothing was written"
    assert not User.objects.filter(username="admin").exists()


@pytest.mark.django_db
def test_seed_refuses_a_database_with_participants_of_another_program(
    make_participant: Callable[..., Participant],
) -> None:
    make_participant()
    with pytest.raises(SeedRefused, match="1 participant and 1 staff account"):
        seed(participants=2, offices=1, officers_per_office=1)


@pytest.mark.django_db
def test_seed_into_an_existing_database_leaves_its_data_and_a_namesake_account_alone(
    make_user: Callable[..., User],
) -> None:
    real_admin = make_user(Role.ADMINISTRATOR, office=None, username="admin")
    result = seed(participants=3, offices=1, officers_per_office=1, into_existing=True)
    real_admin.refresh_from_db()
    assert real_admin.check_password(PASSWORD)
    assert not real_admin.is_superuser
    assert real_admin.office is None
    assert result.staff == 4, "officer1, supervisor, operator and auditor; not the real admin"
    demo_officer = User.objects.get(username="officer1")
    assert demo_officer.check_password(demo_password())
    assert demo_officer.office is not None
    assert demo_officer.office.program.name == DEMO_PROGRAM
    assert set(Participant.objects.values_list("program__name", flat=True)) == {DEMO_PROGRAM}


def _ontrack(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**cli_environment(home), "ONTRACK_PASSWORD": PASSWORD, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "ontrack.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_seed_command_prints_the_installs_password_which_the_demo_staff_have(
    tmp_path: Path,
) -> None:
    migrated(tmp_path)  # the subject is seeding; `ontrack migrate` has tests of its own
    seeded = _ontrack(tmp_path, "seed", "--participants", "3", "--offices", "1")
    assert seeded.returncode == 0, seeded.stderr
    password = (tmp_path / "demo-password").read_text().strip()
    assert f"sign in with the password {password}" in seeded.stdout
    assert "ontrack-demo-2026" not in seeded.stdout
    with sqlite3.connect(tmp_path / "ontrack.sqlite3") as db:
        hashes = dict(db.execute("select username, password from accounts_user").fetchall())
    assert check_password(password, hashes["admin"])
    assert check_password(password, hashes["officer1"])


def test_seed_command_refuses_a_database_with_real_staff_unless_told_into_existing(
    tmp_path: Path,
) -> None:
    migrated(tmp_path)
    made = _ontrack(tmp_path, "createuser", "ada", "--role", "administrator")
    assert made.returncode == 0, made.stderr
    refused = _ontrack(tmp_path, "seed", "--participants", "3", "--offices", "1")
    assert refused.returncode == 2
    assert "1 staff account that are not demo data" in refused.stderr
    assert "--into-existing" in refused.stderr
    with sqlite3.connect(tmp_path / "ontrack.sqlite3") as db:
        assert db.execute("select username from accounts_user").fetchall() == [("ada",)]
    seeded = _ontrack(tmp_path, "seed", "--participants", "3", "--offices", "1", "--into-existing")
    assert seeded.returncode == 0, seeded.stderr
    with sqlite3.connect(tmp_path / "ontrack.sqlite3") as db:
        (count,) = db.execute("select count(*) from participants_participant").fetchone()
    assert count == 3


@pytest.mark.django_db
def test_seeding_into_a_database_already_seeded_adds_a_second_set() -> None:
    first = seed(participants=3, offices=1, officers_per_office=1)
    second = seed(participants=3, offices=1, officers_per_office=1, into_existing=True)
    assert Participant.objects.count() == first.participants + second.participants


@pytest.mark.django_db
def test_the_demo_offices_stand_where_their_addresses_are_so_the_zone_editor_opens_there() -> None:
    seed(participants=1, offices=2, officers_per_office=1)
    places = {office.name: office.location for office in Office.objects.all()}
    assert places["Newark Field Office"] == pytest.approx((40.74, -74.17), abs=0.01)
    assert places["Miami Field Office"] == pytest.approx((26.12, -80.32), abs=0.01)
