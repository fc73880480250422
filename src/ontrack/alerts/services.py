"""Raising, clearing and handling alerts. Zones, tracking and schedule raise through
``alert_raise`` and clear through ``alert_clear``; staff act through ``alert_acknowledge``
and ``alert_resolve``. Every status change writes an :class:`AlertStep`. Alerts handled in
another system arrive with its record through ``alerts_import_history``, as history that
notifies no one.

Grace is judged in the condition's own time, not by the wall clock. An alert's grace ends at
``visible_at = occurred_at + grace`` (the times the device reported), and a clear whose
``cleared_at`` is before that cancels it, whenever the clear happens to arrive. This matters
after an outage: a gateway replays hours of spooled fixes in a few seconds, so a breach that
began three hours ago and ended 40 seconds later is raised and cleared within the same
replay; judged by the wall clock it would have opened, notified staff and auto-resolved.

So a *backdated* raise (its grace already over by the wall clock when it is recorded, and a
grace to speak of) starts pending like any other, and leaves pending only when one of these
shows it was not cleared within grace:

- evidence in condition time: a later report from the participant, at or after
  ``visible_at``, that did not clear it (``alerts_promote_held``, called by tracking after
  each stored batch, once zones and device events have cleared whatever they clear), or a
  later occurrence of the same condition at or after ``visible_at`` (``alert_raise``);
- a clear at or after ``visible_at``: the condition outlasted grace, so the alert opens
  (staff are told) and is auto-resolved in the same step;
- the wall clock, as a fallback for a device that falls silent after the backlog: the grace
  has passed by condition time *and* the same grace has passed by the wall clock since the
  raise was recorded (``alerts_promote_due``), which gives the rest of a replay that long to
  bring its clear.

A live raise (``visible_at`` still ahead) is promoted by ``alerts_promote_due`` when its
grace ends, or earlier by evidence; a rule with no grace opens at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ontrack.accounts.models import Program, Role, User
from ontrack.alerts.models import (
    OPEN_STATUSES,
    Alert,
    AlertKind,
    AlertRuleSetting,
    AlertStatus,
    AlertStep,
    Disposition,
    Priority,
)
from ontrack.alerts.notifications import alert_notify_staff
from ontrack.alerts.rules import rule_for
from ontrack.participants.models import Participant
from ontrack.participants.queries import can_write_participant, participants_visible_to

logger = logging.getLogger(__name__)


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
    min_priority: int | None = None,
    now: dt.datetime | None = None,
) -> Alert | None:
    """Record that a condition holds. While an alert for the same (participant, kind,
    source) is pending, open or acknowledged, this only counts an occurrence.

    The participant's effective rule decides (``rules.rule_for``): a disabled rule raises
    nothing and returns None. ``min_priority`` lets a watchdog that measured how bad the
    condition already is (a device silent past its second tier) start the alert there."""
    rule = rule_for(kind, participant_id)
    if not rule.enabled:
        logger.info(
            "alert not raised participant=%s kind=%s source=%s reason=rule_disabled",
            participant_id,
            kind,
            source,
        )
        return None
    now = now or timezone.now()
    condition = {"participant_id": participant_id, "kind": kind, "source": source}
    for _attempt in range(2):
        existing = Alert.objects.filter(**condition, status__in=OPEN_STATUSES).first()
        if existing is not None:
            Alert.objects.filter(pk=existing.pk).update(occurrences=F("occurrences") + 1)
            if occurred_at > existing.last_occurred_at:
                Alert.objects.filter(pk=existing.pk).update(last_occurred_at=occurred_at)
            existing.refresh_from_db()
            if existing.status == AlertStatus.PENDING and occurred_at >= existing.visible_at:
                _promote(existing, now, note="condition still held after the grace period")
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
        # Recorded after its grace already ended (a replayed backlog): pending too, because
        # its clear may still be on the way (module docstring).
        backdated = bool(rule.grace) and visible_at < now
        status = AlertStatus.PENDING if visible_at > now or backdated else AlertStatus.OPEN
        priority = max(rule.priority + earlier, min_priority or Priority.LOW)
        try:
            with transaction.atomic():
                alert = Alert.objects.create(
                    **condition,
                    priority=min(priority, Priority.CRITICAL),
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
                if status == AlertStatus.OPEN:
                    alert_notify_staff(alert, now=now)
            return alert
        except IntegrityError:
            continue  # raised concurrently by another process: count on theirs
    return None


def alert_escalate(
    *,
    alert_id: int,
    priority: int,
    note: str,
    details: dict[str, object] | None = None,
    now: dt.datetime | None = None,
) -> Alert | None:
    """Raise an open alert's priority because the condition got worse (a device silent past
    the next tier). Recorded as a step that keeps the status and says why. Never lowers a
    priority; returns None when there was nothing to raise (closed, or already as high)."""
    now = now or timezone.now()
    priority = min(priority, Priority.CRITICAL)
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update()
            .filter(pk=alert_id, status__in=OPEN_STATUSES, priority__lt=priority)
            .first()
        )
        if alert is None:
            return None
        before = alert.get_priority_display()
        alert.priority = priority
        alert.details = {**alert.details, **(details or {})}
        _step(
            alert,
            alert.status,
            now,
            note=f"priority {before} -> {alert.get_priority_display()}: {note}",
        )
        alert.save(update_fields=["priority", "details"])
        logger.info("alert escalated id=%s priority=%s", alert.pk, priority)
        if alert.status != AlertStatus.PENDING:
            alert_notify_staff(alert, now=now)
    return alert


def _promote(alert: Alert, now: dt.datetime, *, note: str) -> None:
    """Pending -> open, and tell staff. The caller has checked that grace is over."""
    with transaction.atomic():
        _step(alert, AlertStatus.OPEN, now, note=note)
        alert.save(update_fields=["status"])
        alert_notify_staff(alert, now=now)


def alert_clear(
    *,
    participant_id: int,
    kind: str,
    source: str,
    cleared_at: dt.datetime,
    now: dt.datetime | None = None,
) -> int:
    """The condition is over as of ``cleared_at`` (condition time). Before the alert's
    grace ended (``visible_at``): cancelled, whatever its status and the wall clock, unless a
    person already acknowledged it (then auto-resolved, their step stands). At or after it:
    auto-resolved, and a still-pending alert is first opened (staff are told: it outlasted
    its grace, even if it is over now). A clear from before the condition began (a late,
    out-of-order report) says nothing about its end and is ignored. Returns how many
    changed."""
    now = now or timezone.now()
    changed = 0
    alerts = Alert.objects.filter(
        participant_id=participant_id, kind=kind, source=source, status__in=OPEN_STATUSES
    )
    for alert in alerts:
        if cleared_at < alert.occurred_at:
            continue
        step_at = cleared_at
        if cleared_at < alert.visible_at and alert.status != AlertStatus.ACKNOWLEDGED:
            to, note = AlertStatus.CANCELLED, "condition cleared within the grace period"
        else:
            if alert.status == AlertStatus.PENDING:
                _promote(alert, now, note="condition lasted past the grace period")
                step_at = max(cleared_at, now)  # steps stay in order: opened, then cleared
            to, note = AlertStatus.AUTO_RESOLVED, "condition cleared"
        with transaction.atomic():
            _step(alert, to, step_at, note=note)
            alert.closed_at = cleared_at
            alert.save(update_fields=["status", "closed_at"])
        changed += 1
    return changed


def alerts_promote_due(*, now: dt.datetime | None = None) -> int:
    """Pending alerts whose grace has passed join the queue: by condition time
    (``visible_at``) and, for a backdated raise, also by the wall clock since it was recorded
    (the module docstring says why)."""
    now = now or timezone.now()
    promoted = 0
    for alert in Alert.objects.filter(status=AlertStatus.PENDING, visible_at__lte=now):
        grace = alert.visible_at - alert.occurred_at
        if alert.raised_at > alert.visible_at and alert.raised_at + grace > now:
            continue  # backdated: the rest of a replay may still bring the clear
        _promote(alert, now, note="grace period over")
        promoted += 1
    return promoted


def alerts_promote_held(*, reported: dict[int, dt.datetime], now: dt.datetime | None = None) -> int:
    """Participants' latest reports (condition time) prove their pending alerts held: an
    alert still pending whose grace ended at or before a later report of its participant was
    not cleared within grace (that report would have cleared it), so it opens now. Called by
    tracking after each stored batch, once zones and device events have raised and cleared.
    Pending alerts are few, so they are read by status (indexed), not by the batch's
    participants, and only as (id, participant, end of grace): whole rows are loaded only
    for those that open. Returns how many opened."""
    if not reported:
        return 0
    now = now or timezone.now()
    held = [
        pk
        for pk, participant_id, visible_at in Alert.objects.filter(
            status=AlertStatus.PENDING, visible_at__lte=max(reported.values())
        ).values_list("pk", "participant_id", "visible_at")
        if participant_id in reported and visible_at <= reported[participant_id]
    ]
    if not held:
        return 0
    promoted = 0
    for alert in Alert.objects.filter(pk__in=held, status=AlertStatus.PENDING).order_by(
        "visible_at", "id"
    ):
        _promote(alert, now, note="reports after the grace period show it still held")
        promoted += 1
    return promoted


def _alert_for(user: User, alert_id: int) -> Alert:
    alert = Alert.objects.filter(pk=alert_id, participant__in=participants_visible_to(user)).first()
    if alert is None:
        raise PermissionDenied("No such alert in your caseload.")
    return alert


def alert_acknowledge(
    *, user: User, alert_id: int, note: str = "", now: dt.datetime | None = None
) -> Alert:
    """Someone is on it: the step names them. ``note`` says how, when not in the console
    (a reply to the on-call page)."""
    now = now or timezone.now()
    with transaction.atomic():
        alert = _alert_for(user, alert_id)
        if alert.status != AlertStatus.OPEN:
            raise ValidationError(
                f"Only open alerts can be acknowledged (this one is {alert.status})."
            )
        _step(alert, AlertStatus.ACKNOWLEDGED, now, actor=user, note=note)
        alert.acknowledged_at = now
        alert.save(update_fields=["status", "acknowledged_at"])
    return alert


# A monitoring operator triages: acknowledges, and closes what turned out to be nothing (a
# false alarm, an equipment fault). Whether the person broke a condition, or is excused, is a
# decision about the case, which only their officer, a supervisor or an administrator makes.
TRIAGE_DISPOSITIONS = (Disposition.FALSE_ALARM, Disposition.EQUIPMENT_FAULT)


def dispositions_for(user: User) -> list[Disposition]:
    """The dispositions this person may record."""
    if user.role == Role.OPERATOR:
        return list(TRIAGE_DISPOSITIONS)
    return list(Disposition)


def alert_resolve(
    *, user: User, alert_id: int, disposition: str, note: str, now: dt.datetime | None = None
) -> Alert:
    """Close an alert with a person's decision. An alert never becomes a violation by
    itself: ``confirmed_violation`` is only ever recorded here, with the resolver named and a
    note saying why, and never by a monitoring operator (``dispositions_for``)."""
    now = now or timezone.now()
    if disposition not in Disposition.values:
        raise ValidationError({"disposition": "Choose a disposition."})
    if disposition not in dispositions_for(user):
        raise PermissionDenied(
            "Monitoring operators close false alarms and equipment faults; the person's "
            "officer or supervisor decides anything else."
        )
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


# --- imported history -----------------------------------------------------------------------


@dataclass(frozen=True)
class ImportedStep:
    """One status change as another system recorded it; ``actor`` is the person as it
    named them (they have no account here)."""

    at: dt.datetime
    from_status: str
    to_status: str
    note: str
    actor: str


@dataclass(frozen=True)
class ImportedAlert:
    """An alert of another system (an OTRTS record), with its times, handling and outcome.
    ``resolved_by``/``resolver_office`` name its resolver as recorded there."""

    kind: str
    source: str
    priority: int
    status: str
    occurred_at: dt.datetime
    raised_at: dt.datetime
    visible_at: dt.datetime | None
    last_occurred_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    closed_at: dt.datetime | None
    occurrences: int
    disposition: str
    resolution_note: str
    resolved_by: str
    resolver_office: str
    details: dict[str, object]
    steps: tuple[ImportedStep, ...]
    device_id: int | None = None


def _validate_imported(alert: ImportedAlert) -> None:
    if alert.kind not in AlertKind.values:
        raise ValidationError(f"Unknown alert kind {alert.kind!r}.")
    statuses = AlertStatus.values
    if alert.status not in statuses or any(
        s.to_status not in statuses or s.from_status not in ("", *statuses) for s in alert.steps
    ):
        raise ValidationError(f"An imported {alert.kind} alert has an unknown status.")
    if alert.priority not in Priority.values:
        raise ValidationError(f"Unknown alert priority {alert.priority!r}.")
    if alert.disposition not in ("", *Disposition.values):
        raise ValidationError(f"Unknown disposition {alert.disposition!r}.")
    if alert.disposition == Disposition.CONFIRMED_VIOLATION and not (
        alert.resolved_by.strip() and alert.resolution_note.strip()
    ):
        raise ValidationError(
            "An imported confirmed violation needs its resolver and their note: only a named "
            "person confirms one."
        )


@transaction.atomic
def alerts_import_history(
    participant: Participant,
    alerts: Sequence[ImportedAlert],
    *,
    importer: User,
    source_system: str,
) -> list[Alert]:
    """Write alerts handled in another system as history: never raised through
    ``alert_raise`` and never notifying anyone (staff there already heard of them).

    Each keeps its times, status, steps and disposition, and says where it came from
    (``details["imported_from"]``). A resolution stays its resolver's: they are named as the
    record names them, with the import recorded beside them, never the importer (they
    decided nothing). A pending alert's grace timer belonged to the old system: it arrives
    open, its original status kept in ``imported_from``, so that no grace watchdog
    promotes it and notifies."""
    if not can_write_participant(importer, participant):
        raise PermissionDenied("You may not change this participant's alerts.")
    now = timezone.now()
    written = []
    for a in alerts:
        _validate_imported(a)
        imported: dict[str, object] = {"system": source_system or "unknown"}
        status = a.status
        if status == AlertStatus.PENDING:
            imported["status"] = status
            status = AlertStatus.OPEN
        if a.resolved_by:
            imported["resolved_by"] = a.resolved_by
        if any(s.actor for s in a.steps):
            imported["step_actors"] = [s.actor for s in a.steps]
        if (
            status in OPEN_STATUSES
            and Alert.objects.filter(
                participant=participant, kind=a.kind, source=a.source, status__in=OPEN_STATUSES
            ).exists()
        ):
            raise ValidationError(f"A second open {a.kind} alert for {a.source}.")
        resolved = bool(a.resolved_by or a.disposition)
        alert = Alert.objects.create(
            participant=participant,
            kind=a.kind,
            source=a.source,
            priority=a.priority,
            status=status,
            occurred_at=a.occurred_at,
            raised_at=a.raised_at,
            visible_at=a.visible_at or a.raised_at,
            last_occurred_at=a.last_occurred_at or a.occurred_at,
            acknowledged_at=a.acknowledged_at,
            closed_at=a.closed_at,
            occurrences=a.occurrences,
            device_id=a.device_id,
            details={**a.details, "imported_from": imported},
            disposition=a.disposition,
            resolution_note=a.resolution_note,
            resolved_by=None,
            resolved_by_name=a.resolved_by,
            resolved_by_office=a.resolver_office if a.resolved_by else "",
            resolution_imported_at=now if resolved else None,
            resolution_imported_by=importer if resolved else None,
        )
        AlertStep.objects.bulk_create(
            AlertStep(
                alert=alert, at=s.at, from_status=s.from_status, to_status=s.to_status, note=s.note
            )
            for s in a.steps
        )
        written.append(alert)
    logger.info(
        "alerts imported participant=%s importer=%s alerts=%s",
        participant.pk,
        importer.pk,
        len(written),
    )
    return written


# --- rule settings --------------------------------------------------------------------------


def program_rules_editable_by(user: User, program: Program) -> bool:
    """Supervisors set their own program's rules, administrators every program's."""
    if not user.is_active:
        return False
    if user.role == Role.ADMINISTRATOR:
        return True
    return (
        user.role == Role.SUPERVISOR
        and user.office is not None
        and user.office.program_id == program.pk
    )


@dataclass(frozen=True, slots=True)
class RuleValues:
    """One kind's values as a person set them; None inherits."""

    enabled: bool | None = None
    priority: int | None = None
    grace_minutes: int | None = None
    escalation_window_hours: int | None = None
    charger_hours: int | None = None
    gap_tiers_minutes: tuple[int, ...] | None = None
    battery_pct: int | None = None
    no_fix_minutes: int | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in dataclasses.fields(self))


def _validate_rule_values(kind: str, values: RuleValues) -> None:
    errors: dict[str, str] = {}
    if kind not in AlertKind.values:
        raise ValidationError({"kind": f"Unknown alert kind {kind!r}."})
    if values.priority is not None and values.priority not in Priority.values:
        errors["priority"] = "Choose a priority."
    if values.charger_hours is not None:
        if kind != AlertKind.CHARGER_NOT_CONNECTED:
            errors["charger_hours"] = "Only the charger rule has a number of hours."
        elif values.charger_hours < 1:
            errors["charger_hours"] = "At least one hour."
    if values.battery_pct is not None:
        if kind not in (AlertKind.LOW_BATTERY, AlertKind.CRITICAL_BATTERY):
            errors["battery_pct"] = "Only the battery rules have a level."
        elif not 1 <= values.battery_pct <= 95:
            errors["battery_pct"] = "A level from 1 to 95 percent."
    if values.no_fix_minutes is not None:
        if kind != AlertKind.GPS_LOST:
            errors["no_fix_minutes"] = "Only the GPS-lost rule has minutes without a fix."
        elif values.no_fix_minutes < 5:
            errors["no_fix_minutes"] = "At least five minutes."
    tiers = values.gap_tiers_minutes
    if tiers is not None:
        if kind != AlertKind.MESSAGE_GAP:
            errors["gap_tiers_minutes"] = "Only the message-gap rule has tiers."
        elif not tiers or len(tiers) > 5 or min(tiers) < 1:
            errors["gap_tiers_minutes"] = "One to five tiers, each at least one minute."
        elif list(tiers) != sorted(set(tiers)):
            errors["gap_tiers_minutes"] = "Tiers must rise, e.g. 30, 120, 1440."
    if errors:
        raise ValidationError(errors)


def alert_rule_setting_save(
    *,
    user: User,
    kind: str,
    values: RuleValues,
    program: Program | None = None,
    participant: Participant | None = None,
    now: dt.datetime | None = None,
) -> AlertRuleSetting | None:
    """Set a program's (supervisors, administrators) or a participant's (whoever may write
    the participant) values for one kind. All values empty removes the setting, so the kind
    inherits again; returns None then."""
    if (program is None) == (participant is None):
        raise ValueError("give exactly one of program and participant")
    if program is not None and not program_rules_editable_by(user, program):
        raise PermissionDenied("Only the program's supervisors and administrators set its rules.")
    if participant is not None and not can_write_participant(user, participant):
        raise PermissionDenied("You may only change the rules of participants you supervise.")
    _validate_rule_values(kind, values)
    owner = {"program": program} if program is not None else {"participant": participant}
    now = now or timezone.now()
    with transaction.atomic():
        if values.is_empty():
            AlertRuleSetting.objects.filter(kind=kind, **owner).delete()
            setting = None
        else:
            setting, _ = AlertRuleSetting.objects.update_or_create(
                kind=kind,
                **owner,
                defaults={
                    "enabled": values.enabled,
                    "priority": values.priority,
                    "grace_minutes": values.grace_minutes,
                    "escalation_window_hours": values.escalation_window_hours,
                    "charger_hours": values.charger_hours,
                    "battery_pct": values.battery_pct,
                    "no_fix_minutes": values.no_fix_minutes,
                    "gap_tiers_minutes": (
                        list(values.gap_tiers_minutes) if values.gap_tiers_minutes else None
                    ),
                    "updated_at": now,
                    "updated_by": user,
                },
            )
    logger.info(
        "alert rule set kind=%s program=%s participant=%s by=%s cleared=%s",
        kind,
        program.pk if program is not None else "",
        participant.pk if participant is not None else "",
        user.pk,
        setting is None,
    )
    return setting
