"""The dashboard's roll-ups, computed by the worker on its schedule (every 10 s here) and by
an operator with ``ontrack jobs run``: the page a supervisor reads names the roll-up its
closed days come from and shows the seeded office's figures."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.system.harness import Browser, System, eventually

pytestmark = pytest.mark.xdist_group("system")

ROLLUP = re.compile(r'id="rollup">.*?<time datetime="([^"]+)">', re.DOTALL)


def _page(supervisor: Browser) -> str:
    """The last 30 closed days as of yesterday: every count from the roll-ups."""
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    return supervisor.page(
        "/reports/",
        **{"from": (yesterday - dt.timedelta(days=29)).isoformat(), "to": yesterday.isoformat(),
           "as_of": yesterday.isoformat()},
    )  # fmt: skip


def _rollup_time(page: str) -> dt.datetime | None:
    found = ROLLUP.search(page)
    if found is None:
        return None
    return dt.datetime.fromisoformat(found.group(1))


def _windows_total(page: str) -> int:
    section = page[page.index('id="checkins"') :]
    total = re.search(
        r'<tfoot><tr><th scope="row"[^>]*>Total</th><th scope="row"[^>]*>(\d+)</th>', section
    )
    assert total is not None, "the check-in table has a total row"
    return int(total.group(1))


def test_the_worker_computes_the_rollups_the_dashboard_names_and_counts_from(
    system: System,
) -> None:
    supervisor = system.browser("sam")
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def rolled_by_the_worker() -> str | None:
        page = _page(supervisor)
        computed = _rollup_time(page)
        return page if computed is not None and computed >= started else None

    page = eventually(
        rolled_by_the_worker,
        what="the worker's roll-up job to compute the roll-ups the dashboard names",
    )
    windows = _windows_total(page)
    assert windows > 0, "the seeded office's month of check-in windows is counted"

    # An operator making good a missed night runs the job by hand: a newer roll-up, the same
    # figures (nothing about those days changed).
    before = _rollup_time(page)
    result = system.ontrack("jobs", "run", "reports_rollup_nightly")
    assert result.stdout.startswith("reports_rollup_nightly: done"), result.stdout
    page = _page(supervisor)
    after = _rollup_time(page)
    assert before is not None
    assert after is not None
    assert after >= before
    assert _windows_total(page) == windows
