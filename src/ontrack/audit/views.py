from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import islice

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from ontrack.audit.models import AccessAction, AccessLogEntry
from ontrack.audit.services import (
    access_log_about,
    access_log_subjects_matching,
    subjects_describe,
)
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
    wanted = access_log_subjects_matching(participant) if participant else []
    if participant:
        entries = access_log_about(entries, wanted)
    if action in AccessAction.values:
        entries = entries.filter(action=action)
    try:
        on = dt.date.fromisoformat(day) if day else None
    except ValueError:
        on = None
    if on is not None:
        entries = entries.filter(at__date=on)
    page = CappedPaginator(entries, 100).get_page(request.GET.get("page"))
    shown = [(e, _subjects_named(e.listed_ids, wanted)) for e in page.object_list]
    names = subjects_describe(
        {pid for _, (named, _) in shown for pid in named}
        | {e.reader_participant_id for e, _ in shown if e.reader_participant_id is not None}
    )
    rows = [
        LogRow(
            entry=e,
            subjects=[names[pid] for pid in named],
            subjects_count=count,
            reader=(
                f"{names[e.reader_participant_id]} (the participant)"
                if e.reader_participant_id is not None
                else e.username
            ),
        )
        for e, (named, count) in shown
    ]
    return fragment_or_page(
        request,
        "audit/_entries.html",
        "audit/log.html",
        {"page": page, "rows": rows, "actions": AccessAction.choices, "filters": request.GET},
    )


# Names shown for one entry about a list. A live map's poll names every wearer of an office
# (a thousand or more at national scale); all of them, on each of a page's hundred entries,
# made a page of megabytes that took seconds to render. The count says how many it named,
# and the participants filtered by come first.
NAMES_SHOWN = 25


def _subjects_named(listed: list[int], wanted: list[int]) -> tuple[list[int], int]:
    """The ids of an entry's subjects to name on the page (those filtered by first), and how
    many subjects it has."""
    among = set(listed)
    first = [pid for pid in wanted if pid in among]
    rest = (pid for pid in listed if pid not in first)
    return [*first, *islice(rest, max(0, NAMES_SHOWN - len(first)))], len(listed)


@dataclass(frozen=True, slots=True)
class LogRow:
    """An entry as the auditor reads it: who read (a staff member, or the participant
    themself), and whom it is about by name and case number, as text (the auditor reads the
    log, never the records)."""

    entry: AccessLogEntry
    subjects: list[str]
    subjects_count: int
    reader: str

    @property
    def subjects_not_named(self) -> int:
        return self.subjects_count - len(self.subjects)
