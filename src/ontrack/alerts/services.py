"""Raising, clearing and handling alerts. Zones, tracking and schedule raise through
``alert_raise`` and clear through ``alert_clear``; staff act through ``alert_acknowledge``
and ``alert_resolve``. Every status change writes an :class:`AlertStep`.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ontrack.accounts.models import User
from ontrack.alerts.models import (
    OPEN_STATUSES,
    Alert,
    AlertStatus,
    AlertStep,
    Disposition,
    Priority,
)
from ontrack.alerts.rules import rule_for
from ontrack.participants.queries import participants_visible_to


def _step(
    alert: Alert, to: str, at: dt.datetime, actor: User | None = None, note: str = ""
) -> None:
    AlertStep.objects.create(
        alert=alert, at=at, actor=actor, from_status=alert.status, to_status=to, note=note
    )
    alert.status = to


def alert_raise(
    *,
    participant_id: int,
    kind: str,
    source: str,
    occurred_at: dt.datetime,
    details: dict[str, object] | None = None,
    device_id: int | None = None,
    zone_id: int | None = None,
    now: dt.datetime | None = None,
) -> Alert | None:
    """Record that a condition holds. While an alert for the same (participant, kind,
    source) is pending, open or acknowledged, this only counts an occurrence."""
    rule = rule_for(kind)
    now = now or timezone.now()
    condition = {"participant_id": participant_id, "kind": kind, "source": source}
    for _attempt in range(2):
        existing = Alert.objects.filter(**condition, status__in=OPEN_STATUSES).first()
        if existing is not None:
            Alert.objects.filter(pk=existing.pk).update(occurrences=F("occurrences") + 1)
            if occurred_at > existing.last_occurred_at:
                Alert.objects.filter(pk=existing.pk).update(last_occurred_at=occurred_at)
            existing.refresh_from_db()
            return existing
        earlier = (
            Alert.objects.filter(
                participant_id=participant_id,
                kind=kind,
                occurred_at__gte=occurred_at - rule.escalation_window,
                occurred_at__lt=occurred_at,
            )
            .exclude(status=AlertStatus.CANCELLED)
            .count()
        )
        visible_at = occurred_at + rule.grace
        status = AlertStatus.PENDING if visible_at > now else AlertStatus.OPEN
        try:
            with transaction.atomic():
                alert = Alert.objects.create(
                    **condition,
                    priority=min(rule.priority + earlier, Priority.CRITICAL),
                    status=status,
                    occurred_at=occurred_at,
                    last_occurred_at=occurred_at,
                    raised_at=now,
                    visible_at=visible_at,
                    device_id=device_id,
                    zone_id=zone_id,
                    details={**(details or {}), "escalation": earlier + 1},
                )
                AlertStep.objects.create(alert=alert, at=now, to_status=status)
            return alert
        except IntegrityError:
            continue  # raised concurrently by another process: count on theirs
    return None


def alert_clear(*, participant_id: int, kind: str, source: str, cleared_at: dt.datetime) -> int:
    """The condition is over: cancel an alert still within grace (nobody ever saw it),
    auto-resolve one that is open or acknowledged. Returns how many changed."""
    changed = 0
    alerts = Alert.objects.filter(
        participant_id=participant_id, kind=kind, source=source, status__in=OPEN_STATUSES
    )
    for alert in alerts:
        to = (
            AlertStatus.CANCELLED
            if alert.status == AlertStatus.PENDING
            else AlertStatus.AUTO_RESOLVED
        )
        _step(alert, to, cleared_at, note="condition cleared")
        alert.closed_at = cleared_at
        alert.save(update_fields=["status", "closed_at"])
        changed += 1
    return changed


def alerts_promote_due(*, now: dt.datetime | None = None) -> int:
    """Pending alerts whose grace has passed join the queue."""
    now = now or timezone.now()
    promoted = 0
    for alert in Alert.objects.filter(status=AlertStatus.PENDING, visible_at__lte=now):
        with transaction.atomic():
            _step(alert, AlertStatus.OPEN, now, note="grace period over")
            alert.save(update_fields=["status"])
        promoted += 1
    return promoted


def _alert_for(user: User, alert_id: int) -> Alert:
    alert = Alert.objects.filter(pk=alert_id, participant__in=participants_visible_to(user)).first()
    if alert is None:
        raise PermissionDenied("No such alert in your caseload.")
    return alert


def alert_acknowledge(*, user: User, alert_id: int, now: dt.datetime | None = None) -> Alert:
    now = now or timezone.now()
    with transaction.atomic():
        alert = _alert_for(user, alert_id)
        if alert.status != AlertStatus.OPEN:
            raise ValidationError(
                f"Only open alerts can be acknowledged (this one is {alert.status})."
            )
        _step(alert, AlertStatus.ACKNOWLEDGED, now, actor=user)
        alert.acknowledged_at = now
        alert.save(update_fields=["status", "acknowledged_at"])
    return alert


def alert_resolve(
    *, user: User, alert_id: int, disposition: str, note: str, now: dt.datetime | None = None
) -> Alert:
    """Close an alert with a person's decision. An alert never becomes a violation by
    itself: ``confirmed_violation`` is only ever recorded here, with the resolver named and a
    note saying why."""
    now = now or timezone.now()
    if disposition not in Disposition.values:
        raise ValidationError({"disposition": "Choose a disposition."})
    if not note.strip():
        raise ValidationError({"note": "Say what was found and decided."})
    with transaction.atomic():
        alert = _alert_for(user, alert_id)
        if alert.status not in (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED):
            raise ValidationError(f"This alert is {alert.get_status_display().lower()}.")
        _step(alert, AlertStatus.RESOLVED, now, actor=user, note=note)
        if alert.acknowledged_at is None:
            alert.acknowledged_at = now
        alert.closed_at = now
        alert.disposition = disposition
        alert.resolution_note = note.strip()
        alert.resolved_by = user
        alert.save()
    return alert
