"""The seeded program the console benchmarks read (``caseload.py``, ``pages.py``): the demo's
six offices and staff with ``participants`` people and their 90 days of history, as ``ontrack
seed`` writes them (plans, hearings, devices, check-in windows, alerts, messages, reviews).

Seeding 100,000 people takes most of an hour, so each size is seeded once per database and
kept: SQLite under ``bench/var/seeded-<n>/``, PostgreSQL in a database of its own
(``ontrack_bench_seeded_<n>``, its home beside as ``seeded-<n>-pg/``). A run finding fewer
people seeds the difference; delete the folder (or drop the database) to start again.

    from seeded import demo_database, signed_in

    demo_database("sqlite", 100_000)    # Django set up on it, migrated, seeded when short
    client = signed_in("operator")      # a test client past the sign-in and second factor
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
POSTGRES = os.environ.get("ONTRACK_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
SEED_VALUE = 1
OFFICES = 6
MARK = "BENCH "  # the line a backend's process answers with


def each_backend(script: str, argv: Sequence[str], *, postgres: bool) -> list[dict[str, Any]]:
    """Run ``script --backend <name> *argv`` for SQLite and, when asked and reachable,
    PostgreSQL, each in a process of its own (Django is set up once per process); what each
    printed after ``MARK`` (``answer``), decoded."""
    backends = ["sqlite", *(["postgresql"] if postgres and postgres_reachable() else [])]
    results = []
    for backend in backends:
        done = subprocess.run(
            [sys.executable, script, "--backend", backend, *argv],
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        (line,) = [row for row in done.stdout.splitlines() if row.startswith(MARK)]
        results.append(json.loads(line.removeprefix(MARK)))
    return results


def answer(result: dict[str, Any]) -> None:
    """Hand a backend's figures to the ``each_backend`` that started this process."""
    print(MARK + json.dumps(result), flush=True)


def machine() -> str:
    return (
        f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )


def p95(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=20)[18]


def timed(call: Callable[[], Any], rounds: int) -> list[float]:
    """Milliseconds of each of ``rounds`` calls, after one call to warm caches."""
    call()
    gc.collect()  # not the previous scenario's garbage
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def postgres_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(f"{POSTGRES}/postgres", connect_timeout=2):
            return True
    except Exception:  # any failure means "not here"
        return False


def _postgres_database(name: str) -> str:
    import psycopg

    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as db:
        if not db.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            db.execute(f'CREATE DATABASE "{name}"')
    return f"{POSTGRES}/{name}"


def demo_database(backend: str, participants: int) -> float:
    """Set Django up in this process on the seeded database of ``participants`` people
    (``backend``: sqlite or postgresql), migrated, with the static files the pages name,
    seeding whatever is missing; the seconds spent seeding (0 when it was all there)."""
    home = HERE / "var" / f"seeded-{participants}{'' if backend == 'sqlite' else '-pg'}"
    os.environ["ONTRACK_HOME"] = str(home)
    if backend == "sqlite":
        os.environ.pop("ONTRACK_DATABASE_URL", None)
    else:
        name = f"ontrack_bench_seeded_{participants}"
        os.environ["ONTRACK_DATABASE_URL"] = _postgres_database(name)
    os.environ["DJANGO_SETTINGS_MODULE"] = "ontrack.settings"
    os.environ.setdefault("ONTRACK_LOG_LEVEL", "WARNING")
    os.environ["ONTRACK_ALLOWED_HOSTS"] = "testserver"
    sys.path.insert(0, str(HERE.parent / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from ontrack.participants.models import Participant
    from ontrack.seed import seed
    from ontrack.static_build import static_files_collect

    call_command("migrate", verbosity=0)
    static_files_collect()  # pages name hashed static files from whitenoise's manifest
    have = Participant.objects.count()
    seeded_s = 0.0
    if have < participants:
        started = time.perf_counter()
        print(f"{backend}: seeding {participants - have} participants ...", file=sys.stderr)
        seed(participants=participants - have, seed_value=SEED_VALUE, offices=OFFICES)
        seeded_s = time.perf_counter() - started
        print(f"{backend}: seeded in {seeded_s:.0f} s", file=sys.stderr)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return seeded_s


def signed_in(username: str) -> Any:
    """A test client signed in as the demo login ``username``, second factor passed: the
    session a sign-in with the demo authenticator's code makes (``django_otp.login``), without
    posting the forms (their throttles and one-use codes are not what is measured)."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from ontrack.accounts.models import User
    from ontrack.seed import DEMO_AUTHENTICATOR

    user = User.objects.get(username=username)
    device = TOTPDevice.objects.get(user=user, name=DEMO_AUTHENTICATOR)
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
