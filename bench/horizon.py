"""Check-in windows kept a rolling horizon ahead: the initial horizon for everyone, then the
nightly extension one day later, each the job as the worker runs it, against a raw bulk
insert of the same rows.

    uv run python bench/horizon.py           # 100,000 participants
    uv run python bench/horizon.py --quick   # 5,000 participants (< 1 min in all)
    uv run python bench/horizon.py --postgres postgresql://postgres@127.0.0.1:5432/postgres

SQLite always (a temp dir); PostgreSQL too when ``--postgres`` (or ``ONTRACK_BENCH_POSTGRES``)
names a server: the bench creates a scratch database there and drops it after. Each database
runs in a process of its own (Django is set up once per process).

Data: ``bench/schedule.py``'s (40 offices in four US time zones, a schedule per participant
with mixed cadences, 08:00-20:00 in their own zone), as of 2026-02-20 12:00 UTC so that the
60-day horizon (``ONTRACK_SCHEDULE_HORIZON_DAYS``) crosses the March daylight-saving change.

- initial: ``schedule.services.windows.windows_generate_due`` (the worker's
  ``checkin_windows_generate``) with no window yet: every schedule to the horizon;
- nightly: the same job one day later: every schedule one day further;
- baseline (same run): the windows each step wrote are read back, deleted and inserted
  again with one ``executemany`` per 100,000 rows, timed over the inserts only;
- on PostgreSQL, ``VACUUM ANALYZE`` after the set-up and after each baseline (not timed),
  as autovacuum would have by then.

The last two lines are ``RESULT horizon_nightly_s=<seconds> s baseline=<raw insert s>
ratio=<first / second>`` and ``RESULT horizon_initial_s=...`` (SQLite).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import schedule as schedule_bench  # noqa: E402  (bench/schedule.py: set-up and data)

NOW = dt.datetime(2026, 2, 20, 12, tzinfo=dt.UTC)
_RESULT = re.compile(r"^RESULT (\S+)=(\S+) s baseline=(\S+) ratio=(\S+)$", re.MULTILINE)


def _max_window_id() -> int:
    from django.db.models import Max

    from ontrack.schedule.models import CheckinWindow

    return CheckinWindow.objects.aggregate(top=Max("pk"))["top"] or 0


def _step(name: str, now: dt.datetime) -> tuple[int, float, float]:
    """Run the worker's job as of ``now`` and time it, check that a second run finds nothing
    left to do, then time the raw insert of the rows it wrote: (rows, seconds, raw seconds)."""
    from ontrack.schedule.services.windows import windows_generate_due

    above = _max_window_id()
    started = time.perf_counter()
    created = windows_generate_due(now=now)
    spent = time.perf_counter() - started
    again = windows_generate_due(now=now)
    assert again == 0, f"{name}: a second run still wrote {again} windows"
    raw_rows, raw_s = schedule_bench._raw_reinsert_windows(above)
    assert raw_rows == created, f"{name}: {created} windows reported, {raw_rows} in the table"
    _tidy()
    return created, spent, raw_s


def _tidy() -> None:
    """On PostgreSQL, what autovacuum would have done by the next night (this server runs
    without it): statistics for the planner and the baseline's deleted rows cleared."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def run_one(participants: int, database_url: str | None) -> None:
    """One database: populate, the initial horizon, the nightly extension."""
    schedule_bench._setup_django(database_url)
    from django.conf import settings
    from django.db import connection

    started = time.perf_counter()
    schedule_bench._populate(participants, 40, random.Random(2026), NOW)
    _tidy()
    print(
        f"ontrack bench/horizon.py on {platform.node()} ({platform.machine()}, "
        f"{os.cpu_count()} cores), {connection.vendor}, {dt.datetime.now(dt.UTC):%Y-%m-%d}"
    )
    horizon = settings.ONTRACK_SCHEDULE_HORIZON_DAYS
    print(
        f"set-up: {participants:,} participants with a schedule, 40 offices, as of "
        f"{NOW:%Y-%m-%d %H:%M} UTC, horizon {horizon} days "
        f"({time.perf_counter() - started:.1f} s, not measured)"
    )
    figures = {}
    for name, now in (("initial", NOW), ("nightly", NOW + dt.timedelta(days=1))):
        rows, spent, raw_s = _step(name, now)
        print(
            f"{name:8} {rows:>10,} windows in {spent:7.2f} s; "
            f"raw insert of the same rows {raw_s:7.2f} s"
        )
        figures[name] = (spent, raw_s)
    for name in ("nightly", "initial"):
        spent, raw_s = figures[name]
        print(
            f"RESULT horizon_{name}_s={spent:.2f} s baseline={raw_s:.2f} ratio={spent / raw_s:.2f}"
        )


def _scratch(server: str) -> tuple[str, str]:
    """A new empty database on ``server``: (its URL, its name)."""
    import psycopg

    name = f"ontrack_bench_horizon_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return urlunsplit(urlsplit(server)._replace(path=f"/{name}")), name


def _drop(server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _child(participants: int, database_url: str | None) -> dict[str, tuple[str, str, str]]:
    """Run one database in a process of its own, echo its output, and return its figures."""
    argv = [sys.executable, __file__, "--participants", str(participants), "--one"]
    if database_url:
        argv += ["--database-url", database_url]
    output = subprocess.run(argv, check=True, stdout=subprocess.PIPE, text=True).stdout
    print(output, end="", flush=True)
    return {m.group(1): (m.group(2), m.group(3), m.group(4)) for m in _RESULT.finditer(output)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 participants")
    parser.add_argument("--participants", type=int)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("ONTRACK_BENCH_POSTGRES"),
        help="a PostgreSQL server URL to run on as well (a scratch database is made there)",
    )
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    participants = args.participants or (5_000 if args.quick else 100_000)
    if args.one:
        run_one(participants, args.database_url)
        return
    figures = {}
    if args.postgres:
        url, name = _scratch(args.postgres)
        try:
            figures["postgresql"] = _child(participants, url)
        finally:
            _drop(args.postgres, name)
    figures["sqlite"] = _child(participants, None)
    for vendor, results in figures.items():
        line = ", ".join(
            f"{metric} {value} s (raw {raw} s)" for metric, (value, raw, _r) in results.items()
        )
        print(f"{vendor}: {line}")
    for metric in ("horizon_nightly_s", "horizon_initial_s"):
        value, raw, ratio = figures["sqlite"][metric]
        print(f"RESULT {metric}={value} s baseline={raw} ratio={ratio}")


if __name__ == "__main__":
    main()
