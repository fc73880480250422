"""Databases migrated once per test run and copied for each test process that needs one.

Running every migration costs about ten seconds of CPU. A run used to pay it for each xdist
worker's test database on each pass, for each worker's first `ontrack` subprocess home and for
each running system; on the two-CPU CI machine that was close to a minute of wall time. Now
the first process that needs a migrated database makes it under a lock in the run's shared
folder, and everyone else copies it: a SQLite file through SQLite's backup API, a PostgreSQL
database with ``CREATE DATABASE ... TEMPLATE``. Whoever then opens the copy still runs
``migrate`` (pytest-django with ``keepdb``, the harness's ``ontrack migrate``), which finds
nothing to apply, so a migration that the template somehow lacked would still be applied.

The controller process of each pass names the shared folder in ``ONTRACK_TEST_SHARED``
(``tests/conftest.py``); xdist workers and the second pass inherit it. A process started
without it (a bare ``python -m pytest -p no:xdist`` in a subprocess) gets a folder of its own.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

SHARED_FOLDER_VARIABLE = "ONTRACK_TEST_SHARED"

_own_folder: Path | None = None


def shared_folder() -> Path:
    global _own_folder
    if named := os.environ.get(SHARED_FOLDER_VARIABLE):
        return Path(named)
    if _own_folder is None:
        _own_folder = Path(tempfile.mkdtemp(prefix="ontrack-test-shared-"))
    return _own_folder


@contextmanager
def _locked(name: str) -> Iterator[Path]:
    folder = shared_folder()
    with (folder / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield folder
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _ontrack_migrate(home: Path, database_url: str | None = None) -> None:
    env = {**os.environ, "ONTRACK_HOME": str(home)}
    for name in ("DJANGO_SETTINGS_MODULE", "ONTRACK_DATABASE_URL", "ONTRACK_TEST_PASS"):
        env.pop(name, None)
    if database_url:
        env["ONTRACK_DATABASE_URL"] = database_url
    subprocess.run(
        [sys.executable, "-m", "ontrack.cli", "migrate"], env=env, check=True, capture_output=True
    )


def migrated_sqlite() -> Path:
    """The run's SQLite file as ``ontrack migrate`` leaves it (made on first use)."""
    with _locked("sqlite") as folder:
        template = folder / "migrated.sqlite3"
        if not template.exists():
            home = Path(tempfile.mkdtemp(prefix="migrating-", dir=folder))
            _ontrack_migrate(home)
            (home / "ontrack.sqlite3").rename(template)
        return template


def copy_migrated_sqlite(target: Path) -> None:
    """Write a copy of the run's migrated SQLite database to ``target`` (owner-only, as
    ontrack creates it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(migrated_sqlite()) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    target.chmod(0o600)


def migrated_postgres(server: str) -> str:
    """The name of the run's migrated PostgreSQL database on ``server`` (made on first use);
    nobody stays connected to it, as PostgreSQL copies only a database nobody uses."""
    import psycopg

    with _locked("postgres") as folder:
        recorded = folder / "postgres-template"
        if recorded.exists():
            return recorded.read_text()
        name = f"ontrack_template_{os.getpid()}"
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')
        _ontrack_migrate(
            Path(tempfile.mkdtemp(prefix="migrating-", dir=folder)),
            urlsplit(server)._replace(path=f"/{name}").geturl(),
        )
        recorded.write_text(name)
        return name


def create_migrated_postgres(server: str, name: str) -> None:
    """Create database ``name`` on ``server`` as a copy of the run's migrated template."""
    import psycopg

    template = migrated_postgres(server)
    with _locked("postgres"), psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def drop_postgres(server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_postgres_template(server: str) -> None:
    """Drop the run's PostgreSQL template, if one was made (the controller, at the end)."""
    recorded = shared_folder() / "postgres-template"
    if recorded.exists():
        drop_postgres(server, recorded.read_text())
