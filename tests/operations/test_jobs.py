"""Jobs: every job in the code is registered in the worker process, each tick runs once."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ontrack.operations.jobs import (
    PERIODIC,
    describe_cron,
    job_claim,
    job_run_now,
    jobs_enqueue_due,
    jobs_load,
)
from ontrack.operations.models import JobOutcome, JobRun

SOURCE = Path(__file__).resolve().parents[2] / "src" / "ontrack"
DECORATED = re.compile(r"^@(periodic_job\([^)]*\)|job)\s*\n(?:@.*\n)*def (\w+)", re.MULTILINE)


def jobs_in_source() -> set[str]:
    names = set()
    for path in SOURCE.rglob("*.py"):
        names |= {match.group(2) for match in DECORATED.finditer(path.read_text())}
    return names


def test_the_source_declares_jobs_only_through_the_registry() -> None:
    """A Huey decorator used directly would bypass the once-per-tick claim and the
    registry the worker loads."""
    offenders = [
        str(path.relative_to(SOURCE))
        for path in SOURCE.rglob("*.py")
        if path.name != "jobs.py"
        and re.search(r"\b(db_periodic_task|periodic_task|db_task)\b", path.read_text())
    ]
    assert offenders == []


def test_every_job_in_the_code_is_registered_in_the_worker_process(cli_env: dict[str, str]) -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "ontrack.cli", "worker", "--list"],
        env={**cli_env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    declared = jobs_in_source()
    assert len(declared) >= 16, declared
    missing = {name for name in declared if not re.search(rf"\b{name}\b", listed)}
    assert missing == set(), f"declared in the code but not registered by the worker: {missing}"


@pytest.mark.django_db
def test_a_tick_is_claimed_by_one_worker_only() -> None:
    slot = dt.datetime(2026, 12, 4, 16, 5, tzinfo=dt.UTC)
    assert job_claim("alerts_grace_watchdog", slot) is not None
    assert job_claim("alerts_grace_watchdog", slot) is None
    assert JobRun.objects.filter(job="alerts_grace_watchdog").count() == 1


@pytest.mark.django_db
def test_schedulers_checking_the_same_minute_enqueue_each_job_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jobs_load()
    now = dt.datetime(2026, 12, 4, 16, 5, 20, tzinfo=dt.UTC)
    first = jobs_enqueue_due(now)
    second = jobs_enqueue_due(now + dt.timedelta(seconds=30))
    assert set(first) == set(PERIODIC), "on a first start every job's latest tick is due"
    assert second == []
    a_minute_later = jobs_enqueue_due(now + dt.timedelta(minutes=1))
    assert "alerts_grace_watchdog" in a_minute_later
    assert "device_silence_watchdog" not in a_minute_later  # every 5 minutes


@pytest.mark.django_db
def test_a_scheduler_looks_up_a_job_again_only_at_its_next_tick(
    django_assert_num_queries: Any,
) -> None:
    jobs_load()
    now = dt.datetime(2026, 12, 4, 16, 5, 20, tzinfo=dt.UTC)
    other_scheduler: dict[str, dt.datetime] = {}
    assert set(jobs_enqueue_due(now, other_scheduler)) == set(PERIODIC)
    known: dict[str, dt.datetime] = {}
    with django_assert_num_queries(1):  # every tick already claimed: one read, no insert
        assert jobs_enqueue_due(now, known) == []
    with django_assert_num_queries(0):
        assert jobs_enqueue_due(now + dt.timedelta(seconds=30), known) == []
    a_minute_later = jobs_enqueue_due(now + dt.timedelta(minutes=1), known)
    assert "alerts_grace_watchdog" in a_minute_later
    assert "device_silence_watchdog" not in a_minute_later  # every 5 minutes
    assert jobs_enqueue_due(now + dt.timedelta(minutes=1), other_scheduler) == []


def test_the_latest_tick_is_the_last_minute_the_schedule_matched() -> None:
    jobs_load()
    now = dt.datetime(2026, 12, 4, 16, 8, 59, tzinfo=dt.UTC)
    silence = PERIODIC["device_silence_watchdog"].latest_tick(now)
    nightly = PERIODIC["retention_purge_nightly"].latest_tick(now)
    assert silence == dt.datetime(2026, 12, 4, 16, 5, tzinfo=dt.UTC)
    assert nightly == dt.datetime(2026, 12, 4, 3, 0, tzinfo=dt.UTC)


def test_a_short_interval_from_the_environment_replaces_every_schedule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jobs_load()
    monkeypatch.setenv("ONTRACK_JOBS_EVERY_S", "2")
    now = dt.datetime(2026, 12, 4, 16, 8, 59, 500000, tzinfo=dt.UTC)
    assert PERIODIC["alerts_grace_watchdog"].latest_tick(now) == dt.datetime(
        2026, 12, 4, 16, 8, 58, tzinfo=dt.UTC
    )
    assert PERIODIC["alerts_grace_watchdog"].schedule.startswith("every 2 s")
    # A nightly job runs five times less often, still within seconds.
    assert PERIODIC["retention_purge_nightly"].latest_tick(now) == dt.datetime(
        2026, 12, 4, 16, 8, 50, tzinfo=dt.UTC
    )
    assert PERIODIC["retention_purge_nightly"].schedule.startswith("every 10 s")


@pytest.mark.django_db
def test_a_manual_run_is_recorded_with_its_outcome() -> None:
    jobs_load()
    run = job_run_now("alerts_grace_watchdog")
    assert run.manual
    assert run.outcome == JobOutcome.DONE
    assert run.started_at is not None
    assert run.finished_at is not None


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ("* * * * *", "every minute"),
        ("*/5 * * * *", "every 5 minutes"),
        ("40 * * * *", "hourly at :40"),
        ("17 */6 * * *", "every 6 hours at :17"),
        ("0 3 * * *", "daily at 03:00 UTC"),
        ("0 3 * * 1", "daily at 03:00 UTC on Mondays"),
        ("0 3 1 * *", "cron 0 3 1 * * (UTC)"),
    ],
)
def test_schedules_are_described_in_plain_words(cron: str, words: str) -> None:
    assert describe_cron(cron) == words
