"""Helpers for tests that run the `ontrack` command as a separate process, and small
lookups many tests share."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.database_templates import copy_migrated_sqlite, shared_folder

if TYPE_CHECKING:
    from django.test.utils import CaptureQueriesContext

    from ontrack.accounts.models import User
    from ontrack.alerts.models import Alert
    from ontrack.participants.models import Participant
    from ontrack.reports.dashboard import Table
    from ontrack.reviews.models import SupervisionReview
    from ontrack.tracking.protocols.records import Record


def cli_environment(home: Any, *, own_static_files: bool = False) -> dict[str, str]:
    """The environment an operator's shell would give the `ontrack` command: its own state
    folder, production settings, the default SQLite database.

    The static files are collected once for the run, into its shared folder
    (``ONTRACK_STATIC_ROOT``): collecting them was most of each web process's start, in
    dozens of homes. ``own_static_files`` keeps them in the home, as by default."""
    env = {**os.environ, "ONTRACK_HOME": str(home)}
    for name in ("DJANGO_SETTINGS_MODULE", "ONTRACK_DATABASE_URL", "ONTRACK_TEST_PASS"):
        env.pop(name, None)
    if own_static_files:
        env.pop("ONTRACK_STATIC_ROOT", None)
    else:
        env["ONTRACK_STATIC_ROOT"] = str(shared_folder() / "static")
    return env


def migrated(home: Path) -> None:
    """Give ``home`` the SQLite database `ontrack migrate` makes, for a test whose subject is
    not migrating: a copy of the one migrated once per test run (``database_templates``)."""
    copy_migrated_sqlite(home / "ontrack.sqlite3")


def photo_bytes(
    width: int = 64, height: int = 48, colour: tuple[int, int, int] = (140, 110, 90)
) -> bytes:
    """A real JPEG (uploads are decoded and re-encoded, so made-up bytes are refused)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="JPEG")
    return out.getvalue()


def _ephemeral_ports_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


_PORT_BLOCK = 500
_handed_out: set[int] = set()


def free_port() -> int:
    """A TCP port nothing listens on now (for a server a test starts), never the same one
    twice in a test session.

    Not one the kernel picks (``bind(("", 0))``): that comes from the ephemeral range, from
    which every outgoing connection of every process (to PostgreSQL, to a web server under
    test) also takes its local port, so one of them could take it before the server binds,
    and the server would exit with "address already in use". Each xdist worker draws instead
    from a block of its own below the ephemeral range, skipping any port something holds."""
    import socket

    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    start = 10000 + worker * _PORT_BLOCK
    if start + _PORT_BLOCK > _ephemeral_ports_start():
        raise RuntimeError("too many test workers for the ports below the ephemeral range")
    for port in range(start, start + _PORT_BLOCK):
        if port in _handed_out:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port left in {start}-{start + _PORT_BLOCK - 1}")


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


def first_phone(participant: Participant) -> str:
    """The number a participant's texts come from and go to: their first phone. A test that
    asks has given the participant one, so its absence fails here, saying so."""
    phone = participant.phones.first()
    assert phone is not None, f"participant {participant.pk} has no phone"
    return phone.number


def raised_alert(
    *,
    participant_id: int,
    kind: str,
    source: str,
    occurred_at: dt.datetime,
    details: dict[str, object] | None = None,
    device_id: int | None = None,
    zone_id: int | None = None,
    min_priority: int | None = None,
    now: dt.datetime | None = None,
) -> Alert:
    """`alert_raise` for a test whose alert kind's rule is enabled (the defaults enable every
    kind): the alert it raised or counted an occurrence on, never None; a disabled rule fails
    here, saying so."""
    from ontrack.alerts.services import alert_raise

    alert = alert_raise(
        participant_id=participant_id,
        kind=kind,
        source=source,
        occurred_at=occurred_at,
        details=details,
        device_id=device_id,
        zone_id=zone_id,
        min_priority=min_priority,
        now=now,
    )
    assert alert is not None, f"the rule for {kind} alerts is disabled"
    return alert


def officer_of(participant: Participant) -> User:
    """The participant's case officer, for a test whose participant was enrolled with one
    (the fixtures give every participant an officer); its absence fails here, saying so."""
    officer = participant.officer
    assert officer is not None, f"participant {participant.pk} has no officer"
    return officer


def fix_position(record: Record) -> tuple[float, float]:
    """(lat, lon) of a decoded record that a test expects to be a fix with a position; an
    event, or a fix without a position, fails here, saying so."""
    from ontrack.tracking.protocols.records import Fix

    assert isinstance(record, Fix), f"not a fix: {record!r}"
    assert record.lat is not None, f"a fix without a position: {record!r}"
    assert record.lon is not None, f"a fix without a position: {record!r}"
    return record.lat, record.lon


def opened_review(
    participant: Participant, *, origin: str, now: dt.datetime | None = None
) -> SupervisionReview:
    """`review_open` for a participant whose case has a current plan: the review it opened
    (or the one already pending), never None; a case without a plan fails here, saying so."""
    from ontrack.reviews.services import review_open

    review = review_open(participant, origin=origin, now=now)
    assert review is not None, f"participant {participant.pk} has no current plan"
    return review


def total_row(table: Table) -> list[Any]:
    """A dashboard table's sum row, for a test of a table that has one (counts do); its
    absence fails here, saying so."""
    assert table.total is not None, f"the {table.key} table has no total row"
    return table.total


def sqlite_plans(queries: CaptureQueriesContext, containing: str) -> list[str]:
    """SQLite's plan (``EXPLAIN QUERY PLAN``, its lines joined) of each captured query whose
    SQL contains ``containing``: what a query reads is what decides its time on a large
    database, and SQLite chooses it without statistics (the app never runs ANALYZE)."""
    from django.db import connection

    plans = []
    for query in queries.captured_queries:
        if containing not in query["sql"]:
            continue
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {query['sql']}")
            plans.append("; ".join(str(row[-1]) for row in cursor.fetchall()))
    return plans


def migrate_to(targets: list[tuple[str, str]]) -> Any:
    """Migrate the test database to ``targets`` (app, migration); the app registry of that
    state, for a test of a data migration to write rows as they were then."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest_migrations() -> list[tuple[str, str]]:
    """Every app's latest migration: going back in one app also unapplies the other apps'
    migrations that depend on it, and the database must be whole again afterwards."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    return list(MigrationExecutor(connection).loader.graph.leaf_nodes())
