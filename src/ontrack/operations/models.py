"""What the running system says about itself: each process's heartbeat and each periodic
job's runs.

These rows are how an administrator (``ontrack status``, the status page) and a load
balancer (``/readyz``) tell a living system from one that only looks alive: a web app that
serves pages while no worker has run for an hour is the failure this app exists to show.
"""

from __future__ import annotations

from django.db import models


class ProcessKind(models.TextChoices):
    WEB = "web", "Web app"
    WORKER = "worker", "Job worker"
    SENDER = "sender", "Outbox sender"
    GATEWAY = "gateway", "Device gateway"


class Heartbeat(models.Model):
    """One running (or stopped) process. It rewrites its row every few seconds; a row whose
    ``beat_at`` is old belongs to a process that died without saying so."""

    kind = models.CharField(max_length=16, choices=ProcessKind.choices)
    instance = models.CharField(max_length=120, help_text="host:pid, plus a worker number.")
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "instance"], name="heartbeat_one_per_process")
        ]
        ordering = ["kind", "instance"]

    def __str__(self) -> str:
        return f"{self.kind} {self.instance}"


class JobOutcome(models.TextChoices):
    CLAIMED = "claimed", "Waiting for a worker"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class JobRun(models.Model):
    """One run of a periodic job for one tick of its schedule.

    The unique (job, slot) pair is what makes a tick run once however many workers run
    their schedulers: each tries to insert the row and only the one that succeeds enqueues
    the job. A manual run (``ontrack jobs run``) takes a slot of its own."""

    job = models.CharField(max_length=100)
    slot = models.DateTimeField(help_text="The schedule's tick this run is for.")
    manual = models.BooleanField(default=False)
    claimed_by = models.CharField(max_length=120)
    claimed_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=16, choices=JobOutcome.choices, default=JobOutcome.CLAIMED
    )
    result = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="jobrun_one_per_tick")]
        indexes = [models.Index(fields=["job", "-slot"])]
        ordering = ["-slot"]

    def __str__(self) -> str:
        return f"{self.job} {self.slot:%Y-%m-%d %H:%M:%S} {self.outcome}"
