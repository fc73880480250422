"""The timeline page: one person's history from every app, newest first, filtered by kind
and paged by keyset ("Older entries" loads the next page with htmx, or as a plain link).

Each request is one read through the gate, with one access-log row naming what it showed;
the check-in thumbnails on it are covered by that row (``gate.shown_token``)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import timezone

from ontrack.accounts.web import staff_user
from ontrack.fragments import fragment_or_page
from ontrack.participants.gate import participant_read
from ontrack.participants.timeline import Cursor, groups, timeline_page

PAGE_SIZE = 30


@login_required
def participant_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    offered = groups()
    known = {key for key, _label in offered}
    chosen = request.GET.getlist("kind")
    unknown = [k for k in chosen if k not in known]
    if unknown:
        return HttpResponseBadRequest(f"Unknown kind of entry: {unknown[0][:40]}")
    before_token = request.GET.get("before", "")
    try:
        before = Cursor.parse(before_token) if before_token else Cursor.top(timezone.now())
    except ValueError:
        return HttpResponseBadRequest("The 'before' parameter is not a place in the timeline.")
    shown_groups = sorted(set(chosen)) if chosen else None
    what = "timeline" + (f" ({', '.join(shown_groups)})" if shown_groups else "")
    participant = participant_read(request, pk, what=what)
    page = timeline_page(
        participant, user, before=before, limit=PAGE_SIZE, groups_shown=shown_groups
    )
    kinds = [("kind", k) for k in shown_groups or []]
    older = ""
    if page.next_cursor is not None:
        older = "?" + urlencode([("before", page.next_cursor.token()), *kinds])
    context = {
        "p": participant,
        "entries": page.entries,
        "older": older,
        "groups": [(key, label, key in (shown_groups or [])) for key, label in offered],
        "filtered": shown_groups is not None,
        "kinds_query": urlencode(kinds),
        "continued": bool(before_token),
        "office_zone": participant.office.time_zone,
    }
    return fragment_or_page(
        request,
        "participants/_timeline_page.html",
        "participants/timeline.html",
        context,
        target="timeline-more",
    )
