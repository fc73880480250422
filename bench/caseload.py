"""Caseload page and search p95 at 100,000 participants, keyset and index against the old
OFFSET and LIKE queries, on SQLite and (when reachable) PostgreSQL.

    uv run python bench/caseload.py            # 100,000 participants (seeded once, reused)
    uv run python bench/caseload.py --quick    # 2,000 participants, 20 rounds: under a minute

Each database is measured in a process of its own (``--backend``). Pages are rendered
in-process through Django's whole request stack (middleware, session, permission scoping,
the capped count, the keyset query, one access-log row per participant shown, template
rendering), signed in as an operator who sees every participant:

- first page by name; the deep page (the 500th page of 50 by name, or the deepest full page
  of a smaller caseload), reached by the cursor of the last row of the page before it, as
  following "Next" would; a substring search; the last page; two filtered sorts.

The baseline is measured in the same run, on the same database: the queries the old page
ran for the deep page (``Paginator``: ``COUNT(*)`` of every row, then ``OFFSET``) and for the
search (``COUNT(*)`` and the first page of ``search_text LIKE '%garcia%'``), the queries
alone, so a floor of what the old pages cost. The last line compares the worst new page
(first, deep or search) with the worst of those old queries, on SQLite:

    RESULT caseload_page_p95_ms=<worst new page p95> ms baseline=<worst old query p95> ratio=..

Figures, machine and date are appended to ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from seeded import answer, demo_database, each_backend, machine, p95, signed_in, timed  # noqa: E402

PAGE = 50
DEEP_PAGE = 500
SEARCH = "garcia"
INNER = "ndez"  # inside names only: Hernández, Fernández, Méndez ...


def measure(backend: str, participants: int, rounds: int) -> dict[str, Any]:
    """One backend, in this process: seed if needed, then time pages and queries."""
    seeded_s = demo_database(backend, participants)
    from django.core.paginator import Paginator
    from django.db import connection
    from django.db.models import Q

    from ontrack.participants.caseload_pages import caseload_page, row_cursor
    from ontrack.participants.models import Participant
    from ontrack.participants.queries import SORTS, CaseloadFilter, caseload_filter

    client = signed_in("operator")

    total = Participant.objects.count()
    deep = min(DEEP_PAGE, total // PAGE)
    by_name = Participant.objects.order_by(*SORTS["name"])
    before_deep = by_name[(deep - 1) * PAGE - 1]  # the last row of the page before
    pages: dict[str, dict[str, str]] = {
        "first page by name": {},
        f"page {deep} by name (cursor)": {"after": row_cursor(before_deep, "name")},
        f"search '{SEARCH}'": {"q": SEARCH},
        f"search '{INNER}' (inside names)": {"q": INNER},
        "last page by name": {"last": "1"},
        "active + Spanish, newest first": {
            "status": "active",
            "language": "es",
            "sort": "-enrolled",
        },
        "level filter, by case number": {"level": "high", "sort": "case"},
    }

    def page(params: dict[str, str]) -> Callable[[], None]:
        def get() -> None:
            response = client.get("/participants/", params)
            assert response.status_code == 200, response.status_code

        return get

    results = {name: timed(page(params), rounds) for name, params in pages.items()}

    everyone = Participant.objects.select_related("officer", "office")

    def old_deep() -> None:  # what Paginator did for ?page=500
        rows = everyone.order_by(*SORTS["name"])
        list(Paginator(rows, PAGE).page(deep).object_list)

    def old_search() -> None:  # the old search: LIKE over every row, then count and page
        rows = everyone.filter(
            Q(case_number__iexact=SEARCH) | Q(search_text__contains=SEARCH)
        ).order_by(*SORTS["name"])
        list(Paginator(rows, PAGE).page(1).object_list)

    def new_deep() -> None:
        caseload_page(everyone, "name", after=row_cursor(before_deep, "name"), size=PAGE)

    def new_search() -> None:
        rows = caseload_filter(everyone, CaseloadFilter(q=SEARCH))
        caseload_page(rows, "name", size=PAGE)

    queries = {
        f"old: page {deep} (COUNT + OFFSET)": timed(old_deep, rounds),
        f"old: search '{SEARCH}' (COUNT + LIKE)": timed(old_search, rounds),
        f"new: page {deep} (capped count + keyset)": timed(new_deep, rounds),
        f"new: search '{SEARCH}' (capped count + index)": timed(new_search, rounds),
    }
    version = (
        f"SQLite {sqlite3.sqlite_version}"
        if connection.vendor == "sqlite"
        else "PostgreSQL {}.{}".format(
            *divmod(connection.cursor().connection.info.server_version, 10_000)
        )
    )
    headline = [name for name in pages if name.startswith(("first", "page", "search '"))][:3]
    return {
        "backend": backend,
        "version": version,
        "participants": total,
        "rounds": rounds,
        "seeded_s": seeded_s,
        "pages": {name: [statistics.median(t), p95(t)] for name, t in results.items()},
        "queries": {name: [statistics.median(t), p95(t)] for name, t in queries.items()},
        "worst_page_p95": max(p95(results[name]) for name in headline),
        "worst_old_p95": max(p95(t) for name, t in queries.items() if name.startswith("old")),
    }


def table(result: dict[str, Any]) -> list[str]:
    lines = ["| scenario | median ms | p95 ms |", "|---|---:|---:|"]
    for kind in ("pages", "queries"):
        for name, (median, high) in result[kind].items():
            label = name if kind == "pages" else f"query only, {name}"
            lines.append(f"| {label} | {median:.1f} | {high:.1f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 participants, 20 rounds")
    parser.add_argument("--participants", type=int)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    participants = args.participants or (2_000 if args.quick else 100_000)
    rounds = args.rounds or (20 if args.quick else 60)
    if args.backend:
        answer(measure(args.backend, participants, rounds))
        return

    argv = ["--participants", str(participants), "--rounds", str(rounds)]
    results = each_backend(__file__, argv, postgres=not args.no_postgres)
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "uv run python bench/caseload.py" + (" --quick" if args.quick else "")
    report = [
        "",
        f"### Caseload keyset pages and indexed search, {today}",
        "",
        f"`{command}` on {machine()}; {rounds} rounds per scenario, signed in as an operator "
        'who sees everyone. Pages: the whole request in-process. "query only": the ORM '
        "queries alone (old = what the OFFSET / LIKE page ran, measured in the same run).",
    ]
    for result in results:
        report += [
            "",
            f"{result['backend']} ({result['version']}), {result['participants']:,} participants:",
            "",
            *table(result),
        ]
    sqlite_result = results[0]
    metric = sqlite_result["worst_page_p95"]
    baseline = sqlite_result["worst_old_p95"]
    result_line = (
        f"RESULT caseload_page_p95_ms={metric:.1f} ms baseline={baseline:.1f} "
        f"ratio={metric / baseline:.3f}"
    )
    report += ["", f"`{result_line}`", ""]
    print("\n".join(report))
    with (HERE / "RESULTS.md").open("a") as out:
        out.write("\n".join(report))
    print(result_line)


if __name__ == "__main__":
    main()
