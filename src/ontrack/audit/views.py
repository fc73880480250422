from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from ontrack.audit.models import AccessAction, AccessLogEntry
from ontrack.audit.services import access_log_about, subjects_describe
from ontrack.fragments import fragment_or_page
from ontrack.paging import CappedPaginator


@login_required
def access_log(request: HttpRequest) -> HttpResponse:
    """Auditors and administrators browse the log; filters by staff member, participant (id,
    case number or name, the lists they appeared in included), action and date."""
    if not getattr(request.user, "reads_access_log", False):
        raise PermissionDenied("Only auditors and administrators read the access log.")
    entries = AccessLogEntry.objects.all()
    username = request.GET.get("user", "").strip()
    participant = request.GET.get("participant", "").strip()
    action = request.GET.get("action", "")
    day = request.GET.get("date", "")
    if username:
        entries = entries.filter(username__iexact=username)
    if participant:
        entries = access_log_about(entries, participant)
    if action in AccessAction.values:
        entries = entries.filter(action=action)
    try:
        on = dt.date.fromisoformat(day) if day else None
    except ValueError:
        on = None
    if on is not None:
        entries = entries.filter(at__date=on)
    page = CappedPaginator(entries, 100).get_page(request.GET.get("page"))
    shown = list(page.object_list)
    names = subjects_describe(
        {pid for e in shown for pid in e.listed_ids}
        | {e.reader_participant_id for e in shown if e.reader_participant_id is not None}
    )
    rows = [
        LogRow(
            entry=e,
            subjects=[names[pid] for pid in e.listed_ids],
            reader=(
                f"{names[e.reader_participant_id]} (the participant)"
                if e.reader_participant_id is not None
                else e.username
            ),
        )
        for e in shown
    ]
    return fragment_or_page(
        request,
        "audit/_entries.html",
        "audit/log.html",
        {"page": page, "rows": rows, "actions": AccessAction.choices, "filters": request.GET},
    )


@dataclass(frozen=True, slots=True)
class LogRow:
    """An entry as the auditor reads it: who read (a staff member, or the participant
    themself), and whom it is about by name and case number, as text (the auditor reads the
    log, never the records)."""

    entry: AccessLogEntry
    subjects: list[str]
    reader: str
