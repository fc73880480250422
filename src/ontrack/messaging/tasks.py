"""Background jobs of messaging (Huey). The outbox itself is sent by ``outbox.Sender``
inside ``ontrack worker``, not by a task: it is a table, not a queue."""

from __future__ import annotations

import logging

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from ontrack.messaging import broadcasts, services

logger = logging.getLogger(__name__)


@db_task()
def broadcast_expand_task(broadcast_id: int) -> None:
    broadcasts.broadcast_expand(broadcast_id)


@db_periodic_task(crontab(minute="*"))
def broadcasts_due() -> None:
    """Start bulk messages scheduled for now and resume any a stopped worker left."""
    broadcasts.broadcasts_start_due(now=timezone.now())


@db_periodic_task(crontab(minute="7"))
def hearing_reminders() -> None:
    """Hearings are written by participants (and by imports that send no signals); an
    hourly pass keeps their reminders right."""
    synced = services.hearing_reminders_sync()
    logger.info("hearing reminders synced hearings=%s", synced)
