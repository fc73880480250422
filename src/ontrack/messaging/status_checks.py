"""The outbox's line on the status page: how long the oldest message due has waited."""

from __future__ import annotations

import datetime as dt

from django.db.models import Min

from ontrack.messaging.models import WAITING, Message
from ontrack.operations.status import StatusCheck, ago

# A message due for longer than this means no sender is draining the outbox.
OUTBOX_LATE = dt.timedelta(minutes=5)


def outbox_oldest_due(now: dt.datetime) -> StatusCheck:
    """Read through the partial index ``message_waiting`` on PostgreSQL, which sees the
    filter's statuses as the index's very condition. SQLite is handed them as parameters,
    which it does not match to an index's condition; it reads the waiting messages' entries
    of ``message_due`` instead (covering, none of the years sent)."""
    due = Message.objects.filter(status__in=WAITING, send_at__lte=now)
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
