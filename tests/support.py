"""Helpers for tests that run the `ontrack` command as a separate process."""

import os
from typing import Any


def cli_environment(home: Any) -> dict[str, str]:
    """The environment an operator's shell would give the `ontrack` command: its own state
    folder, production settings, the default SQLite database."""
    env = {**os.environ, "ONTRACK_HOME": str(home)}
    for name in ("DJANGO_SETTINGS_MODULE", "ONTRACK_DATABASE_URL", "ONTRACK_TEST_PASS"):
        env.pop(name, None)
    return env
