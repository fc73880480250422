"""Background jobs: one registry, and a scheduler under which each tick runs once.

Apps declare jobs in their ``tasks.py`` with :func:`periodic_job` (a watchdog, a nightly
purge) or :func:`job` (one-off work handed to the worker, such as expanding a bulk
message). ``ontrack worker`` imports every installed app's ``tasks`` module
(:func:`jobs_load`) before it starts Huey's consumer; a worker that skipped that step would
run and register nothing, which is how a whole deployment once went without a single
watchdog. ``ontrack worker --list`` prints what a worker registers.

Periodic jobs do not use Huey's own periodic tasks, for two reasons:

- **Once per tick, however many workers.** Every consumer runs a scheduler. Here each
  scheduler, every minute, works out each job's latest tick (the last minute its cron
  schedule matched) and tries to insert the ``JobRun`` row for (job, tick); the unique
  constraint lets exactly one worker win, and only the winner enqueues the job.
- **Catch-up.** The same rule makes up for time a worker was down: at start, a job whose
  latest tick has no run yet (the nightly purge while the worker was stopped at 03:00) runs
  at once, once.

Schedules are cron fields in UTC. ``ONTRACK_JOBS_EVERY_S`` (tests and demos only) replaces
every schedule with "every N seconds", so that an end-to-end test can watch a watchdog act
without waiting for its real schedule; a job that runs hourly or less often in production
(the roll-ups, the purge, the weekly summary) then runs every ``RARE_JOB_FACTOR`` × N
seconds, still within a test's patience, but no longer recomputing a night's roll-ups every
two seconds in each worker of a test run, which was half of those workers' CPU.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules
from huey import crontab
from huey.consumer import Consumer, Scheduler, Worker
from huey.contrib.djhuey import HUEY, db_task
from huey.utils import time_clock

from ontrack.operations.models import JobOutcome, JobRun

logger = logging.getLogger("ontrack.jobs")

F = TypeVar("F", bound=Callable[..., Any])

# How far back a job's latest tick is looked for: a weekly job would need seven days.
_LOOKBACK = dt.timedelta(days=8)


RARE_JOB_FACTOR = 5


def _runs_within_the_hour(cron: str) -> bool:
    """Whether a cron schedule runs every minute or every few minutes (``*``, ``*/5``)."""
    minute, hour, *_ = cron.split()
    return hour == "*" and (minute == "*" or minute.startswith("*/"))


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    cron: str
    function: Callable[[], object]
    matches: Callable[[dt.datetime], bool]
    task: Any
    doc: str

    @property
    def schedule(self) -> str:
        every = self.test_interval_s()
        if every is not None:
            return f"every {every:g} s (ONTRACK_JOBS_EVERY_S)"
        return describe_cron(self.cron)

    def test_interval_s(self) -> float | None:
        """Seconds between two runs under ``ONTRACK_JOBS_EVERY_S`` (None without it)."""
        every = jobs_every_s()
        if every is None or _runs_within_the_hour(self.cron):
            return every
        return every * RARE_JOB_FACTOR

    def latest_tick(self, now: dt.datetime) -> dt.datetime | None:
        """The most recent time at or before ``now`` this job was due (UTC, whole minute or,
        with ``ONTRACK_JOBS_EVERY_S``, whole multiple of the job's interval)."""
        every = self.test_interval_s()
        if every is not None:
            epoch = now.timestamp()
            return dt.datetime.fromtimestamp(epoch - epoch % every, tz=dt.UTC)
        minute = now.astimezone(dt.UTC).replace(second=0, microsecond=0)
        oldest = minute - _LOOKBACK
        while minute > oldest:
            if self.matches(minute):
                return minute
            minute -= dt.timedelta(minutes=1)
        return None


@dataclass(frozen=True)
class OneOffJob:
    name: str
    doc: str


PERIODIC: dict[str, PeriodicJob] = {}
ONE_OFF: dict[str, OneOffJob] = {}


def jobs_every_s() -> float | None:
    value = os.environ.get("ONTRACK_JOBS_EVERY_S", "").strip()
    return float(value) if value else None


def _first_line(function: Callable[..., Any]) -> str:
    return " ".join((function.__doc__ or "").strip().split("\n\n")[0].split())


def periodic_job(
    *, minute: str = "*", hour: str = "*", day: str = "*", month: str = "*", day_of_week: str = "*"
) -> Callable[[F], F]:
    """Register ``function`` as a periodic job on a cron schedule in UTC. The function
    itself is returned unchanged, so services and tests may still call it directly."""
    cron = f"{minute} {hour} {day} {month} {day_of_week}"
    matches = crontab(minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week)

    def register(function: F) -> F:
        name = function.__name__
        if name in PERIODIC or name in ONE_OFF:
            raise ValueError(f"two jobs are named {name!r}")

        def run_recorded(run_id: int) -> None:
            job_execute(PERIODIC[name], run_id)

        run_recorded.__name__ = name
        task = db_task(name=f"periodic:{name}")(run_recorded)
        PERIODIC[name] = PeriodicJob(
            name=name,
            cron=cron,
            function=function,
            matches=matches,
            task=task,
            doc=_first_line(function),
        )
        return function

    return register


def job(function: F) -> F:
    """Register ``function`` as a one-off job; calling the returned wrapper enqueues it for
    the worker (as a Huey task)."""
    name = function.__name__
    if name in PERIODIC or name in ONE_OFF:
        raise ValueError(f"two jobs are named {name!r}")
    ONE_OFF[name] = OneOffJob(name=name, doc=_first_line(function))
    task: F = db_task(name=name)(function)
    return task


def jobs_load() -> None:
    """Import every installed app's ``tasks`` module, which registers its jobs."""
    autodiscover_modules("tasks")


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def job_claim(name: str, slot: dt.datetime, *, manual: bool = False) -> int | None:
    """Insert the run for (job, slot); ``None`` when another worker already has it."""
    try:
        with transaction.atomic():
            run = JobRun.objects.create(
                job=name,
                slot=slot,
                manual=manual,
                claimed_by=process_name(),
                claimed_at=timezone.now(),
            )
    except IntegrityError:
        return None
    return run.pk


def _summary(result: object) -> str:
    if result is None:
        return ""
    return str(result)[:500]


def job_execute(periodic: PeriodicJob, run_id: int) -> JobRun:
    """Run a claimed job now in this process, recording its start, end and outcome. A
    failure is logged and recorded, not raised: the next tick runs it again."""
    started = time.monotonic()
    JobRun.objects.filter(pk=run_id).update(
        started_at=timezone.now(), outcome=JobOutcome.RUNNING, claimed_by=process_name()
    )
    try:
        result = periodic.function()
    except Exception as exc:
        logger.exception("job failed", extra={"job": periodic.name, "run": run_id})
        outcome, summary = JobOutcome.FAILED, f"{type(exc).__name__}: {exc}"[:500]
    else:
        outcome, summary = JobOutcome.DONE, _summary(result)
    JobRun.objects.filter(pk=run_id).update(
        finished_at=timezone.now(), outcome=outcome, result=summary
    )
    run = JobRun.objects.get(pk=run_id)
    if outcome == JobOutcome.DONE:
        # The tick it ran for, so that the logs of several workers show each tick ran once.
        logger.info(
            "job done",
            extra={
                "job": periodic.name,
                "result": summary or "-",
                "seconds": round(time.monotonic() - started, 3),
                "tick": run.slot.isoformat(),
            },
        )
    return run


def job_run_now(name: str) -> JobRun:
    """Run one periodic job at once in this process (``ontrack jobs run``), for an operator
    making good what an outage missed. Raises ``KeyError`` for an unknown name."""
    periodic = PERIODIC[name]
    now = timezone.now()
    run_id = job_claim(name, now, manual=True)
    while run_id is None:  # the same microsecond as another manual run
        now += dt.timedelta(microseconds=1)
        run_id = job_claim(name, now, manual=True)
    return job_execute(periodic, run_id)


def jobs_enqueue_due(now: dt.datetime, known: dict[str, dt.datetime] | None = None) -> list[str]:
    """Claim and enqueue every periodic job whose latest tick has no run yet; return the
    names enqueued. Safe to call from every worker at once.

    ``known`` is a scheduler's memory between its looks: each job's latest tick it already
    knows to have a run. Such a job is not looked up again until its next tick, and the
    others' runs are read in one query before any claim. A scheduler looks every second or
    ten, far more often than most jobs fall due; it used to try to insert a run for every
    job at every look, a failed insert each (which PostgreSQL logs as an error)."""
    known = {} if known is None else known
    due: dict[str, dt.datetime] = {}
    for periodic in PERIODIC.values():
        tick = periodic.latest_tick(now)
        if tick is not None and known.get(periodic.name) != tick:
            due[periodic.name] = tick
    if not due:
        return []
    taken = set(
        JobRun.objects.filter(job__in=list(due), slot__in=set(due.values())).values_list(
            "job", "slot"
        )
    )
    enqueued = []
    for name, tick in due.items():
        known[name] = tick
        if (name, tick) in taken:
            continue
        run_id = job_claim(name, tick)  # None: another worker claimed it since the read
        if run_id is not None:
            PERIODIC[name].task(run_id)
            enqueued.append(name)
    return enqueued


class StopAwareWorker(Worker):
    """Huey's worker, whose nap between two looks at an empty queue (growing to 10 s) ends
    as soon as the consumer is told to stop: a SIGTERM stops an idle worker at once, not
    after its nap, which made every stop of ``ontrack worker`` take up to 10 s."""

    delay: float
    max_delay: float
    backoff: float

    def __init__(self, stop_flag: Any, **options: Any) -> None:
        super().__init__(**options)
        self.stop_flag = stop_flag

    def sleep(self) -> None:
        self.delay = min(self.delay, self.max_delay)
        self.stop_flag.wait(self.delay)
        self.delay *= self.backoff


class OncePerTickScheduler(Scheduler):
    """Huey's scheduler, with periodic jobs enqueued by :func:`jobs_enqueue_due`, and its
    wait for the next tick (10 s in production) cut short by a stop, as the workers' are."""

    def __init__(self, huey: Any, interval: float, periodic: bool, stop_flag: Any) -> None:
        super().__init__(huey, interval, periodic)
        self.periodic_task_seconds = jobs_every_s() or 60
        self.stop_flag = stop_flag
        self.known_ticks: dict[str, dt.datetime] = {}

    def sleep_for_interval(self, start_ts: float, nseconds: float) -> None:
        self.stop_flag.wait(max(0.0, nseconds - (time_clock() - start_ts)))

    def enqueue_periodic_tasks(self, now: Any) -> None:
        try:
            enqueued = jobs_enqueue_due(timezone.now(), self.known_ticks)
        except Exception:
            logger.exception("could not check the periodic jobs; trying again next tick")
            return
        finally:
            from django.db import connection

            connection.close()
        if enqueued:
            logger.debug("periodic jobs enqueued", extra={"jobs": ",".join(enqueued)})


class JobConsumer(Consumer):
    """Huey's consumer with the once-per-tick scheduler, and SIGTERM (what systemd and
    ``ontrack demo`` send) as a graceful stop: the jobs in hand finish, where Huey's own
    SIGTERM abandons them mid-run."""

    def _handle_stop_signal(self, sig_num: int, frame: object) -> None:
        self._received_signal = True
        self._restart = False
        self._graceful = True

    def _create_worker(self) -> Worker:
        return StopAwareWorker(
            self.stop_flag,
            huey=self.huey,
            default_delay=self.default_delay,
            max_delay=self.max_delay,
            backoff=self.backoff,
        )

    def _create_scheduler(self) -> Scheduler:
        return OncePerTickScheduler(
            huey=self.huey,
            interval=self.scheduler_interval,
            periodic=self.periodic,
            stop_flag=self.stop_flag,
        )


def job_consumer(*, workers: int) -> JobConsumer:
    every = jobs_every_s()
    interval = 1 if every is not None and every < 60 else 10
    return JobConsumer(
        HUEY, workers=workers, worker_type="thread", periodic=True, scheduler_interval=interval
    )


_WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


def describe_cron(cron: str) -> str:
    """Plain words for the cron shapes ontrack uses ("every 5 minutes", "daily at 03:15
    UTC"); anything else is shown as the cron fields."""
    minute, hour, day, month, weekday = cron.split()
    if (day, month) != ("*", "*"):
        return f"cron {cron} (UTC)"
    if minute == "*" and hour == "*":
        text = "every minute"
    elif minute.startswith("*/") and hour == "*":
        text = f"every {minute[2:]} minutes"
    elif minute.isdigit() and hour == "*":
        text = f"hourly at :{int(minute):02d}"
    elif minute.isdigit() and hour.startswith("*/"):
        text = f"every {hour[2:]} hours at :{int(minute):02d}"
    elif minute.isdigit() and hour.isdigit():
        text = f"daily at {int(hour):02d}:{int(minute):02d} UTC"
    else:
        return f"cron {cron} (UTC)"
    if weekday != "*":
        if not weekday.isdigit():
            return f"cron {cron} (UTC)"
        text += f" on {_WEEKDAYS[int(weekday) % 7]}s"
    return text
