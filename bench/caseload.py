"""Caseload page server time at 100,000 participants, against a plain SELECT of the same rows.

    uv run python bench/caseload.py            # 100,000 participants (seeded once, reused)
    uv run python bench/caseload.py --quick    # 10,000 participants, fewer rounds

The page is rendered in-process through Django's full request stack (middleware, session,
permission scoping, the access-log write for each row shown, template rendering), signed in
as a user who sees every participant. The baseline is the bare SQL the page cannot avoid:
one ordered, limited SELECT of the same 50 rows through sqlite3 on the same file.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--participants", type=int)
    parser.add_argument("--rounds", type=int)
    args = parser.parse_args()
    participants = args.participants or (10_000 if args.quick else 100_000)
    rounds = args.rounds or (15 if args.quick else 40)

    home = HERE / "var" / f"caseload-{participants}"
    os.environ["ONTRACK_HOME"] = str(home)
    os.environ.pop("ONTRACK_DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "ontrack.settings"
    os.environ.setdefault("ONTRACK_LOG_LEVEL", "WARNING")
    os.environ["ONTRACK_ALLOWED_HOSTS"] = "testserver"
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from ontrack.participants.models import Participant
    from ontrack.seed import demo_password, demo_totp_code, seed

    call_command("migrate", verbosity=0)
    have = Participant.objects.count()
    if have < participants:
        started = time.perf_counter()
        print(f"seeding {participants - have} participants into {home} ...", flush=True)
        seed(participants=participants - have, seed_value=1, offices=6)
        print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)

    client = Client()
    response = client.post("/login/", {"username": "operator", "password": demo_password()})
    assert response.status_code == 302, "operator sign-in failed"
    current = demo_totp_code("operator")
    assert current, f"{home} was seeded before the demo logins had an authenticator: remove it"
    response = client.post("/account/second-factor/", {"code": current[0]})
    assert response.status_code == 302, "operator's second factor refused"

    scenarios = {
        "first page by name": {},
        "page 500 by name": {"page": "500"},
        "search 'garcia'": {"q": "garcia"},
        "active + Spanish, newest first": {
            "status": "active",
            "language": "es",
            "sort": "-enrolled",
        },
        "level filter, by case number": {"level": "high", "sort": "case"},
    }
    results: dict[str, list[float]] = {}
    for name, params in scenarios.items():
        client.get("/participants/", params)  # warm caches
        timings = []
        for _ in range(rounds):
            started = time.perf_counter()
            response = client.get("/participants/", params)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        results[name] = timings

    db_path = home / "ontrack.sqlite3"
    baseline: list[float] = []
    with sqlite3.connect(db_path) as db:
        query = (
            "SELECT id, case_number, given_name, family_name, status, level, "
            "preferred_language, officer_id, office_id, enrolled_at FROM participants_participant "
            "ORDER BY family_name, given_name, id LIMIT 50"
        )
        db.execute(query).fetchall()
        for _ in range(rounds):
            started = time.perf_counter()
            db.execute(query).fetchall()
            baseline.append((time.perf_counter() - started) * 1000)

    print(
        f"\nmachine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )
    print(f"participants: {Participant.objects.count()}, rounds: {rounds}\n")
    print(f"{'scenario':36} {'median ms':>10} {'p95 ms':>10}")
    for name, timings in results.items():
        p95 = statistics.quantiles(timings, n=20)[18]
        print(f"{name:36} {statistics.median(timings):10.1f} {p95:10.1f}")
    base_median = statistics.median(baseline)
    print(
        f"{'baseline: plain SELECT of 50 rows':36} {base_median:10.2f} "
        f"{statistics.quantiles(baseline, n=20)[18]:10.2f}"
    )
    page_median = statistics.median(results["first page by name"])
    print(
        f"RESULT caseload_page_median_ms={page_median:.1f} ms "
        f"baseline={base_median:.2f} ratio={page_median / base_median:.1f}"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent / "src"))
    main()
