"""Demo alerts: the demo program's shorter grace periods, and a history of handled alerts.

**Grace.** The built-in grace periods (``rules.DEFAULT_RULES``) are right for a program:
two minutes before an exclusion-zone entry reaches the queue, thirty before a low battery.
A demo is looked at in its first two minutes, so the demo program gets its own values for
the kinds the simulator's opening incidents raise (``DEMO_GRACE_MINUTES``), set through
``alert_rule_setting_save`` like a supervisor's, visible and changeable at
``/alerts/rules/``. The defaults themselves are unchanged.

**History.** Apps that know what raised an alert (tracking for devices, schedule for missed
check-ins and appointments) hand :func:`history` the conditions of the last 90 days; this
module decides how each was handled, the way a program handles them: most device alerts
clear by themselves (the device came back, the battery was charged), operators acknowledge
within minutes and close false alarms and equipment faults, and only the participant's
officer records a confirmed violation or an excuse, always with a note. Every alert gets
the steps that record it. Bulk-inserted (hundreds of alerts, several steps each); the
times are drawn so that the dashboard's time to acknowledge and to resolve look like a
staffed queue's.

**On call.** Each office has someone on call for the week from the seeding on (one of its
officers, with a fictional mobile number), so that the rota page shows a shift and an
alert left unacknowledged is texted to them.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from ontrack.accounts.models import Office, Program, Role, User
from ontrack.accounts.services import user_contact_set
from ontrack.alerts.models import (
    Alert,
    AlertKind,
    AlertStatus,
    AlertStep,
    Disposition,
    NotifyChannel,
    NotifyRecipient,
    Priority,
)
from ontrack.alerts.notifications import notification_rule_create
from ontrack.alerts.on_call import shift_add, shifts_ahead
from ontrack.alerts.rules import rule_for
from ontrack.alerts.services import RuleValues, alert_rule_setting_save
from ontrack.participants.models import Participant, Phone

NOTIFY = (
    (Priority.HIGH, NotifyRecipient.SUPERVISORS),
    (Priority.CRITICAL, NotifyRecipient.OFFICER),
)
DEMO_GRACE_MINUTES = {
    AlertKind.EXCLUSION_ZONE_ENTRY: 1,
    AlertKind.LOW_BATTERY: 1,
    AlertKind.CRITICAL_BATTERY: 1,
}


@dataclass(frozen=True, slots=True)
class Condition:
    """Something that happened to a participant and raised an alert: what, from which
    source (``device:7``, ``zone:12``, ``checkin_window:901``) and when it began."""

    participant_id: int
    kind: str
    source: str
    occurred_at: dt.datetime
    device_id: int | None = None
    zone_id: int | None = None
    details: dict[str, object] = field(default_factory=dict)


# How each kind tends to end: (outcome, weight). Outcomes: "cancelled" (cleared within
# grace), "cleared" (cleared by itself after reaching the queue), or a disposition, decided
# by the operator (false alarm, equipment fault) or the officer (the others).
ENDINGS: dict[str, list[tuple[str, int]]] = {
    AlertKind.MESSAGE_GAP: [("cleared", 60), (Disposition.EQUIPMENT_FAULT, 25), ("other", 15)],
    AlertKind.LOW_BATTERY: [("cleared", 70), ("cancelled", 10), ("other", 20)],
    AlertKind.CRITICAL_BATTERY: [("cleared", 75), ("other", 25)],
    AlertKind.STRAP_TAMPER: [
        (Disposition.EQUIPMENT_FAULT, 40),
        (Disposition.FALSE_ALARM, 35),
        (Disposition.CONFIRMED_VIOLATION, 25),
    ],
    AlertKind.EXCLUSION_ZONE_ENTRY: [
        ("cancelled", 30),
        ("cleared", 30),
        (Disposition.FALSE_ALARM, 25),
        (Disposition.CONFIRMED_VIOLATION, 15),
    ],
    AlertKind.INCLUSION_ZONE_EXIT: [
        ("cancelled", 15),
        ("cleared", 40),
        (Disposition.EXCUSED, 30),
        (Disposition.CONFIRMED_VIOLATION, 15),
    ],
    AlertKind.GPS_LOST: [("cleared", 70), (Disposition.EQUIPMENT_FAULT, 30)],
    AlertKind.MISSED_CHECKIN: [
        (Disposition.EXCUSED, 45),
        (Disposition.CONFIRMED_VIOLATION, 30),
        ("other", 25),
    ],
    AlertKind.MISSED_APPOINTMENT: [
        (Disposition.EXCUSED, 50),
        (Disposition.CONFIRMED_VIOLATION, 30),
        ("other", 20),
    ],
    AlertKind.MISSED_HEARING: [
        (Disposition.EXCUSED, 45),
        (Disposition.CONFIRMED_VIOLATION, 40),
        ("other", 15),
    ],
}
NOTES: dict[str, list[str]] = {
    Disposition.FALSE_ALARM: [
        "Fixes drifted near the boundary (accuracy 60 m); the participant was at home.",
        "Strap checked at the office visit: intact, sensor reading normal.",
        "Bus route passes the edge of the zone; no stop made.",
    ],
    Disposition.EQUIPMENT_FAULT: [
        "Unit stopped charging; officer swapped the device.",
        "Strap sensor faulty; replacement fitted at the office.",
        "Carrier outage in the area for about two hours.",
    ],
    Disposition.CONFIRMED_VIOLATION: [
        "Spoke with the participant; they confirmed it. Discussed the conditions again and "
        "noted it for the next review.",
        "Confirmed with the participant by phone; no explanation given. Recorded for the "
        "supervisor.",
        "Participant came in the next day and confirmed; warned in writing.",
    ],
    Disposition.EXCUSED: [
        "Was at the hospital with their child; letter on file.",
        "Late shift approved in advance by the officer.",
        "Attending court that day; confirmed with the clerk.",
    ],
    "other": [
        "Called the participant; the device is charging now.",
        "Participant was in a hospital basement; reported again on leaving.",
        "Reached the participant by phone; device back on the charger.",
    ],
    "other_schedule": [
        "Checked in by phone with the officer instead.",
        "Phone was lost; new number recorded and a new window set.",
        "Came to the office the same afternoon instead.",
    ],
}
SCHEDULE_KINDS = frozenset(
    {AlertKind.MISSED_CHECKIN, AlertKind.MISSED_APPOINTMENT, AlertKind.MISSED_HEARING}
)
OPERATOR_DECIDES = frozenset({Disposition.FALSE_ALARM, Disposition.EQUIPMENT_FAULT, "other"})
# Median minutes to acknowledge by priority (1 low .. 4 critical).
ACK_MEDIAN_MINUTES = {1: 45.0, 2: 14.0, 3: 6.0, 4: 3.0}


def seed(*, program: Program, seed_value: int, now: dt.datetime) -> None:
    """The demo program's grace periods (module docstring) and who hears of its alerts
    outside the console (each office's supervisors by e-mail from high priority on, the
    participant's officer for critical ones), set by its administrator, and each office's
    week on call (module docstring). With the demo's console provider those e-mails and
    texts are printed by the worker and show in the outbox as the live alerts arrive."""
    del seed_value
    admin = User.objects.filter(role=Role.ADMINISTRATOR, is_active=True).order_by("pk").first()
    if admin is None:
        return
    for kind, minutes in DEMO_GRACE_MINUTES.items():
        alert_rule_setting_save(
            user=admin, kind=kind, values=RuleValues(grace_minutes=minutes), program=program
        )
    for office in Office.objects.filter(program=program).exclude(notification_rules__isnull=False):
        for min_priority, recipient in NOTIFY:
            notification_rule_create(
                user=admin,
                office=office,
                min_priority=min_priority,
                channel=NotifyChannel.EMAIL,
                recipient=recipient,
                now=now,
            )
    _on_call_rota(admin, program, now)


# How long the demo's on-call shifts run from the seeding on.
ON_CALL_SHIFT = dt.timedelta(days=7)


def _free_demo_number(area: str, taken: set[str]) -> str | None:
    """A number in the area's 555-01XX range (reserved for fiction) that no participant,
    staff member or office of the demo has: a reply from it must reach one person only."""
    for n in range(99, 0, -1):
        number = f"+1{area}55501{n:02d}"
        if number not in taken:
            return number
    return None


def _on_call_rota(admin: User, program: Program, now: dt.datetime) -> None:
    """Each office with no shift ahead gets one, through the rota's own service: its first
    officer with a mobile number, or (seeded staff have none) its first officer, given a
    free fictional number through ``user_contact_set``, on call for ``ON_CALL_SHIFT``.
    Seeding again adds no second shift."""
    taken = (
        set(Phone.objects.values_list("number", flat=True))
        | set(User.objects.exclude(phone="").values_list("phone", flat=True))
        | set(Office.objects.exclude(phone="").values_list("phone", flat=True))
    )
    for office in Office.objects.filter(program=program).order_by("pk"):
        if shifts_ahead(office, now=now).exists():
            continue
        officers = list(
            User.objects.filter(office=office, role=Role.OFFICER, is_active=True).order_by(
                "username"
            )
        )
        person = next((o for o in officers if o.phone), officers[0] if officers else None)
        if person is None:
            continue
        if not person.phone:
            area = office.phone[2:5] if office.phone.startswith("+1") else "973"
            number = _free_demo_number(area, taken)
            if number is None:
                continue
            user_contact_set(actor=admin, user=person, phone=number)
            taken.add(number)
        shift_add(
            user=admin,
            office=office,
            person_id=person.pk,
            starts_at=now,
            ends_at=now + ON_CALL_SHIFT,
            now=now,
        )


def _minutes(rng: random.Random, median: float) -> dt.timedelta:
    """A skewed delay around ``median`` minutes (log-normal): most quick, a few long."""
    return dt.timedelta(minutes=max(0.5, rng.lognormvariate(0, 0.8) * median))


def history(conditions: Sequence[Condition], *, rng: random.Random, now: dt.datetime) -> int:
    """Alerts that arose from ``conditions`` and were handled (module docstring); none is
    left open, so that everything in the queue came from the running demo. Conditions too
    recent to have been handled are skipped. Returns how many alerts were written."""
    if not conditions:
        return 0
    pids = {c.participant_id for c in conditions}
    officer_of = dict(Participant.objects.filter(pk__in=pids).values_list("pk", "officer_id"))
    operators = list(User.objects.filter(role=Role.OPERATOR, is_active=True).order_by("pk"))
    rules = {kind: rule_for(kind) for kind in {c.kind for c in conditions}}
    alerts: list[Alert] = []
    steps: list[list[AlertStep]] = []
    for condition in sorted(conditions, key=lambda c: c.occurred_at):
        rule = rules[condition.kind]
        visible_at = condition.occurred_at + rule.grace
        values, weights = zip(*ENDINGS[condition.kind], strict=True)
        ending = rng.choices(values, weights=weights)[0]
        if ending == "cancelled" and not rule.grace:
            ending = "cleared"
        alert = Alert(
            participant_id=condition.participant_id,
            kind=condition.kind,
            source=condition.source,
            priority=int(rule.priority),
            occurred_at=condition.occurred_at,
            last_occurred_at=condition.occurred_at,
            raised_at=condition.occurred_at,
            visible_at=visible_at,
            device_id=condition.device_id,
            zone_id=condition.zone_id,
            details={**condition.details, "escalation": 1},
        )
        start = AlertStatus.PENDING if rule.grace else AlertStatus.OPEN
        trail = [AlertStep(at=alert.raised_at, from_status="", to_status=start)]
        if ending == "cancelled":
            alert.status = AlertStatus.CANCELLED
            alert.closed_at = alert.occurred_at + rule.grace / 2
            trail.append(
                AlertStep(
                    at=alert.closed_at,
                    from_status=start,
                    to_status=AlertStatus.CANCELLED,
                    note="condition cleared within the grace period",
                )
            )
        else:
            if rule.grace:
                trail.append(
                    AlertStep(
                        at=visible_at,
                        from_status=AlertStatus.PENDING,
                        to_status=AlertStatus.OPEN,
                        note="grace period over",
                    )
                )
            operator = rng.choice(operators) if operators else None
            officer_id = officer_of.get(condition.participant_id)
            ack_at = visible_at + _minutes(rng, ACK_MEDIAN_MINUTES[alert.priority])
            if ending == "cleared":
                closed_at = visible_at + _minutes(rng, 50.0)
                status = AlertStatus.OPEN
                if operator is not None and ack_at < closed_at and rng.random() < 0.6:
                    alert.acknowledged_at = ack_at
                    trail.append(
                        AlertStep(
                            at=ack_at,
                            actor=operator,
                            from_status=status,
                            to_status=AlertStatus.ACKNOWLEDGED,
                        )
                    )
                    status = AlertStatus.ACKNOWLEDGED
                alert.status, alert.closed_at = AlertStatus.AUTO_RESOLVED, closed_at
                trail.append(
                    AlertStep(
                        at=closed_at,
                        from_status=status,
                        to_status=AlertStatus.AUTO_RESOLVED,
                        note="condition cleared",
                    )
                )
            else:
                by_operator = (
                    ending in OPERATOR_DECIDES
                    and condition.kind not in SCHEDULE_KINDS
                    and operator is not None
                )
                resolver_id = operator.pk if by_operator and operator else officer_id
                if resolver_id is None:
                    continue
                alert.acknowledged_at = ack_at
                trail.append(
                    AlertStep(
                        at=ack_at,
                        actor_id=operator.pk if operator is not None else resolver_id,
                        from_status=AlertStatus.OPEN,
                        to_status=AlertStatus.ACKNOWLEDGED,
                    )
                )
                closed_at = ack_at + _minutes(rng, 40.0 if by_operator else 240.0)
                notes = "other_schedule" if condition.kind in SCHEDULE_KINDS else ending
                note = rng.choice(NOTES.get(notes, NOTES[ending]))
                disposition = Disposition.OTHER if ending == "other" else ending
                alert.status, alert.closed_at = AlertStatus.RESOLVED, closed_at
                alert.disposition, alert.resolution_note = disposition, note
                alert.resolved_by_id = resolver_id
                trail.append(
                    AlertStep(
                        at=closed_at,
                        actor_id=resolver_id,
                        from_status=AlertStatus.ACKNOWLEDGED,
                        to_status=AlertStatus.RESOLVED,
                        note=note,
                    )
                )
        if alert.closed_at is not None and alert.closed_at >= now:
            continue  # too recent to have been handled yet: left out, not left open
        alerts.append(alert)
        steps.append(trail)
    Alert.objects.bulk_create(alerts, batch_size=1000)
    if alerts and alerts[0].pk is None:  # pragma: no cover - every supported backend returns ids
        raise RuntimeError("bulk insert returned no ids")
    rows = []
    for alert, trail in zip(alerts, steps, strict=True):
        for step in trail:
            step.alert_id = alert.pk
            rows.append(step)
    AlertStep.objects.bulk_create(rows, batch_size=2000)
    return len(alerts)
