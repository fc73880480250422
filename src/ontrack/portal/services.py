"""Signing participants in: one-time code or link, then a PIN. Codes and tokens are kept
only as keyed hashes, expire quickly, work once and are throttled per number and per
address, so that guessing is slower than the code's life."""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from ontrack.accounts.models import User
from ontrack.participants.models import Participant
from ontrack.participants.queries import can_write_participant, participant_for_number
from ontrack.portal.models import PortalAccess, SignInChallenge, ThrottleHit

logger = logging.getLogger(__name__)

CODE_DIGITS = 6
PIN_MIN, PIN_MAX = 4, 8


class Throttled(Exception):
    """Too many attempts for this number or address; the caller says "try again later"."""


class SignInFailed(Exception):
    """The code or link is wrong, expired or already used (never says which)."""


@dataclass(frozen=True)
class PinResult:
    ok: bool
    locked: bool


def _hash(value: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, b"ontrack.portal:" + value.encode(), "sha256").hexdigest()


def _throttle(key: str, *, limit: int, now: dt.datetime) -> None:
    """Count one hit for ``key`` and refuse once ``limit`` hits fall inside the window."""
    window = dt.timedelta(seconds=settings.ONTRACK_PORTAL_THROTTLE_WINDOW_S)
    recent = ThrottleHit.objects.filter(key=key[:80], at__gte=now - window).count()
    if recent >= limit:
        logger.warning("portal throttle key=%s hits=%d", key.split(":")[0], recent)
        raise Throttled(key)
    ThrottleHit.objects.create(key=key[:80], at=now)


def _challenge_create(participant: Participant, *, link_base: str, now: dt.datetime) -> str:
    from ontrack.messaging.services import message_queue  # the app above sends the text

    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    token = secrets.token_urlsafe(24)
    ttl = dt.timedelta(seconds=settings.ONTRACK_PORTAL_CODE_TTL_S)
    with transaction.atomic():
        # A new challenge replaces any earlier one still open: only the latest text works.
        SignInChallenge.objects.filter(participant=participant, used_at__isnull=True).update(
            used_at=now
        )
        SignInChallenge.objects.create(
            participant=participant,
            code_hash=_hash(code),
            token_hash=_hash(token),
            created_at=now,
            expires_at=now + ttl,
        )
        message_queue(
            participant=participant,
            template_key="portal_sign_in",
            context={},
            secrets={"code": code, "link": f"{link_base}{token}/"},
            purpose="portal sign-in",
            essential=True,
            cause="portal sign-in requested",
        )
    return token


def sign_in_request(*, phone: str, ip: str | None, link_base: str) -> Participant | None:
    """Send a code and link to ``phone`` if it belongs to a participant. The caller shows the
    same answer either way, so the page does not reveal who is enrolled."""
    now = timezone.now()
    _throttle(f"ip:{ip or '-'}", limit=settings.ONTRACK_PORTAL_IP_LIMIT, now=now)
    participant = participant_for_number(phone)
    if participant is None:
        return None
    _throttle(f"send:{participant.pk}", limit=settings.ONTRACK_PORTAL_SEND_LIMIT, now=now)
    _challenge_create(participant, link_base=link_base, now=now)
    logger.info("portal sign-in code sent participant=%s", participant.pk)
    return participant


def sign_in_link_send(*, actor: User, participant: Participant, link_base: str) -> None:
    """An officer sends the participant a fresh sign-in link (e.g. at enrolment)."""
    if not can_write_participant(actor, participant):
        raise PermissionDenied("You may not act on this participant's case.")
    _challenge_create(participant, link_base=link_base, now=timezone.now())
    logger.info("portal sign-in link sent participant=%s by=%s", participant.pk, actor.pk)


def _challenge_use(challenge: SignInChallenge, now: dt.datetime) -> Participant:
    updated = SignInChallenge.objects.filter(pk=challenge.pk, used_at__isnull=True).update(
        used_at=now
    )
    if not updated:
        raise SignInFailed()
    return challenge.participant


def sign_in_code_verify(*, phone: str, code: str, ip: str | None) -> Participant:
    """Check the code typed for ``phone``; each wrong try counts against the number, the
    address and the challenge (which dies after a few)."""
    now = timezone.now()
    _throttle(f"ip:{ip or '-'}", limit=settings.ONTRACK_PORTAL_IP_LIMIT, now=now)
    participant = participant_for_number(phone)
    if participant is None:
        raise SignInFailed()
    _throttle(f"try:{participant.pk}", limit=settings.ONTRACK_PORTAL_TRY_LIMIT, now=now)
    challenge = (
        SignInChallenge.objects.filter(
            participant=participant, used_at__isnull=True, expires_at__gt=now
        )
        .order_by("-created_at")
        .first()
    )
    if challenge is None:
        raise SignInFailed()
    if not hmac.compare_digest(challenge.code_hash, _hash(code.strip())):
        challenge.failed_attempts += 1
        if challenge.failed_attempts >= settings.ONTRACK_PORTAL_CODE_MAX_TRIES:
            challenge.used_at = now
        challenge.save(update_fields=["failed_attempts", "used_at"])
        raise SignInFailed()
    return _challenge_use(challenge, now)


def sign_in_link_verify(*, token: str, ip: str | None) -> Participant:
    """Follow a one-time link: valid once, until it expires."""
    now = timezone.now()
    _throttle(f"ip:{ip or '-'}", limit=settings.ONTRACK_PORTAL_IP_LIMIT, now=now)
    challenge = (
        SignInChallenge.objects.select_related("participant")
        .filter(token_hash=_hash(token), used_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if challenge is None:
        raise SignInFailed()
    return _challenge_use(challenge, now)


def portal_access(participant: Participant) -> PortalAccess:
    access, _ = PortalAccess.objects.get_or_create(participant=participant)
    return access


def pin_is_set(participant: Participant) -> bool:
    return bool(portal_access(participant).pin_hash)


def pin_set(participant: Participant, pin: str) -> None:
    """Set the PIN on first sign-in (or after an officer's reset)."""
    if not (pin.isdigit() and PIN_MIN <= len(pin) <= PIN_MAX):
        raise ValidationError("pin")
    access = portal_access(participant)
    access.pin_hash = make_password(pin)
    access.pin_failures = 0
    access.locked_until = None
    access.pin_set_at = timezone.now()
    access.save()


def pin_verify(participant: Participant, pin: str) -> PinResult:
    """Check the PIN; after ``ONTRACK_PORTAL_PIN_MAX_FAILURES`` wrong ones the PIN is locked
    for a while (by text or on the web alike) so that it cannot be guessed."""
    now = timezone.now()
    with transaction.atomic():
        access = PortalAccess.objects.select_for_update().get(pk=portal_access(participant).pk)
        if access.locked_until is not None and access.locked_until > now:
            return PinResult(ok=False, locked=True)
        if access.pin_hash and check_password(pin, access.pin_hash):
            access.pin_failures = 0
            access.locked_until = None
            access.last_sign_in_at = now
            access.save(update_fields=["pin_failures", "locked_until", "last_sign_in_at"])
            return PinResult(ok=True, locked=False)
        access.pin_failures += 1
        locked = access.pin_failures >= settings.ONTRACK_PORTAL_PIN_MAX_FAILURES
        if locked:
            access.pin_failures = 0
            access.locked_until = now + dt.timedelta(seconds=settings.ONTRACK_PORTAL_PIN_LOCKOUT_S)
            logger.warning("portal PIN locked participant=%s", participant.pk)
        access.save(update_fields=["pin_failures", "locked_until"])
        return PinResult(ok=False, locked=locked)


def pin_reset(*, actor: User, participant: Participant) -> None:
    """An officer clears the PIN; the participant sets a new one at their next sign-in."""
    if not can_write_participant(actor, participant):
        raise PermissionDenied("You may not act on this participant's case.")
    access = portal_access(participant)
    access.pin_hash = ""
    access.pin_failures = 0
    access.locked_until = None
    access.save(update_fields=["pin_hash", "pin_failures", "locked_until"])
    logger.info("portal PIN reset participant=%s by=%s", participant.pk, actor.pk)
