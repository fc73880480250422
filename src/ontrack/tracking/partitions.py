"""Day partitions of the positions table on PostgreSQL (a no-op on SQLite).

Why partitions: retention then drops a whole day with ``DROP TABLE`` (instant, no bloat, no
long lock on the table the gateway writes to) instead of deleting millions of rows.

The parent table has a DEFAULT partition, so an insert is never refused for want of a
partition (a device replaying last month's memory, a clock gone wrong). Day partitions are
created ahead by :func:`positions_ensure_partitions` (called nightly and by ``store_batch``
for a day it has not seen yet); rows that already landed in the default partition for that
day are moved into the new partition in the same transaction, because PostgreSQL refuses to
attach a partition whose range still has rows in the default.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterable

from django.db import connection, transaction
from django.utils import timezone

PARENT = "tracking_position"
DEFAULT_PARTITION = "tracking_position_default"
_NAME = re.compile(r"^tracking_position_p(\d{8})$")
# An arbitrary fixed key for pg_advisory_xact_lock: two gateways creating the same day's
# partition at the same moment queue instead of failing.
_LOCK_KEY = 0x6F6E747261636B

_known: set[dt.date] = set()
_known_lock = threading.Lock()


def is_partitioned() -> bool:
    return connection.vendor == "postgresql"


def partition_name(day: dt.date) -> str:
    return f"{PARENT}_p{day:%Y%m%d}"


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=1)


def existing_partitions() -> dict[dt.date, str]:
    """Day -> table name of every day partition attached to the positions table."""
    if not is_partitioned():
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [PARENT],
        )
        names = [row[0] for row in cursor.fetchall()]
    days: dict[dt.date, str] = {}
    for name in names:
        match = _NAME.match(name)
        if match:
            days[dt.date.fromisoformat(match.group(1))] = name
    return days


def forget_known_partitions() -> None:
    """Drop the in-memory cache (after partitions were dropped, or between tests)."""
    with _known_lock:
        _known.clear()


def positions_ensure_days(days: Iterable[dt.date]) -> list[dt.date]:
    """Make sure each UTC day has its own partition; returns the days created now.

    Cheap when every day is already known to this process: no query at all.
    """
    if not is_partitioned():
        return []
    wanted = set(days) - _known
    if not wanted:
        return []
    created: list[dt.date] = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        present = existing_partitions()
        for day in sorted(wanted - present.keys()):
            _create_partition(cursor, day)
            created.append(day)
    with _known_lock:
        _known.update(wanted)
    return created


def _create_partition(cursor: object, day: dt.date) -> None:
    name = partition_name(day)
    start, end = _day_bounds(day)
    execute = cursor.execute  # type: ignore[attr-defined]
    execute(f'CREATE TABLE "{name}" (LIKE "{PARENT}" INCLUDING DEFAULTS)')
    execute(
        f'WITH moved AS (DELETE FROM "{DEFAULT_PARTITION}" '  # noqa: S608
        f'WHERE "time" >= %s AND "time" < %s RETURNING *) '
        f'INSERT INTO "{name}" SELECT * FROM moved',
        [start, end],
    )
    execute(
        f'ALTER TABLE "{PARENT}" ATTACH PARTITION "{name}" FOR VALUES FROM (%s) TO (%s)',
        [start, end],
    )


def positions_ensure_partitions(
    days_ahead: int = 7, *, today: dt.date | None = None
) -> list[dt.date]:
    """Create the partitions for yesterday, today and ``days_ahead`` days to come."""
    first = today or timezone.now().astimezone(dt.UTC).date()
    days = [first + dt.timedelta(days=offset) for offset in range(-1, days_ahead + 1)]
    return positions_ensure_days(days)


def positions_drop_partitions_before(day: dt.date) -> tuple[int, int]:
    """Drop every day partition for days before ``day``; returns (partitions, rows) dropped.

    Rows are counted before the drop so that the purge can report what it removed.
    """
    if not is_partitioned():
        return 0, 0
    dropped = rows = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        for old_day, name in sorted(existing_partitions().items()):
            if old_day >= day:
                continue
            cursor.execute(f'SELECT count(*) FROM "{name}"')  # noqa: S608
            rows += cursor.fetchone()[0]
            cursor.execute(f'DROP TABLE "{name}"')
            dropped += 1
    forget_known_partitions()
    return dropped, rows
