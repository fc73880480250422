"""What ontrack writes under ONTRACK_HOME is readable by its owner only: the database holds
people's records, the photos their faces, the spool their positions."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest


def test_the_database_and_secret_key_are_owner_only(cli_env: dict[str, str]) -> None:
    home = Path(cli_env["ONTRACK_HOME"])
    # The first command run in a new home creates both (any command that opens the database;
    # this one reads it only, where a first `ontrack migrate` costs about 15 s of CPU).
    subprocess.run(
        [sys.executable, "-m", "ontrack.cli", "manage", "showmigrations", "--plan"],
        env=cli_env, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    for path in (home / "ontrack.sqlite3", home / "secret_key"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path.name} is {oct(mode)}"


def test_a_secret_key_another_process_made_meanwhile_is_the_one_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes started together in a new home both find no key; the one that writes
    second keeps the first one's key instead of crashing (it did: FileExistsError)."""
    from ontrack import settings as ontrack_settings

    monkeypatch.delenv("ONTRACK_SECRET_KEY", raising=False)
    monkeypatch.setattr(ontrack_settings, "ONTRACK_HOME", tmp_path)
    (tmp_path / "secret_key").write_text("the-first-process-key\n")
    real_exists = Path.exists
    monkeypatch.setattr(  # it looked just before the other process linked its key
        Path, "exists", lambda path: False if path.name == "secret_key" else real_exists(path)
    )
    assert ontrack_settings._secret_key() == "the-first-process-key"
    assert [path.name for path in tmp_path.iterdir()] == ["secret_key"], "no file left behind"
