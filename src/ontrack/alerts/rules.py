"""What each kind of alert weighs: priority, grace period and the escalation window.

These are the program-wide defaults; per-program and per-participant overrides build on
this table. Escalation counts earlier alerts of the same kind for the participant within the
window (cancelled ones excluded): the second occurrence is one priority higher than the
first, the third two higher, never above critical.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ontrack.alerts.models import AlertKind, Priority


@dataclass(frozen=True, slots=True)
class AlertRule:
    priority: Priority
    grace: dt.timedelta
    escalation_window: dt.timedelta = dt.timedelta(days=7)


def _minutes(n: int) -> dt.timedelta:
    return dt.timedelta(minutes=n)


DEFAULT_RULES: dict[str, AlertRule] = {
    AlertKind.EXCLUSION_ZONE_ENTRY: AlertRule(Priority.HIGH, _minutes(2)),
    AlertKind.INCLUSION_ZONE_EXIT: AlertRule(Priority.MEDIUM, _minutes(10)),
    AlertKind.STRAP_TAMPER: AlertRule(Priority.CRITICAL, _minutes(0)),
    AlertKind.DEVICE_REMOVAL: AlertRule(Priority.CRITICAL, _minutes(0)),
    AlertKind.SOS: AlertRule(Priority.CRITICAL, _minutes(0)),
    AlertKind.LOW_BATTERY: AlertRule(Priority.LOW, _minutes(30)),
    AlertKind.CRITICAL_BATTERY: AlertRule(Priority.MEDIUM, _minutes(5)),
    AlertKind.CHARGER_NOT_CONNECTED: AlertRule(Priority.LOW, _minutes(0)),
    AlertKind.MESSAGE_GAP: AlertRule(Priority.MEDIUM, _minutes(0)),
    AlertKind.GPS_LOST: AlertRule(Priority.LOW, _minutes(20)),
    AlertKind.MISSED_CHECKIN: AlertRule(Priority.MEDIUM, _minutes(0), dt.timedelta(days=30)),
    AlertKind.MISSED_APPOINTMENT: AlertRule(Priority.MEDIUM, _minutes(0), dt.timedelta(days=30)),
    AlertKind.MISSED_HEARING: AlertRule(Priority.HIGH, _minutes(0), dt.timedelta(days=90)),
}


def rule_for(kind: str) -> AlertRule:
    try:
        return DEFAULT_RULES[kind]
    except KeyError:
        raise ValueError(f"unknown alert kind: {kind!r}") from None
