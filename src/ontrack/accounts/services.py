"""Every write to offices, staff and tokens."""

from __future__ import annotations

import hashlib
import logging
import secrets
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from ontrack.accounts.models import ApiToken, Office, Program, Role, User
from ontrack.accounts.phones import phone_normalise

logger = logging.getLogger(__name__)


def program_get_or_create(*, name: str, default_language: str = "en") -> Program:
    program, _ = Program.objects.get_or_create(
        name=name, defaults={"default_language": default_language}
    )
    return program


def office_create(
    *,
    program: Program,
    name: str,
    time_zone: str,
    address: str = "",
    phone: str = "",
    opening_hours: dict[str, list[list[str]]] | None = None,
    location: tuple[float, float] | None = None,
) -> Office:
    latitude, longitude = location if location is not None else (None, None)
    office = Office(
        program=program,
        name=name,
        time_zone=time_zone,
        address=address,
        phone=phone,
        opening_hours=opening_hours or {},
        latitude=latitude,
        longitude=longitude,
    )
    office.full_clean()
    office.save()
    return office


def user_create(
    *,
    username: str,
    password: str,
    role: Role | str,
    office: Office | None = None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    validate: bool = True,
    **extra: Any,
) -> User:
    """Create a staff account. Administrators also get Django admin access."""
    user = User(
        username=username,
        role=Role(role),
        office=office,
        first_name=first_name,
        last_name=last_name,
        email=email,
        is_staff=Role(role) == Role.ADMINISTRATOR,
        **extra,
    )
    if Role(role) in {Role.OFFICER, Role.SUPERVISOR} and office is None:
        raise ValueError("officers and supervisors belong to an office")
    if validate:
        validate_password(password, user)
    if user.phone:
        user.phone = phone_normalise(user.phone)
    user.set_password(password)
    user.save()
    return user


def user_contact_editable_by(actor: User, user: User) -> bool:
    """Staff keep their own e-mail and phone; administrators keep everyone's."""
    return actor.is_active and (actor.pk == user.pk or actor.role == Role.ADMINISTRATOR)


def user_contact_set(
    *,
    actor: User,
    user: User,
    phone: str | None = None,
    email: str | None = None,
    weekly_summary: bool | None = None,
) -> list[str]:
    """Set a staff member's phone (stored in E.164) and/or e-mail, the addresses their alert
    notifications go to, and whether a supervisor gets the weekly summary e-mail. ``None``
    leaves a value as it is, an empty string removes it. Returns the names of the fields
    that changed."""
    if not user_contact_editable_by(actor, user):
        raise PermissionDenied("Only the person themself or an administrator changes this.")
    changes: dict[str, str | bool] = {}
    if weekly_summary is not None:
        changes["weekly_summary"] = weekly_summary
    errors: dict[str, list[str]] = {}
    if phone is not None:
        try:
            changes["phone"] = phone_normalise(phone) if phone.strip() else ""
        except ValidationError as exc:
            errors["phone"] = exc.messages
    if email is not None:
        try:
            if email.strip():
                validate_email(email.strip())
            changes["email"] = email.strip()
        except ValidationError as exc:
            errors["email"] = exc.messages
    if errors:
        raise ValidationError(errors)
    changed = [name for name, value in changes.items() if getattr(user, name) != value]
    if changed:
        for name in changed:
            setattr(user, name, changes[name])
        user.save(update_fields=changed)
        logger.info("staff contact changed user=%s fields=%s by=%s", user.pk, changed, actor.pk)
    return changed


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Return the stored token and the secret, which is never stored and cannot be shown
    again."""
    secret = "ot_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, digest=_digest(secret), prefix=secret[:8])
    return token, secret


def api_token_authenticate(secret: str) -> User | None:
    with transaction.atomic():
        token = (
            ApiToken.objects.select_related("user")
            .filter(digest=_digest(secret), revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        if token is None:
            return None
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user


def api_token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
