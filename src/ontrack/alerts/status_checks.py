"""The alerts' line on the status page: alerts still pending after their grace period,
which only the worker's grace watchdog moves on."""

from __future__ import annotations

import datetime as dt

from django.db.models import Min

from ontrack.alerts.models import Alert, AlertStatus
from ontrack.operations.status import StatusCheck, ago

# The grace watchdog runs every minute; pending this long past grace means it is not.
PROMOTION_LATE = dt.timedelta(minutes=3)


def alerts_pending_past_grace(now: dt.datetime) -> StatusCheck:
    overdue = Alert.objects.filter(status=AlertStatus.PENDING, visible_at__lte=now)
    oldest = overdue.aggregate(oldest=Min("visible_at"))["oldest"]
    if oldest is None:
        return StatusCheck("alerts", "Alerts pending past their grace", "none", ok=True)
    return StatusCheck(
        "alerts",
        "Alerts pending past their grace",
        f"{overdue.count()}, oldest grace ended {ago(now, oldest)}",
        ok=now - oldest <= PROMOTION_LATE,
    )
