"""Writing the access log. Callers pass the request so that address and agent are captured
in one place rather than remembered at every call site."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from ontrack.audit.models import AccessAction, AccessLogEntry, RetentionPolicy
from ontrack.audit.retention import retention_days_validate

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
    from django.http import HttpRequest


def _client_address(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


EXPORT_PURPOSE_MIN_LENGTH = 5
EXPORT_PURPOSE_MAX_LENGTH = 150


def export_purpose_clean(purpose: str, *, min_length: int = EXPORT_PURPOSE_MIN_LENGTH) -> str:
    """The stated purpose of an export, whitespace folded, or ValidationError if there is
    none worth the name. It lives here, beside the log it is written to, so that every app's
    export (the record ZIP, the location history, the OTRTS record) asks for it the same
    way, whichever app it sits in."""
    purpose = " ".join(purpose.split())
    if len(purpose) < min_length:
        raise ValidationError(
            {"purpose": "State why the record is exported (at least a few words)."}
        )
    return purpose[:EXPORT_PURPOSE_MAX_LENGTH]


def access_log_record(
    *,
    user: AbstractBaseUser | AnonymousUser | None,
    action: AccessAction,
    what: str,
    participant_ids: Iterable[int | None] = (None,),
    request: HttpRequest | None = None,
) -> int:
    """Record one entry per participant read (or one entry with no participant for a list or
    query). Returns how many entries were written."""
    authenticated = user is not None and user.is_authenticated
    common = {
        "user_id": user.pk if authenticated and user is not None else None,
        "username": user.get_username() if authenticated and user is not None else "",
        "action": action,
        "what": what[:200],
        "path": request.get_full_path()[:500] if request is not None else "",
        "ip_address": _client_address(request),
        "user_agent": (request.headers.get("User-Agent", "") if request is not None else "")[:300],
    }
    entries = [AccessLogEntry(participant_id=pid, **common) for pid in participant_ids]
    AccessLogEntry.objects.bulk_create(entries)
    return len(entries)


ACCESS_LOG_PURGE_CHUNK = 10_000


def access_log_purge(cutoff: dt.datetime) -> int:
    """Delete access-log entries older than ``cutoff``, a chunk per transaction so that
    the log keeps accepting entries while years of it are removed."""
    removed = 0
    while True:
        ids = list(
            AccessLogEntry.objects.filter(at__lt=cutoff)
            .order_by()
            .values_list("pk", flat=True)[:ACCESS_LOG_PURGE_CHUNK]
        )
        if not ids:
            return removed
        with transaction.atomic():
            removed += AccessLogEntry.objects.filter(pk__in=ids).delete()[0]


def retention_policy_set(
    *, user: AbstractBaseUser | AnonymousUser, kind: str, days: int
) -> RetentionPolicy:
    """Shorten how long ``kind`` is kept. Only administrators may, and never beyond the
    deployment's ceiling: lengthening retention is a deployment decision, not a click."""
    if not getattr(user, "manages_retention", False):
        raise PermissionDenied("Only administrators set retention periods.")
    retention_days_validate(kind, days)
    policy, _ = RetentionPolicy.objects.update_or_create(
        kind=kind, defaults={"days": days, "changed_by_id": user.pk}
    )
    return policy
