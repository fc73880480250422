"""The system's state as an administrator needs it: which processes are alive, when each
job last ran, and the few numbers that show work piling up.

Apps above this one contribute their numbers through :func:`status_check_register` (the
outbox's oldest due message, alerts held past their grace), so this module imports none of
them. ``ontrack status``, the status page and the stale-worker banner all read
:func:`system_status`.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from ontrack.operations.models import Heartbeat, JobRun, ProcessKind


def stale_after() -> dt.timedelta:
    """A process that has not beaten for this long is shown as silent
    (``ONTRACK_PROCESS_STALE_S``, 60)."""
    return dt.timedelta(seconds=float(os.environ.get("ONTRACK_PROCESS_STALE_S", "60")))


def worker_banner_after() -> dt.timedelta:
    """With no worker beating for this long, administrators and operators see a banner
    (``ONTRACK_WORKER_BANNER_S``, 180)."""
    return dt.timedelta(seconds=float(os.environ.get("ONTRACK_WORKER_BANNER_S", "180")))


@dataclass(frozen=True)
class ProcessState:
    kind: str
    label: str
    instance: str
    started_at: dt.datetime
    beat_at: dt.datetime
    stopped_at: dt.datetime | None
    details: dict[str, Any]
    state: str  # "running", "silent" or "stopped"


@dataclass(frozen=True)
class StatusCheck:
    """One number with a verdict, e.g. "oldest message due: 3 s ago, fine"."""

    key: str
    label: str
    value: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class JobState:
    name: str
    schedule: str
    doc: str
    last: JobRun | None
    last_done: JobRun | None


@dataclass
class SystemStatus:
    now: dt.datetime
    processes: list[ProcessState] = field(default_factory=list)
    checks: list[StatusCheck] = field(default_factory=list)
    jobs: list[JobState] = field(default_factory=list)
    worker_last_beat: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        running = {p.kind for p in self.processes if p.state == "running"}
        return ProcessKind.WORKER in running and all(check.ok for check in self.checks)

    @property
    def worker_missing(self) -> bool:
        last = self.worker_last_beat
        return last is None or self.now - last > worker_banner_after()


StatusCheckFunction = Callable[[dt.datetime], StatusCheck]
_CHECKS: dict[str, StatusCheckFunction] = {}


def status_check_register(key: str, function: StatusCheckFunction) -> None:
    """Add a check to the status report (called from an app's ``ready``)."""
    _CHECKS[key] = function


def processes_state(now: dt.datetime) -> list[ProcessState]:
    labels = dict(ProcessKind.choices)
    states = []
    for beat in Heartbeat.objects.order_by("kind", "-beat_at"):
        if beat.stopped_at is not None:
            state = "stopped"
        elif now - beat.beat_at > stale_after():
            state = "silent"
        else:
            state = "running"
        states.append(
            ProcessState(
                kind=beat.kind,
                label=labels.get(beat.kind, beat.kind),
                instance=beat.instance,
                started_at=beat.started_at,
                beat_at=beat.beat_at,
                stopped_at=beat.stopped_at,
                details=beat.details,
                state=state,
            )
        )
    return states


def worker_last_beat() -> dt.datetime | None:
    """When a job worker last said it was alive (one indexed read, for the banner)."""
    last: dt.datetime | None = (
        Heartbeat.objects.filter(kind=ProcessKind.WORKER)
        .order_by("-beat_at")
        .values_list("beat_at", flat=True)
        .first()
    )
    return last


def jobs_state() -> list[JobState]:
    # Imported here: the registry brings Huey and every app's tasks module, which the
    # processes that never list jobs (every command, the web app until its status page
    # opens) need not load.
    from ontrack.operations.jobs import PERIODIC, jobs_load

    jobs_load()
    states = []
    for name in sorted(PERIODIC):
        periodic = PERIODIC[name]
        runs = JobRun.objects.filter(job=name)
        states.append(
            JobState(
                name=name,
                schedule=periodic.schedule,
                doc=periodic.doc,
                last=runs.order_by("-claimed_at").first(),
                last_done=runs.filter(finished_at__isnull=False).order_by("-finished_at").first(),
            )
        )
    return states


def system_status(now: dt.datetime | None = None) -> SystemStatus:
    now = now or timezone.now()
    processes = processes_state(now)
    workers = [p.beat_at for p in processes if p.kind == ProcessKind.WORKER]
    return SystemStatus(
        now=now,
        processes=processes,
        checks=[function(now) for function in _CHECKS.values()],
        jobs=jobs_state(),
        worker_last_beat=max(workers, default=None),
    )


def ago(now: dt.datetime, then: dt.datetime | None) -> str:
    """ "4 s ago", "12 min ago", "3 h ago", "2 days ago", or "never"."""
    if then is None:
        return "never"
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    if seconds < 172800:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"
