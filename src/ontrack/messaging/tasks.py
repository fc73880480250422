"""Background jobs of messaging (Huey). The outbox itself is sent by ``outbox.Sender``
inside ``ontrack worker``, not by a task: it is a table, not a queue."""

from __future__ import annotations

from django.utils import timezone

from ontrack.messaging import broadcasts
from ontrack.operations.jobs import job, periodic_job


@job
def broadcast_expand_task(broadcast_id: int) -> None:
    """Write one outbox row per recipient of a bulk message, in batches."""
    broadcasts.broadcast_expand(broadcast_id)


@periodic_job(minute="*")
def broadcasts_due() -> None:
    """Start bulk messages scheduled for now and resume any a stopped worker left."""
    broadcasts.broadcasts_start_due(now=timezone.now())
