"""On call: who answers for an office's alerts that nobody has acknowledged, and the text
that asks them to, answered by a reply.

An office's supervisors (and the administrators) keep its rota: shifts of one person each,
entered in the office's zone, never overlapping, so that at any moment at most one person
is on call. An alert still open (never acknowledged) ``escalate_after`` since it opened, at
or above the office's lowest priority for this (``policy_for``), is texted to whoever is
on call then, once per alert (:class:`OnCallPage`), by ``alerts_page_on_call``, the
worker's job. Only alerts of participants the person on call may see are sent to them: an
officer on call hears of their own caseload, a supervisor of the office's.

The text gives the case number and a link, never the name (as ``notifications`` does: a
text leaves the system), and a code: "Reply ACK 4821 to acknowledge". The reply
acknowledges as the person paged, through ``services.alert_acknowledge``, so its step is
the console's own, with who and when. It counts only

- from the number the page went to (a code is looked up among that number's pages alone,
  so a code guessed or read off another phone acknowledges nothing sent elsewhere),
- before the code expires (``CODE_LIFETIME``), once,
- while the alert is still open and the person may still see it,
- and while that number has not sent ``MAX_WRONG_REPLIES`` codes it was never sent: each
  wrong code counts against every live page to the number, so guessing a 4-digit code is
  a few tries out of ten thousand, not ten thousand.

Anything else is answered by a text that says why, and changes nothing. Codes are random,
unique among one number's live pages, and kept only as a keyed hash.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from ontrack.accounts.models import Office, Role, User
from ontrack.alerts.models import (
    Alert,
    AlertStatus,
    OnCallPage,
    OnCallPolicy,
    OnCallShift,
    Priority,
    StepAction,
)
from ontrack.alerts.notifications import notification_rules_editable_by
from ontrack.alerts.services import alert_acknowledge
from ontrack.messaging.reply_handlers import StaffAnswer, StaffReply
from ontrack.messaging.services import staff_notice_queue
from ontrack.participants.queries import participants_visible_to
from ontrack.participants.services import phone_normalise

logger = logging.getLogger(__name__)

KEYWORD = "ACK"
# How long a page's code acknowledges: a night's shift and the morning after.
CODE_LIFETIME = dt.timedelta(hours=12)
CODE_DIGITS = 4
# Wrong codes from a number after which its pages acknowledge nothing by text any more.
MAX_WRONG_REPLIES = 5
# Below this, an office that set nothing is not paged at night for it (a low battery).
DEFAULT_MIN_PRIORITY = Priority.HIGH
# Who may be on call: those who handle alerts, of the office or (operators) of every office.
ON_CALL_ROLES = (Role.OFFICER, Role.SUPERVISOR, Role.OPERATOR)
ACK_NOTE = "acknowledged by text, answering the on-call page"

_CODE = re.compile(rf"^\s*{KEYWORD}\W+(\d+)\s*\W*$", re.IGNORECASE)


def on_call_editable_by(user: User, office: Office) -> bool:
    """The rota is the office's, as its notifications are: its supervisors and the
    administrators keep it."""
    return notification_rules_editable_by(user, office)


def _require_editor(user: User, office: Office) -> None:
    if not on_call_editable_by(user, office):
        raise PermissionDenied("Only the office's supervisors and administrators keep its rota.")


# --- the office's policy -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Policy:
    """When an office's alerts go to the person on call; ``own`` when the office set it."""

    escalate_after: dt.timedelta
    min_priority: int
    own: bool

    @property
    def minutes(self) -> int:
        return int(self.escalate_after.total_seconds() // 60)

    @property
    def priority_label(self) -> str:
        return Priority(self.min_priority).label


def policy_for(office: Office) -> Policy:
    own = OnCallPolicy.objects.filter(office=office).first()
    if own is None:
        return Policy(
            dt.timedelta(minutes=settings.ONTRACK_ALERTS_ON_CALL_MINUTES),
            DEFAULT_MIN_PRIORITY,
            own=False,
        )
    return Policy(dt.timedelta(minutes=own.escalate_after_minutes), own.min_priority, own=True)


def policy_set(
    *,
    user: User,
    office: Office,
    escalate_after_minutes: int,
    min_priority: int,
    now: dt.datetime | None = None,
) -> OnCallPolicy:
    _require_editor(user, office)
    errors: dict[str, str] = {}
    if not 1 <= escalate_after_minutes <= 24 * 60:
        errors["escalate_after_minutes"] = "From 1 minute to 24 hours (1440 minutes)."
    if min_priority not in Priority.values:
        errors["min_priority"] = "Choose a priority."
    if errors:
        raise ValidationError(errors)
    policy, _ = OnCallPolicy.objects.update_or_create(
        office=office,
        defaults={
            "escalate_after_minutes": escalate_after_minutes,
            "min_priority": min_priority,
            "updated_at": now or timezone.now(),
            "updated_by": user,
        },
    )
    logger.info(
        "on-call policy set office=%s minutes=%s priority=%s by=%s",
        office.pk,
        escalate_after_minutes,
        min_priority,
        user.pk,
    )
    return policy


# --- the rota ------------------------------------------------------------------------------


def on_call_candidates(office: Office) -> QuerySet[User]:
    """Whom a shift may name: the office's active officers and supervisors, and monitoring
    operators (who work every office's queue)."""
    return User.objects.filter(
        Q(office=office, role__in=(Role.OFFICER, Role.SUPERVISOR)) | Q(role=Role.OPERATOR),
        is_active=True,
    ).order_by("last_name", "first_name", "username")


def shift_add(
    *,
    user: User,
    office: Office,
    person_id: int,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    now: dt.datetime | None = None,
) -> OnCallShift:
    """Put someone on call for the office from ``starts_at`` to ``ends_at``. Refused when it
    is over already, ends before it starts, or overlaps another of the office's shifts (two
    people on call would each think the other answered)."""
    _require_editor(user, office)
    now = now or timezone.now()
    person = on_call_candidates(office).filter(pk=person_id).first()
    if person is None:
        raise ValidationError({"person": "Choose one of the office's staff who handle alerts."})
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "The shift must end after it starts."})
    if ends_at <= now:
        raise ValidationError({"ends_at": "This shift is over already."})
    with transaction.atomic():
        # The office row is locked so that two supervisors cannot add overlapping shifts.
        Office.objects.select_for_update().filter(pk=office.pk).first()
        clash = (
            OnCallShift.objects.filter(office=office, starts_at__lt=ends_at, ends_at__gt=starts_at)
            .select_related("person")
            .first()
        )
        if clash is not None:
            raise ValidationError(
                f"{clash.person} is on call for part of that time; change or remove that "
                "shift first."
            )
        shift = OnCallShift.objects.create(
            office=office,
            person=person,
            starts_at=starts_at,
            ends_at=ends_at,
            created_at=now,
            created_by=user,
        )
    logger.info(
        "on-call shift added id=%s office=%s person=%s by=%s",
        shift.pk,
        office.pk,
        person.pk,
        user.pk,
    )
    return shift


def shift_remove(*, user: User, shift: OnCallShift) -> None:
    _require_editor(user, shift.office)
    shift_id = shift.pk
    shift.delete()
    logger.info("on-call shift removed id=%s office=%s by=%s", shift_id, shift.office_id, user.pk)


def shifts_ahead(office: Office, *, now: dt.datetime | None = None) -> QuerySet[OnCallShift]:
    """The office's current and coming shifts, soonest first."""
    now = now or timezone.now()
    return OnCallShift.objects.filter(office=office, ends_at__gt=now).select_related("person")


def on_call_at(office_id: int, at: dt.datetime) -> OnCallShift | None:
    return (
        OnCallShift.objects.filter(office_id=office_id, starts_at__lte=at, ends_at__gt=at)
        .select_related("person")
        .first()
    )


def shift_problem(shift: OnCallShift) -> str:
    """Why this shift's person cannot be paged ("" when they can), for the rota page."""
    if not shift.person.phone.strip():
        return f"{shift.person} has no mobile phone number, so cannot be texted"
    try:
        phone_normalise(shift.person.phone)
    except ValidationError:
        return f"{shift.person} has a phone number that is not valid"
    return ""


# --- paging ----------------------------------------------------------------------------------


def _overdue(office_id: int, person: User, policy: Policy, now: dt.datetime) -> QuerySet[Alert]:
    """The office's alerts open, unacknowledged and not yet paged for at least the policy's
    time since they opened, that ``person`` may see. An alert imported from another system
    is history that notifies no one (``services.alerts_import_history``): never paged."""
    cutoff = now - policy.escalate_after
    return (
        Alert.objects.filter(
            participant__office_id=office_id,
            participant__in=participants_visible_to(person),
            status=AlertStatus.OPEN,
            priority__gte=policy.min_priority,
            visible_at__lte=cutoff,
            on_call_page__isnull=True,
        )
        .exclude(details__has_key="imported_from")
        .annotate(
            opened_at=Max(
                "steps__at",
                filter=Q(steps__to_status=AlertStatus.OPEN, steps__action=StepAction.STATUS),
            )
        )
        .filter(opened_at__lte=cutoff)
        .select_related("participant__office")
        .order_by("-priority", "opened_at", "id")
    )


def on_call_page_of(alert: Alert) -> OnCallPage | None:
    """The text that paged the person on call about ``alert``, if one did."""
    return OnCallPage.objects.filter(alert=alert).select_related("person").first()


def _code_hash(phone: str, code: str) -> str:
    """The code as kept: a keyed hash with the number it went to, so that neither the
    database nor a participant's data export holds a code that works."""
    return salted_hmac("ontrack.alerts.on_call", f"{phone}:{code}", algorithm="sha256").hexdigest()


def _new_code(phone: str, now: dt.datetime) -> str:
    """A random code no live page to ``phone`` carries."""
    live = set(
        OnCallPage.objects.filter(
            phone=phone, answered_at__isnull=True, expires_at__gt=now
        ).values_list("code_hash", flat=True)
    )
    while True:
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        if _code_hash(phone, code) not in live:
            return code


def _page_text(alert: Alert, code: str) -> tuple[str, str]:
    participant = alert.participant
    office = participant.office
    since = alert.occurred_at.astimezone(ZoneInfo(office.time_zone))
    link = settings.ONTRACK_PUBLIC_URL + reverse("alerts:detail", args=[alert.pk])
    subject = f"{alert.get_priority_display()} alert not acknowledged: {alert.get_kind_display()}"
    body = (
        f"Case {participant.case_number} ({office.name}) since "
        f"{since:%Y-%m-%d %H:%M} {since.tzname()}. Reply {KEYWORD} {code} to acknowledge. {link}"
    )
    return subject, body


def _page(alert: Alert, person: User, phone: str, now: dt.datetime) -> bool:
    with transaction.atomic():
        code = _new_code(phone, now)
        try:
            with transaction.atomic():
                page = OnCallPage.objects.create(
                    alert=alert,
                    person=person,
                    phone=phone,
                    code_hash=_code_hash(phone, code),
                    sent_at=now,
                    expires_at=now + CODE_LIFETIME,
                )
        except IntegrityError:
            return False  # paged meanwhile by another worker
        subject, body = _page_text(alert, code)
        message = staff_notice_queue(
            user=person,
            channel="sms",
            subject=subject,
            body=body,
            cause=f"alert:{alert.pk} on call",
            address=phone,
        )
        if message is not None:
            OnCallPage.objects.filter(pk=page.pk).update(message_id=message.pk)
    logger.info("on-call page written alert=%s person=%s", alert.pk, person.pk)
    return True


def alerts_page_on_call(*, now: dt.datetime | None = None) -> int:
    """Text the person on call of each office about its alerts left open unacknowledged past
    the office's escalation time, each alert once. Returns how many were texted."""
    now = now or timezone.now()
    paged = 0
    shifts = OnCallShift.objects.filter(starts_at__lte=now, ends_at__gt=now).select_related(
        "person", "office"
    )
    for shift in shifts:
        person = shift.person
        if not person.is_active:
            continue
        alerts = list(_overdue(shift.office_id, person, policy_for(shift.office), now))
        if not alerts:
            continue
        try:
            phone = phone_normalise(person.phone)
        except ValidationError:
            logger.warning(
                "on-call page skipped office=%s person=%s alerts=%s reason=no_valid_phone",
                shift.office_id,
                person.pk,
                len(alerts),
            )
            continue
        paged += sum(_page(alert, person, phone, now) for alert in alerts)
    return paged


# --- the reply -------------------------------------------------------------------------------


def on_call_reply(reply: StaffReply) -> StaffAnswer:
    """Acknowledge the alert a page's code names, as the person it was sent to, if the
    reply came from that page's number (the module docstring lists every condition)."""
    refused = "Not acknowledged"
    match = _CODE.match(reply.body)
    if match is None:
        return StaffAnswer(refused, f"Reply {KEYWORD} and the code from the alert text.")
    code = match.group(1)
    try:
        phone = phone_normalise(reply.from_number)
    except ValidationError:
        phone = ""
    page = (
        OnCallPage.objects.filter(
            phone=phone, code_hash=_code_hash(phone, code), expires_at__gt=reply.received_at
        )
        .select_related("alert__participant", "person")
        .order_by("-sent_at")
        .first()
        if phone
        else None
    )
    if page is None:
        if phone:
            OnCallPage.objects.filter(
                phone=phone, answered_at__isnull=True, expires_at__gt=reply.received_at
            ).update(wrong_replies=F("wrong_replies") + 1)
        logger.info("on-call reply refused reason=unknown_code")
        return StaffAnswer(
            refused, f"{KEYWORD} {code} is not a code sent to this phone, or it has expired."
        )
    alert = page.alert
    case = alert.participant.case_number
    if page.answered_at is not None or alert.status != AlertStatus.OPEN:
        state = alert.get_status_display().lower()
        return StaffAnswer(refused, f"The alert of case {case} is {state} already.")
    if page.wrong_replies >= MAX_WRONG_REPLIES:
        logger.warning("on-call reply refused alert=%s reason=too_many_wrong_codes", alert.pk)
        return StaffAnswer(
            refused, "Too many wrong codes came from this phone; acknowledge in the console."
        )
    try:
        alert_acknowledge(user=page.person, alert_id=alert.pk, note=ACK_NOTE, now=reply.received_at)
    except PermissionDenied:
        logger.info("on-call reply refused alert=%s reason=out_of_scope", alert.pk)
        return StaffAnswer(refused, "You may no longer see this alert; use the console.")
    OnCallPage.objects.filter(pk=page.pk).update(answered_at=reply.received_at)
    logger.info("alert acknowledged by on-call reply alert=%s by=%s", alert.pk, page.person.pk)
    return StaffAnswer(
        "Acknowledged",
        f"The {alert.get_kind_display().lower()} alert of case {case} is acknowledged by you.",
    )
