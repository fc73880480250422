"""The triage queue and the alert page. Thin: scoping comes from ``alerts_visible_to``,
changes from the services, and every page that shows participants writes the access log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ontrack.accounts.models import Office, User
from ontrack.accounts.web import staff_user
from ontrack.alerts import services
from ontrack.alerts.models import Alert, AlertKind, AlertStatus, Disposition, Priority
from ontrack.alerts.queries import (
    HISTORY_DAYS,
    AlertFilter,
    alert_counts,
    alert_disposition_counts,
    alert_filter,
    alert_history,
    alert_officers_for,
    alert_response_times,
    alerts_visible_to,
    participant_open_strap_alerts,
)
from ontrack.audit.models import AccessAction
from ontrack.audit.services import access_log_record, export_purpose_clean
from ontrack.csvsafe import SafeWriter
from ontrack.fragments import fragment_or_page
from ontrack.participants.gate import participant_read, participants_listed

# The alert page's map shows the track from this long before the alert began to this long
# after.
MAP_WINDOW = dt.timedelta(minutes=30)


def _number(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


def _filter_from(request: HttpRequest) -> AlertFilter:
    return AlertFilter(
        status=request.GET.get("status", "active"),
        kind=request.GET.get("kind", "") if request.GET.get("kind") in AlertKind.values else "",
        priority=_number(request, "priority"),
        office=_number(request, "office"),
        officer=_number(request, "officer"),
        participant=_number(request, "participant"),
    )


def _reader(request: HttpRequest) -> User:
    user = staff_user(request)
    if not user.reads_participants:
        raise PermissionDenied("Your role does not handle alerts.")
    return user


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    """The queue refreshes itself (htmx polls the table partial), so new alerts appear
    without a reload."""
    user = _reader(request)
    visible = alerts_visible_to(user)
    f = _filter_from(request)
    page = Paginator(
        alert_filter(visible, f).select_related("participant", "participant__office"),
        settings.ONTRACK_PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    participants_listed(request, (a.participant_id for a in page), what="alert queue")
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "counts": alert_counts(visible),
        "filters": f,
        "query": query.urlencode(),
        "kinds": AlertKind.choices,
        "priorities": Priority.choices,
        "statuses": AlertStatus.choices,
        "offices": Office.objects.filter(program__participants__isnull=False).distinct(),
        "officers": alert_officers_for(user),
    }
    return fragment_or_page(request, "alerts/_queue_table.html", "alerts/queue.html", context)


def _alert_for(user: User, pk: int) -> Alert:
    alert = (
        alerts_visible_to(user)
        .select_related("participant", "resolved_by__office", "resolution_imported_by")
        .filter(pk=pk)
        .first()
    )
    if alert is None:
        raise Http404("No such alert in your caseload.")
    return alert


def _duration(delta: dt.timedelta | None) -> str:
    """A response time as staff say it: "4 min", "1 h 05 min", "2 d 3 h"."""
    if delta is None:
        return ""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The alert with what is needed to decide it: the track and zones at the time (drawn
    in the browser from the tracking and zones endpoints, which check and log the read
    themselves), the device, the earlier alerts of this kind and how they were decided, and
    how long staff took."""
    user = _reader(request)
    alert = _alert_for(user, pk)
    participant_read(request, alert.participant_id, what=f"alert {alert.pk}")
    history = alert_history(alert)
    times = alert_response_times(alert)
    start = alert.occurred_at - MAP_WINDOW
    end = alert.occurred_at + MAP_WINDOW
    window = urlencode({"start": start.isoformat(), "end": end.isoformat()})
    return render(
        request,
        "alerts/detail.html",
        {
            "alert": alert,
            "steps": alert.steps.select_related("actor"),
            "history": history,
            "history_days": HISTORY_DAYS,
            "history_dispositions": [
                (Disposition(value).label, n)
                for value, n in alert_disposition_counts(history).items()
            ],
            "times": times,
            "to_acknowledge": _duration(times.to_acknowledge),
            "to_resolve": _duration(times.to_resolve),
            "strap_alerts": participant_open_strap_alerts(alert.participant_id),
            "dispositions": [(d.value, d.label) for d in services.dispositions_for(user)],
            "playback_url": reverse("tracking:participant_track", args=[alert.participant_id])
            + "?"
            + urlencode({"at": alert.occurred_at.isoformat()}),
            "map_start": start,
            "map_end": end,
            "positions_url": reverse("api:participant_positions_list", args=[alert.participant_id])
            + f"?{window}",
            "events_url": reverse("api:participant_device_events_list", args=[alert.participant_id])
            + f"?{window}",
            "device_base": reverse("api:device_detail", args=[0]).removesuffix("0"),
            "zones_url": reverse("zones:geojson", args=[alert.participant_id]),
            "tiles": settings.ONTRACK_MAP_TILES,
            "attribution": settings.ONTRACK_MAP_ATTRIBUTION,
        },
    )


@login_required
@require_POST
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    _alert_for(user, pk)
    try:
        services.alert_acknowledge(user=user, alert_id=pk)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("alerts:detail", pk=pk)


@login_required
@require_POST
def resolve(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    _alert_for(user, pk)
    try:
        services.alert_resolve(
            user=user,
            alert_id=pk,
            disposition=request.POST.get("disposition", ""),
            note=request.POST.get("note", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Alert resolved.")
    return redirect("alerts:detail", pk=pk)


class _Echo:
    def write(self, value: str) -> str:
        return value


# The shortest purpose an alerts export accepts, as for the reports' participant list.
EXPORT_PURPOSE_MIN_LENGTH = 10


@login_required
@require_POST
def export_csv(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The filtered queue as CSV. A bulk export over many participants leaves the system,
    so, like the reports' participant list, only supervisors (their office) and
    administrators take it, by POST with a stated purpose, and the purpose is written to the
    access log with every participant it contains. The filters stay in the query string."""
    user = _reader(request)
    if not user.manages_caseloads:
        raise PermissionDenied("Alert lists are exported by supervisors and administrators.")
    try:
        purpose = export_purpose_clean(
            request.POST.get("purpose", ""), min_length=EXPORT_PURPOSE_MIN_LENGTH
        )
    except ValidationError:
        messages.error(request, "Say what the alert list is for before exporting it.")
        return redirect(f"{reverse('alerts:queue')}?{request.GET.urlencode()}")
    alerts = alert_filter(alerts_visible_to(user), _filter_from(request)).select_related(
        "participant", "resolved_by"
    )
    access_log_record(
        user=user,
        action=AccessAction.EXPORT,
        what=f"alerts CSV for: {purpose}",
        participant_ids=sorted(set(alerts.values_list("participant_id", flat=True))) or [None],
        request=request,
    )
    writer = SafeWriter(_Echo())

    def when(value: dt.datetime | None) -> str:
        return value.isoformat() if value else ""

    def rows() -> Iterator[str]:
        yield writer.writerow(
            ["id", "case_number", "kind", "source", "priority", "status", "occurred_at",
             "raised_at", "visible_at", "acknowledged_at", "closed_at", "occurrences",
             "disposition", "resolved_by", "resolution_note"]
        )  # fmt: skip
        for a in alerts.iterator(chunk_size=2000):
            yield writer.writerow(
                [a.pk, a.participant.case_number, a.kind, a.source, a.get_priority_display(),
                 a.status, when(a.occurred_at), when(a.raised_at), when(a.visible_at),
                 when(a.acknowledged_at), when(a.closed_at), a.occurrences, a.disposition,
                 a.resolved_by.get_username() if a.resolved_by else a.resolved_by_name,
                 a.resolution_note]
            )  # fmt: skip

    response = StreamingHttpResponse(rows(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="alerts.csv"'
    return response
