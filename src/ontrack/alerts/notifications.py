"""Telling staff of an alert outside the console: per office, from a minimum priority on, by
e-mail or text, to the participant's officer, the office's supervisors or a fixed address.

``alert_notify_staff`` is called whenever an alert becomes visible to staff: created open,
promoted from pending when its grace ends, or escalated to a higher priority. It writes the
notices into messaging's outbox in the caller's transaction. An ``AlertNotice`` row per
(alert, channel, address) makes it write each notice once, so a promotion after an
escalation, or a retried watchdog, never texts the same person twice about one alert; an
escalation reaches only the rules that its new priority now meets.

Notices carry the case number and a link, not the participant's name: a text or an e-mail
leaves the system, and the link leads to the console where access is checked and logged.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from ontrack.accounts.models import Office, Role, User
from ontrack.alerts.models import (
    Alert,
    AlertNotice,
    NotificationRule,
    NotifyChannel,
    NotifyRecipient,
    Priority,
)
from ontrack.messaging.services import staff_notice_queue
from ontrack.participants.models import Status
from ontrack.participants.services import phone_normalise

logger = logging.getLogger(__name__)

OPEN_CASE_STATUSES = (Status.ENROLLED, Status.ACTIVE, Status.SUSPENDED)


@dataclass(frozen=True, slots=True)
class _Target:
    rule: NotificationRule
    user: User | None
    channel: str
    address: str


def _address_of(user: User, channel: str) -> str:
    return user.email if channel == NotifyChannel.EMAIL else user.phone


def _normalised(channel: str, address: str) -> str:
    """The address as the outbox will hold it; raises ValidationError for a bad one."""
    address = address.strip()
    if channel == NotifyChannel.SMS:
        return phone_normalise(address)
    validate_email(address)
    return address.lower()


def _targets(alert: Alert) -> list[_Target]:
    participant = alert.participant
    rules = NotificationRule.objects.filter(
        office_id=participant.office_id, min_priority__lte=alert.priority
    ).order_by("id")
    targets: list[_Target] = []
    for rule in rules:
        if rule.recipient == NotifyRecipient.ADDRESS:
            targets.append(_Target(rule, None, rule.channel, rule.address))
            continue
        if rule.recipient == NotifyRecipient.OFFICER:
            officer = participant.officer
            people = [officer] if officer is not None and officer.is_active else []
        else:
            people = list(
                User.objects.filter(
                    office_id=rule.office_id, role=Role.SUPERVISOR, is_active=True
                ).order_by("pk")
            )
        targets += [
            _Target(rule, person, rule.channel, _address_of(person, rule.channel))
            for person in people
        ]
    return targets


def _text(alert: Alert) -> tuple[str, str]:
    participant = alert.participant
    office = participant.office
    zone = ZoneInfo(office.time_zone)
    since = alert.occurred_at.astimezone(zone)
    subject = f"{alert.get_priority_display()} alert: {alert.get_kind_display()}"
    link = settings.ONTRACK_PUBLIC_URL + reverse("alerts:detail", args=[alert.pk])
    body = (
        f"Case {participant.case_number} ({office.name}) since "
        f"{since:%Y-%m-%d %H:%M} {since.tzname()}. {link}"
    )
    return subject, body


def alert_notify_staff(alert: Alert, *, now: dt.datetime | None = None) -> int:
    """Write the notices the participant's office asks for at this alert's priority, each
    (channel, address) once per alert. Returns how many were written.

    A notice that cannot be written (a staff phone that is not a number) is logged and
    skipped; a failure here never undoes the alert that caused it."""
    now = now or timezone.now()
    written = 0
    try:
        with transaction.atomic():
            subject, body = "", ""
            for target in _targets(alert):
                if not target.address.strip():
                    logger.info(
                        "alert notice skipped alert=%s rule=%s user=%s reason=no_address",
                        alert.pk,
                        target.rule.pk,
                        target.user.pk if target.user is not None else "",
                    )
                    continue
                try:
                    address = _normalised(target.channel, target.address)
                except ValidationError:
                    logger.warning(
                        "alert notice skipped alert=%s rule=%s reason=bad_address",
                        alert.pk,
                        target.rule.pk,
                    )
                    continue
                try:
                    with transaction.atomic():
                        notice = AlertNotice.objects.create(
                            alert=alert,
                            rule=target.rule,
                            channel=target.channel,
                            to=address,
                            priority=alert.priority,
                            created_at=now,
                        )
                except IntegrityError:
                    continue  # this address already heard of this alert
                if not subject:
                    subject, body = _text(alert)
                message = staff_notice_queue(
                    user=target.user,
                    channel=target.channel,
                    subject=subject,
                    body=body,
                    cause=f"alert:{alert.pk}",
                    address=address,
                )
                if message is not None:
                    AlertNotice.objects.filter(pk=notice.pk).update(message_id=message.pk)
                    written += 1
    except Exception:
        logger.exception("alert notices failed alert=%s; the alert stands", alert.pk)
        return 0
    if written:
        logger.info("alert notices written alert=%s count=%d", alert.pk, written)
    return written


# --- the office's rules ---------------------------------------------------------------------


def notification_rules_editable_by(user: User, office: Office) -> bool:
    """An office's supervisors and the administrators decide who is told of its alerts."""
    if not user.is_active:
        return False
    if user.role == Role.ADMINISTRATOR:
        return True
    return user.role == Role.SUPERVISOR and user.office_id == office.pk


def notification_rule_create(
    *,
    user: User,
    office: Office,
    min_priority: int,
    channel: str,
    recipient: str,
    address: str = "",
    now: dt.datetime | None = None,
) -> NotificationRule:
    if not notification_rules_editable_by(user, office):
        raise PermissionDenied("Only the office's supervisors and administrators set this.")
    errors: dict[str, str] = {}
    if min_priority not in Priority.values:
        errors["min_priority"] = "Choose a priority."
    if channel not in NotifyChannel.values:
        errors["channel"] = "Choose e-mail or text."
    if recipient not in NotifyRecipient.values:
        errors["recipient"] = "Choose who is told."
    address = address.strip()
    if recipient == NotifyRecipient.ADDRESS and channel in NotifyChannel.values:
        try:
            address = _normalised(channel, address)
        except ValidationError:
            errors["address"] = (
                "Give a phone number."
                if channel == NotifyChannel.SMS
                else "Give an e-mail address."
            )
    elif address:
        errors["address"] = "Only a fixed-address rule has an address."
    if errors:
        raise ValidationError(errors)
    rule = NotificationRule.objects.create(
        office=office,
        min_priority=min_priority,
        channel=channel,
        recipient=recipient,
        address=address,
        created_at=now or timezone.now(),
        created_by=user,
    )
    logger.info("notification rule created id=%s office=%s by=%s", rule.pk, office.pk, user.pk)
    return rule


def _people_named_by(rule: NotificationRule) -> list[User]:
    """Whoever the rule may have to reach: the office's supervisors, or for "the
    participant's officer" every active officer of the office and anyone holding one of its
    open cases."""
    staff = User.objects.filter(is_active=True)
    if rule.recipient == NotifyRecipient.SUPERVISORS:
        people = staff.filter(office_id=rule.office_id, role=Role.SUPERVISOR)
    else:
        people = staff.filter(
            Q(office_id=rule.office_id, role=Role.OFFICER)
            | Q(caseload__office_id=rule.office_id, caseload__status__in=OPEN_CASE_STATUSES)
        )
    return list(people.distinct().order_by("last_name", "first_name", "username"))


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """One reason a rule cannot deliver: the person it cannot reach (None: nobody to reach)."""

    person: User | None
    text: str

    def __str__(self) -> str:
        return self.text


def notification_rule_problems(rule: NotificationRule) -> list[RuleProblem]:
    """Why this rule cannot deliver every notice it stands for, in words for the page (an
    empty list: it can). A text to staff needs a number on their account and an e-mail an
    address; without one the notice is skipped, which must not pass unseen."""
    if rule.recipient == NotifyRecipient.ADDRESS:
        return []
    people = _people_named_by(rule)
    if not people:
        who = "supervisor" if rule.recipient == NotifyRecipient.SUPERVISORS else "officer"
        return [RuleProblem(None, f"the office has no active {who}")]
    what = "phone number" if rule.channel == NotifyChannel.SMS else "e-mail address"
    problems = []
    for person in people:
        address = _address_of(person, rule.channel).strip()
        if not address:
            problems.append(RuleProblem(person, f"{person} has no {what}"))
            continue
        try:
            _normalised(rule.channel, address)
        except ValidationError:
            problems.append(RuleProblem(person, f"{person} has a {what} that is not valid"))
    return problems


def notification_rule_delete(*, user: User, rule: NotificationRule) -> None:
    if not notification_rules_editable_by(user, rule.office):
        raise PermissionDenied("Only the office's supervisors and administrators set this.")
    rule_id = rule.pk
    rule.delete()
    logger.info("notification rule deleted id=%s office=%s by=%s", rule_id, rule.office_id, user.pk)
