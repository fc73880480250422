"""Staff sign-in's second factor: every write and every rule.

Staff read criminal-justice and immigration data, so the CJIS Security Policy asks for
advanced (multi-factor) authentication: after the password, each staff member proves they
hold a device. django-otp marks a session verified by remembering the device that verified
it (``django_otp.login``); ``accounts.middleware.StaffSecondFactorMiddleware`` sends a
session that is not verified to the pages in ``second_factor_views``. The devices are

- django-otp's ``TOTPDevice``: an authenticator app, set up on the first sign-in;
- django-otp-webauthn's ``WebAuthnCredential``: a passkey (``accounts.passkeys``);
- our ``RecoveryCodeDevice``: single-use codes for when both are lost, stored hashed.

Secrets (the authenticator's key, recovery codes) are shown only to the person themself,
only while they set the app up or make new codes; nothing here returns them afterwards, and
an administrator sees which methods a colleague has, never their secrets. Every change is
recorded as a ``SecondFactorEvent``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from ontrack.accounts.actors import Actor, SystemActor, actor_user, permission_require
from ontrack.accounts.models import (
    RecoveryCode,
    RecoveryCodeDevice,
    Role,
    SecondFactorEvent,
    SecondFactorEventKind,
    User,
)

if TYPE_CHECKING:
    from django.http import HttpRequest
    from django_otp.models import Device

logger = logging.getLogger(__name__)

RECOVERY_CODE_COUNT = 10
# Crockford's base32: no I, L, O or U, so a code copied by hand reads back the same; 16 of
# them carry 80 random bits.
_CODE_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_CODE_LENGTH = 16
_LOOKALIKES = str.maketrans({"i": "1", "l": "1", "o": "0"})
TOTP_DEVICE_NAME = "Authenticator app"


def recovery_code_new() -> str:
    """A fresh code, written in groups of four: ``7k2m-qx9d-...``."""
    chars = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))
    return "-".join(chars[i : i + 4] for i in range(0, _CODE_LENGTH, 4))


def recovery_code_normalise(text: str) -> str:
    """What a person typed, as the code it stands for: case, spaces and dashes ignored, and
    the letters people mistake for digits read as those digits."""
    return "".join(ch for ch in text.lower() if ch.isalnum()).translate(_LOOKALIKES)


def recovery_code_digest(text: str) -> str:
    return hashlib.sha256(recovery_code_normalise(text).encode()).hexdigest()


def second_factor_required() -> bool:
    """Off only where something in front of ontrack already asks for one (settings)."""
    return bool(settings.ONTRACK_STAFF_MFA)


def session_is_verified(request: HttpRequest) -> bool:
    """The session's user passed a second factor (django-otp's ``OTPMiddleware`` sets
    ``is_verified``; a request it did not see is not verified)."""
    is_verified = getattr(request.user, "is_verified", None)
    return bool(request.user.is_authenticated and is_verified is not None and is_verified())


def second_factor_passed(request: HttpRequest) -> bool:
    """May this signed-in session use the console and the API: verified, or not asked to."""
    return request.user.is_authenticated and (
        not second_factor_required() or session_is_verified(request)
    )


def session_verify(request: HttpRequest, device: Device) -> None:
    """Mark the session verified by ``device``, with a new session key (the session is worth
    more now than when the password alone had made it)."""
    request.session.cycle_key()
    otp_login(request, device)


@dataclass(frozen=True)
class SecondFactorStatus:
    """Which methods a staff member has (never their secrets): what their account page and
    an administrator's view of it show."""

    authenticator: TOTPDevice | None
    passkeys: list[WebAuthnCredential]
    recovery_codes_left: int | None  # None: never made
    recovery_codes_made_at: dt.datetime | None

    @property
    def enrolled(self) -> bool:
        """Has a way to sign in other than recovery codes (those only stand in for one)."""
        return self.authenticator is not None or bool(self.passkeys)


def second_factor_status(user: User) -> SecondFactorStatus:
    codes = RecoveryCodeDevice.objects.filter(user=user).first()
    return SecondFactorStatus(
        authenticator=TOTPDevice.objects.filter(user=user, confirmed=True).first(),
        passkeys=list(WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("pk")),
        recovery_codes_left=codes.codes_left if codes is not None else None,
        recovery_codes_made_at=codes.created_at if codes is not None else None,
    )


def second_factor_event_record(
    *,
    kind: SecondFactorEventKind,
    user: User,
    actor: User | None = None,
    request: HttpRequest | None = None,
    detail: str = "",
    by: str = "",
) -> SecondFactorEvent:
    """One row of the second factor's record. ``actor``: the administrator who made the
    change for someone else (``by`` names another origin, e.g. the command line)."""
    event = SecondFactorEvent.objects.create(
        user=user,
        username=user.get_username(),
        actor=actor,
        actor_username=actor.get_username() if actor is not None else by,
        kind=kind,
        detail=detail[:200],
        ip_address=(request.META.get("REMOTE_ADDR") or None) if request is not None else None,
    )
    logger.info(
        "second factor %s user=%s by=%s %s", kind, user.pk, event.actor_username or "self", detail
    )
    return event


def totp_enrolment_start(user: User) -> TOTPDevice:
    """The authenticator app being set up: a device not yet confirmed, kept across reloads
    of the page so that a key already scanned stays the right one."""
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise ValidationError("An authenticator app is already set up.")
    pending = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return pending or TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)


def totp_enrolment_confirm(request: HttpRequest, *, user: User, code: str) -> list[str]:
    """Confirm the app with a code it shows. Returns new recovery codes when the person had
    none (their first method), to be shown once; otherwise an empty list. The session counts
    as verified from here on. Raises ValidationError for a wrong code (throttled as any)."""
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .order_by("pk")
            .first()
        )
        if device is None:
            raise ValidationError("Open this page again to set up an authenticator app.")
        allowed, info = device.verify_is_allowed()  # before this try: did earlier ones lock it?
        accepted = allowed and device.verify_token(code.replace(" ", ""))
    if not allowed and info:
        raise ValidationError(throttled_message(info["locked_until"]), code="throttled")
    if not accepted:
        raise ValidationError("That code is not right. Type the 6 digits the app shows now.")
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        second_factor_event_record(
            kind=SecondFactorEventKind.TOTP_ENROLLED, user=user, request=request
        )
        had_codes = RecoveryCodeDevice.objects.filter(user=user).exists()
        codes = [] if had_codes else _recovery_codes_replace(user, request=request)
    if not session_is_verified(request):
        session_verify(request, device)
    return codes


def recovery_codes_make(request: HttpRequest, *, user: User) -> list[str]:
    """New recovery codes for the person, replacing any they had (a list printed and lost
    stops working). The codes are returned once, to be shown; only digests are kept."""
    with transaction.atomic():
        return _recovery_codes_replace(user, request=request)


def _recovery_codes_replace(user: User, *, request: HttpRequest | None) -> list[str]:
    device, _ = RecoveryCodeDevice.objects.get_or_create(
        user=user, defaults={"name": "Recovery codes"}
    )
    device.codes.all().delete()
    codes = [recovery_code_new() for _ in range(RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(device=device, digest=recovery_code_digest(code)) for code in codes
    )
    device.created_at = timezone.now()
    device.throttle_reset(commit=False)
    device.save()
    second_factor_event_record(
        kind=SecondFactorEventKind.RECOVERY_CODES_MADE,
        user=user,
        request=request,
        detail=f"{len(codes)} codes",
    )
    return codes


@dataclass(frozen=True)
class VerifyOutcome:
    device: Device | None
    locked_until: dt.datetime | None = None
    recovery_codes_left: int | None = None  # set when a recovery code was used


def second_factor_verify(request: HttpRequest, *, user: User, code: str) -> VerifyOutcome:
    """Check a code from the person's authenticator app (6 digits) or one of their recovery
    codes, and mark the session verified when it is right. Each device slows wrong guesses
    down on its own (django-otp's throttling: after n wrong codes in a row, none is accepted
    for 2^(n-1) seconds), and an authenticator code is accepted once only."""
    compact = code.replace(" ", "").strip()
    totp = compact.isdigit() and len(compact) == 6
    model: type[TOTPDevice] | type[RecoveryCodeDevice] = TOTPDevice if totp else RecoveryCodeDevice
    found: Device | None = None
    locked_until: dt.datetime | None = None
    with transaction.atomic():
        for device in model.objects.select_for_update().filter(user=user, confirmed=True):
            allowed, info = device.verify_is_allowed()
            if not allowed:
                locked_until = info["locked_until"] if info else None
                continue
            if device.verify_token(compact):
                found = device
                break
    if found is None:
        logger.warning(
            "second factor refused user=%s kind=%s%s",
            user.pk,
            "totp" if totp else "recovery",
            " (throttled)" if locked_until else "",
        )
        return VerifyOutcome(device=None, locked_until=locked_until)
    session_verify(request, found)
    if isinstance(found, RecoveryCodeDevice):
        left = found.codes_left
        second_factor_event_record(
            kind=SecondFactorEventKind.RECOVERY_CODE_USED,
            user=user,
            request=request,
            detail=f"{left} left",
        )
        return VerifyOutcome(device=found, recovery_codes_left=left)
    return VerifyOutcome(device=found)


def passkey_remove(request: HttpRequest, *, user: User, passkey: WebAuthnCredential) -> None:
    """Remove one of the person's own passkeys, unless it is their only way in besides
    recovery codes (the next sign-in would then enrol a new one with the password alone)."""
    if passkey.user_id != user.pk:
        raise PermissionDenied("Only the passkey's owner removes it.")
    status = second_factor_status(user)
    if status.authenticator is None and len(status.passkeys) <= 1:
        raise ValidationError(
            "This is your only passkey and you have no authenticator app: add another "
            "first, or an administrator can reset your second factor."
        )
    name = passkey.name
    passkey.delete()
    second_factor_event_record(
        kind=SecondFactorEventKind.PASSKEY_REMOVED, user=user, request=request, detail=name
    )


def second_factor_reset_allowed(actor: User, user: User) -> bool:
    """Administrators reset colleagues' second factors, never their own (another
    administrator does, or the person signs in with a recovery code)."""
    return actor.is_active and actor.role == Role.ADMINISTRATOR and actor.pk != user.pk


def second_factor_reset(
    *,
    actor: Actor,
    user: User,
    request: HttpRequest | None = None,
) -> list[str]:
    """Remove every second factor of ``user`` (authenticator app, passkeys, recovery
    codes) and sign them out of every session: their next sign-in with the password sets a
    new one up. Recorded with who reset it: the administrator, or the ``SystemActor``'s
    reason for the command line (``ontrack manage second_factor_reset``), which is not
    checked. Returns what was removed, in words."""
    permission_require(
        actor,
        lambda staff: second_factor_reset_allowed(staff, user),
        "Only another administrator resets a staff member's second factor.",
    )
    with transaction.atomic():
        removed: list[str] = []
        totp = TOTPDevice.objects.filter(user=user, confirmed=True).count()
        passkeys = WebAuthnCredential.objects.filter(user=user).count()
        codes = RecoveryCode.objects.filter(device__user=user, used_at__isnull=True).count()
        if totp:
            removed.append("authenticator app")
        if passkeys:
            removed.append(f"{passkeys} passkey{'s' if passkeys != 1 else ''}")
        if codes:
            removed.append(f"{codes} unused recovery code{'s' if codes != 1 else ''}")
        TOTPDevice.objects.filter(user=user).delete()
        WebAuthnCredential.objects.filter(user=user).delete()
        RecoveryCodeDevice.objects.filter(user=user).delete()
        user.second_factor_reset_at = timezone.now()
        user.save(update_fields=["second_factor_reset_at"])
        second_factor_event_record(
            kind=SecondFactorEventKind.RESET,
            user=user,
            actor=actor_user(actor),
            request=request,
            detail="removed " + (", ".join(removed) if removed else "nothing (none was set up)"),
            by=actor.reason if isinstance(actor, SystemActor) else "",
        )
    return removed


def throttled_message(locked_until: dt.datetime) -> str:
    """What the pages say while wrong codes keep a device locked."""
    wait = max(1, int((locked_until - timezone.now()).total_seconds() + 0.999))
    return f"Too many wrong codes. Try again in {wait} second{'s' if wait != 1 else ''}."
