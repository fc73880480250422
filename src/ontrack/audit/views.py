from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ontrack.audit.models import AccessAction, AccessLogEntry


@login_required
def access_log(request: HttpRequest) -> HttpResponse:
    """Auditors and administrators browse the log; filters by staff member, participant,
    action and date."""
    if not getattr(request.user, "reads_access_log", False):
        raise PermissionDenied("Only auditors and administrators read the access log.")
    entries = AccessLogEntry.objects.all()
    username = request.GET.get("user", "").strip()
    participant = request.GET.get("participant", "").strip()
    action = request.GET.get("action", "")
    day = request.GET.get("date", "")
    if username:
        entries = entries.filter(username__iexact=username)
    if participant.isdigit():
        entries = entries.filter(participant_id=int(participant))
    if action in AccessAction.values:
        entries = entries.filter(action=action)
    try:
        on = dt.date.fromisoformat(day) if day else None
    except ValueError:
        on = None
    if on is not None:
        entries = entries.filter(at__date=on)
    page = Paginator(entries, 100).get_page(request.GET.get("page"))
    template = "audit/_entries.html" if request.headers.get("HX-Request") else "audit/log.html"
    return render(
        request,
        template,
        {"page": page, "actions": AccessAction.choices, "filters": request.GET},
    )
