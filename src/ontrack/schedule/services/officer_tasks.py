"""Officer tasks: the to-do items the schedule (and tracking) opens for a person to look
at (a technical failure, a late upload, a reschedule request, a hearing outcome to
record, a device to retrieve), and closing them.

Not to be confused with ``schedule/tasks.py``, which holds the periodic jobs. A task is
keyed by its ``source``, so opening the same one twice gives the first.
"""

from __future__ import annotations

import datetime as dt

from ontrack.accounts.actors import Actor, actor_user
from ontrack.participants.models import Participant
from ontrack.schedule.models import Task, TaskStatus
from ontrack.schedule.services.preamble import now_or_clock, require_write


def task_open(
    participant: Participant, *, kind: str, source: str, summary: str, now: dt.datetime
) -> Task:
    task, _created = Task.objects.get_or_create(
        source=source,
        defaults={
            "participant": participant,
            "kind": kind,
            "summary": summary[:300],
            "created_at": now,
        },
    )
    return task


def task_source_done(
    *, actor: Actor, source: str, note: str = "", now: dt.datetime | None = None
) -> int:
    """Close the open task ``source`` opened, when what it asked for was done elsewhere (a
    device handed in at the device page closes its retrieval task). Returns 0 or 1."""
    return Task.objects.filter(source=source, status=TaskStatus.OPEN).update(
        status=TaskStatus.DONE,
        done_at=now_or_clock(now),
        done_by=actor_user(actor),
        note=note[:300],
    )


def task_done(
    *, actor: Actor, task_id: int, note: str = "", now: dt.datetime | None = None
) -> Task:
    now = now_or_clock(now)
    task = Task.objects.select_related("participant").get(pk=task_id)
    require_write(actor, task.participant)
    Task.objects.filter(pk=task.pk, status=TaskStatus.OPEN).update(
        status=TaskStatus.DONE, done_at=now, done_by=actor_user(actor), note=note[:300]
    )
    task.refresh_from_db()
    return task
