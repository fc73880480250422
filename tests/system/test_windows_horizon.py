"""The worker keeps each person's check-in windows a rolling horizon ahead
(``ONTRACK_SCHEDULE_HORIZON_DAYS``): setting a schedule generates them up to the horizon at
once, and the worker's periodic job (every 15 s here, ``RARE_JOB_FACTOR`` times
``ONTRACK_JOBS_EVERY_S``) carries them further as the horizon moves. The horizon cannot be
moved a day on by waiting a day, so it is lengthened instead: the schedule is set with a
7-day horizon while no worker runs, then a worker started with a 21-day horizon has to bring
the windows to 21 days ahead."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from tests.system.conftest import SYSTEM_SETTINGS
from tests.system.harness import System, enrol, eventually, running_system

# Its own running system (no worker at first), on an xdist worker of its own.
pytestmark = pytest.mark.xdist_group("system-horizon")

SHORT, LONG = 7, 21


@pytest.fixture(scope="module")
def without_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    home = tmp_path_factory.mktemp("ontrack-horizon")
    settings = {**SYSTEM_SETTINGS, "ONTRACK_SCHEDULE_HORIZON_DAYS": str(SHORT)}
    with running_system(home, processes=("web", "gateway"), settings=settings) as running:
        yield running


def _window_dates(system: System, pid: int) -> list[dt.date]:
    """The local dates of the participant's windows from now on, as the officer's API
    lists them."""
    now = dt.datetime.now(dt.UTC)
    windows = system.api("olivia").get(
        f"/participants/{pid}/checkin-windows",
        since=(now - dt.timedelta(days=2)).isoformat(),
        until=(now + dt.timedelta(days=60)).isoformat(),
    )
    return [dt.date.fromisoformat(w["local_date"]) for w in windows]


def _local_today(system: System, pid: int) -> dt.date:
    zone = system.api("olivia").get(f"/participants/{pid}")["time_zone"]
    return dt.datetime.now(ZoneInfo(zone)).date()


def test_the_worker_extends_a_persons_windows_to_the_horizon(without_worker: System) -> None:
    system = without_worker
    pid = enrol(system)["id"]
    two_days_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).date()
    every_day = {"cadence": "weekly", "weekdays": list(range(7)), "opens": "00:00",
                 "closes": "23:59", "starts_on": two_days_ago.isoformat()}  # fmt: skip
    system.api("olivia").put(f"/participants/{pid}/schedule", every_day)
    set_at_once = _window_dates(system, pid)
    assert max(set_at_once) == _local_today(system, pid) + dt.timedelta(days=SHORT), (
        f"setting the schedule generates windows {SHORT} days ahead: {set_at_once}"
    )

    system.env["ONTRACK_SCHEDULE_HORIZON_DAYS"] = str(LONG)
    system.start("worker")

    def extended() -> list[dt.date] | None:
        dates = _window_dates(system, pid)
        horizon = _local_today(system, pid) + dt.timedelta(days=LONG)
        return dates if dates and max(dates) == horizon else None

    dates = eventually(
        extended, what=f"the worker to extend the windows to {LONG} days ahead", timeout=120
    )
    assert len(dates) == len(set(dates)), f"one window a day, none twice: {dates}"
    assert dates == sorted(dates), "listed in order"
    first = min(dates)
    assert dates == [first + dt.timedelta(days=n) for n in range(len(dates))], (
        f"a window every day up to the horizon, no gap where the worker took over: {dates}"
    )
