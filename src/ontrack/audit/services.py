"""Writing the access log. Callers pass the request so that address and agent are captured
in one place rather than remembered at every call site."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet

from ontrack.audit.models import (
    AccessAction,
    AccessLogEntry,
    AccessLogSubject,
    RetentionPolicy,
    listed_ids_text,
)
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
    by_participant: int | None = None,
) -> int:
    """Record a read. A list (``AccessAction.LIST``) is one entry carrying the ids of
    everyone it showed; any other action is one entry per participant read (or one with no
    participant for a query). ``by_participant``: the participant read their own data (the
    portal), so the entry names them as the reader instead of a staff user. Returns how many
    entries were written."""
    authenticated = user is not None and user.is_authenticated
    common = {
        "user_id": user.pk if authenticated and user is not None else None,
        "username": user.get_username() if authenticated and user is not None else "",
        "reader_participant_id": by_participant,
        "action": action,
        "what": what[:200],
        "path": request.get_full_path()[:500] if request is not None else "",
        "ip_address": _client_address(request),
        "user_agent": (request.headers.get("User-Agent", "") if request is not None else "")[:300],
    }
    if action == AccessAction.LIST:
        ids = list(dict.fromkeys(pid for pid in participant_ids if pid is not None))
        entries = [
            AccessLogEntry(
                participant_id=ids[0] if len(ids) == 1 else None,
                participant_ids=listed_ids_text(ids) if len(ids) > 1 else "",
                **common,
            )
        ]
    else:
        entries = [AccessLogEntry(participant_id=pid, **common) for pid in participant_ids]
    with transaction.atomic():
        AccessLogEntry.objects.bulk_create(entries)
        access_log_subjects_write(entries)
    return len(entries)


# Rows of the index written by one statement: (entry, subject) pairs as two arrays
# (PostgreSQL) or one JSON list (SQLite), each given its entry's time by a join.
_SUBJECTS_PER_STATEMENT = 10_000
_SUBJECTS_INSERT = {
    "postgresql": (
        "INSERT INTO audit_accesslogsubject (entry_id, subject_id, at) "
        "SELECT s.entry_id, s.subject_id, e.at "
        "FROM unnest(%s::bigint[], %s::bigint[]) AS s (entry_id, subject_id) "
        "JOIN audit_accesslogentry AS e ON e.id = s.entry_id"
    ),
    "sqlite": (
        "INSERT INTO audit_accesslogsubject (entry_id, subject_id, at) "
        "SELECT e.id, json_extract(s.value, '$[1]'), e.at FROM json_each(%s) AS s "
        "JOIN audit_accesslogentry AS e ON e.id = json_extract(s.value, '$[0]')"
    ),
}


def access_log_subjects_write(entries: Sequence[AccessLogEntry]) -> None:
    """Index ``entries``, written, by whom they are about (see
    :class:`~ontrack.audit.models.AccessLogSubject`). Only writers of the log call this.

    In one statement per ten thousand rows, not a model instance per row: a live map's
    answer names every wearer of an office (1,250 at 100,000 participants), and building
    and saving their rows through the ORM was half of that answer's time."""
    pairs = [(entry.pk, pid) for entry in entries for pid in entry.subject_ids]
    sql = _SUBJECTS_INSERT[connection.vendor]
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), _SUBJECTS_PER_STATEMENT):
            chunk = pairs[start : start + _SUBJECTS_PER_STATEMENT]
            if connection.vendor == "postgresql":
                cursor.execute(sql, [list(column) for column in zip(*chunk, strict=True)])
            else:
                cursor.execute(sql, [json.dumps(chunk)])


# --- naming the log's subjects ----------------------------------------------------------------


class SubjectDirectory(Protocol):
    """How the access log names the people it is about. Participants registers one at
    start-up (audit sits below participants and cannot read them itself)."""

    def describe(self, ids: Iterable[int]) -> dict[int, str]:
        """Each id still on file as "Family, Given (case number)"."""
        ...

    def find(self, text: str) -> list[int]:
        """The ids a case number or a name typed into the log's filter stands for."""
        ...


_directory: SubjectDirectory | None = None


def subject_directory_register(directory: SubjectDirectory) -> None:
    global _directory
    _directory = directory


def subjects_describe(ids: Iterable[int]) -> dict[int, str]:
    """Names and case numbers for the log's page: for the auditor, who reads the log and not
    records, these are the log's subjects, shown as text and never as a way into a record."""
    wanted = set(ids)
    names = _directory.describe(wanted) if _directory is not None and wanted else {}
    return {pid: names.get(pid, f"participant {pid} (no longer on file)") for pid in wanted}


MAX_FILTER_SUBJECTS = 50


def access_log_subjects_matching(text: str) -> list[int]:
    """The participants the log's filter means by ``text``: an id, a case number or a name,
    read through the registered directory; a name matching more than
    ``MAX_FILTER_SUBJECTS`` people narrows to those."""
    text = text.strip()
    ids: list[int] = [int(text)] if text.isdigit() else []
    if _directory is not None:
        ids += _directory.find(text)
    return list(dict.fromkeys(ids))[:MAX_FILTER_SUBJECTS]


def access_log_about(entries: QuerySet[AccessLogEntry], ids: list[int]) -> QuerySet[AccessLogEntry]:
    """The entries about any of the participants ``ids``: those naming them, and the lists
    they appeared in."""
    if not ids:
        return entries.none()
    about = AccessLogSubject.objects.filter(subject_id__in=ids).values("entry_id")
    return entries.filter(pk__in=about)


ACCESS_LOG_PURGE_CHUNK = 10_000


def access_log_purge(cutoff: dt.datetime) -> int:
    """Delete access-log entries older than ``cutoff``, and their index rows, a chunk per
    transaction so that the log keeps accepting entries while years of it are removed."""
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
            AccessLogSubject.objects.filter(entry_id__in=ids).delete()
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
