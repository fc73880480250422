"""Reads of alerts shared by the triage queue, the alert page, the export and the API."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from ontrack.accounts.models import User
from ontrack.alerts.models import Alert, AlertStatus
from ontrack.participants.queries import participants_visible_to

QUEUE_STATUSES = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


@dataclass(frozen=True)
class AlertFilter:
    status: str = "active"
    kind: str = ""
    priority: int | None = None
    office: int | None = None


def alerts_visible_to(user: User) -> QuerySet[Alert]:
    """Alerts of the participants this user may see; pending ones (inside grace) are not
    shown to anyone: they are not yet something to act on."""
    return Alert.objects.filter(participant__in=participants_visible_to(user)).exclude(
        status=AlertStatus.PENDING
    )


def alert_filter(alerts: QuerySet[Alert], f: AlertFilter) -> QuerySet[Alert]:
    """Newest-highest-priority first within the chosen filters."""
    if f.status == "active":
        alerts = alerts.filter(status__in=QUEUE_STATUSES)
    elif f.status in AlertStatus.values:
        alerts = alerts.filter(status=f.status)
    if f.kind:
        alerts = alerts.filter(kind=f.kind)
    if f.priority:
        alerts = alerts.filter(priority=f.priority)
    if f.office:
        alerts = alerts.filter(participant__office_id=f.office)
    return alerts.order_by("-priority", "-occurred_at", "-id")


def alert_counts(alerts: QuerySet[Alert]) -> dict[str, int]:
    rows = alerts.order_by().values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}
