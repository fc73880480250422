"""What ontrack writes under ONTRACK_HOME is readable by its owner only: the database holds
people's records, the photos their faces, the spool their positions."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path


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
