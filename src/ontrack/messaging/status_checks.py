"""The outbox's line on the status page: how long the oldest message due has waited."""

from __future__ import annotations

import datetime as dt

from django.db.models import Min

from ontrack.messaging.models import Message, MessageStatus
from ontrack.operations.status import StatusCheck, ago

# A message due for longer than this means no sender is draining the outbox.
OUTBOX_LATE = dt.timedelta(minutes=5)


def outbox_oldest_due(now: dt.datetime) -> StatusCheck:
    due = Message.objects.filter(
        status__in=[MessageStatus.QUEUED, MessageStatus.ERRORED], send_at__lte=now
    )
    oldest = due.aggregate(oldest=Min("send_at"))["oldest"]
    if oldest is None:
        return StatusCheck("outbox", "Outbox: oldest message due", "none waiting", ok=True)
    waiting = due.count()
    return StatusCheck(
        "outbox",
        "Outbox: oldest message due",
        f"due {ago(now, oldest)}",
        ok=now - oldest <= OUTBOX_LATE,
        detail=f"{waiting} message(s) due",
    )
