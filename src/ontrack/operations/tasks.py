"""Housekeeping of the operations app's own rows."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from ontrack.operations.jobs import periodic_job
from ontrack.operations.models import Heartbeat, JobRun

JOB_RUNS_KEPT = dt.timedelta(days=14)
STOPPED_PROCESSES_KEPT = dt.timedelta(days=7)


@periodic_job(minute="25", hour="4")
def operations_prune() -> dict[str, int]:
    """Daily: forget job runs older than two weeks and processes silent for a week."""
    now = timezone.now()
    runs, _ = JobRun.objects.filter(slot__lt=now - JOB_RUNS_KEPT).delete()
    processes, _ = Heartbeat.objects.filter(beat_at__lt=now - STOPPED_PROCESSES_KEPT).delete()
    return {"job_runs": runs, "processes": processes}
