"""What alerts contributes to a person's timeline: each alert when its condition began, and
each later step (acknowledged, escalated out of grace, resolved with its disposition,
cleared). Codes such as ``device:47`` or the escalation count stay in the technical
details."""

from __future__ import annotations

from collections.abc import Sequence

from django.urls import reverse

from ontrack.alerts.models import Alert, AlertKind, AlertStatus, AlertStep, Priority, StepAction
from ontrack.participants.timeline import (
    Entry,
    Query,
    Source,
    page_rows,
    register_source,
)

ALERT = "alert"
ALERT_STEP = "alert_step"

STEP_TITLES = {
    AlertStatus.OPEN: "Alert opened after its grace period",
    AlertStatus.ACKNOWLEDGED: "Alert acknowledged",
    AlertStatus.RESOLVED: "Alert resolved",
    AlertStatus.AUTO_RESOLVED: "Alert cleared by itself",
    AlertStatus.CANCELLED: "Alert cleared within its grace period",
}

# Steps that keep the status: who took the alert, who was given it, what was noted.
ACTION_TITLES = {
    StepAction.CLAIM: "Alert claimed",
    StepAction.ASSIGN: "Alert assigned",
    StepAction.NOTE: "Note added to an alert",
}


def _kind_label(kind: str) -> str:
    return AlertKind(kind).label if kind in AlertKind.values else "Alert"


def _repeat_text(alert: Alert) -> str:
    """The escalation count as words: how many such alerts the escalation window held."""
    escalation = alert.details.get("escalation")
    if isinstance(escalation, int) and escalation > 1:
        return f"repeated: {escalation} alerts of this kind close together, so priority rose"
    return ""


def _technical(alert: Alert) -> tuple[tuple[str, str], ...]:
    rows = [("alert", str(alert.pk)), ("kind", alert.kind), ("condition", alert.source)]
    rows += [(str(k), str(v)) for k, v in sorted(alert.details.items())]
    return tuple(rows)


def alert_entries(q: Query) -> Sequence[Entry]:
    rows = page_rows(Alert.objects.filter(participant=q.participant), q, ALERT, time="occurred_at")
    entries = []
    for a in rows:
        parts = [f"{Priority(a.priority).label} priority", AlertStatus(a.status).label.lower()]
        if a.occurrences > 1:
            parts.append(f"happened {a.occurrences} times")
        if repeat := _repeat_text(a):
            parts.append(repeat)
        entries.append(
            Entry(
                at=a.occurred_at,
                kind=ALERT,
                id=a.pk,
                title=f"Alert: {_kind_label(a.kind)}",
                detail=" · ".join(parts),
                link=reverse("alerts:detail", args=[a.pk]),
                technical=_technical(a),
            )
        )
    return entries


def alert_step_entries(q: Query) -> Sequence[Entry]:
    """Every step after the one that raised the alert (that one is the alert's own entry)."""
    rows = page_rows(
        AlertStep.objects.filter(alert__participant=q.participant)
        .exclude(from_status="")
        .select_related("alert", "actor"),
        q,
        ALERT_STEP,
        time="at",
    )
    entries = []
    for s in rows:
        alert = s.alert
        title = ACTION_TITLES.get(StepAction(s.action)) or STEP_TITLES.get(
            AlertStatus(s.to_status), "Alert changed"
        )
        detail = _kind_label(alert.kind)
        if s.to_status == AlertStatus.RESOLVED and alert.disposition:
            detail += f" · {alert.get_disposition_display()}"
        if s.note:
            detail += f" · {s.note}"
        entries.append(
            Entry(
                at=s.at,
                kind=ALERT_STEP,
                id=s.pk,
                title=title,
                detail=detail,
                link=reverse("alerts:detail", args=[alert.pk]),
                actor=str(s.actor) if s.actor else "system",
                technical=(
                    ("alert", str(alert.pk)),
                    ("step", f"{s.from_status} -> {s.to_status}"),
                    *((("action", s.action),) if s.action != StepAction.STATUS else ()),
                    *((("disposition", alert.disposition),) if alert.disposition else ()),
                ),
            )
        )
    return entries


def register() -> None:
    register_source(Source(kind=ALERT, group="alerts", entries=alert_entries))
    register_source(Source(kind=ALERT_STEP, group="alerts", entries=alert_step_entries))
