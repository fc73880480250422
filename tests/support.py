"""Helpers for tests that run the `ontrack` command as a separate process."""

import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any


def cli_environment(home: Any) -> dict[str, str]:
    """The environment an operator's shell would give the `ontrack` command: its own state
    folder, production settings, the default SQLite database."""
    env = {**os.environ, "ONTRACK_HOME": str(home)}
    for name in ("DJANGO_SETTINGS_MODULE", "ONTRACK_DATABASE_URL", "ONTRACK_TEST_PASS"):
        env.pop(name, None)
    return env


_migrated_database: Path | None = None


def migrated(home: Path) -> None:
    """Give ``home`` the SQLite database `ontrack migrate` makes, for a test whose subject is
    not migrating: `ontrack migrate` runs once per test process, into a home of its own, and
    each home gets a copy (owner-only, as ontrack creates it). Running every migration takes
    seconds of CPU, which dozens of such tests would pay again and again."""
    global _migrated_database
    if _migrated_database is None:
        template = Path(tempfile.mkdtemp(prefix="ontrack-migrated-"))
        subprocess.run(
            [sys.executable, "-m", "ontrack.cli", "migrate"],
            env=cli_environment(template),
            check=True,
            capture_output=True,
        )
        _migrated_database = template / "ontrack.sqlite3"
    home.mkdir(parents=True, exist_ok=True)
    target = home / "ontrack.sqlite3"
    with sqlite3.connect(_migrated_database) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    target.chmod(0o600)


def photo_bytes(
    width: int = 64, height: int = 48, colour: tuple[int, int, int] = (140, 110, 90)
) -> bytes:
    """A real JPEG (uploads are decoded and re-encoded, so made-up bytes are refused)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="JPEG")
    return out.getvalue()


def free_port() -> int:
    """A TCP port nothing listens on now (for a process the test starts)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_url(url: str, *, timeout: float = 90) -> None:
    """Return once ``url`` answers 200, or fail saying how long it was given."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout:.0f} s")


def csp_violations_watched(page: Any) -> list[str]:
    """Collect what the browser refuses under the Content-Security-Policy on ``page`` (it
    says so on the console); a browser test's fixture fails the test if any is seen."""
    refused: list[str] = []

    def seen(message: Any) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", seen)
    return refused
