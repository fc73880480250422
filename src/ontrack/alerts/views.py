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
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from ontrack.accounts.models import Office, User
from ontrack.accounts.web import staff_user
from ontrack.alerts import services, triage
from ontrack.alerts.detail_labels import detail_words
from ontrack.alerts.durations import duration_text
from ontrack.alerts.models import Alert, AlertKind, AlertStatus, Disposition, Priority
from ontrack.alerts.on_call import on_call_page_of
from ontrack.alerts.queries import (
    CLOSED_COUNTED,
    HISTORY_DAYS,
    QUEUE_STATUSES,
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
from ontrack.participants.models import Participant

# The alert page's map shows the track from this long before the alert began to this long
# after.
MAP_WINDOW = dt.timedelta(minutes=30)


def _number(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


# The queue's "held by" filter: the user's own alerts, or those nobody holds yet.
HOLDERS = (("mine", "Mine"), ("unclaimed", "Unclaimed"))


def _filter_from(request: HttpRequest, user: User) -> AlertFilter:
    holder = request.GET.get("holder", "")
    return AlertFilter(
        status=request.GET.get("status", "active"),
        kind=request.GET.get("kind", "") if request.GET.get("kind") in AlertKind.values else "",
        priority=_number(request, "priority"),
        office=_number(request, "office"),
        officer=_number(request, "officer"),
        participant=_number(request, "participant"),
        assignee=user.pk if holder == "mine" else None,
        unclaimed=holder == "unclaimed",
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
    f = _filter_from(request, user)
    page = Paginator(
        alert_filter(visible, f).select_related("participant", "participant__office", "assignee"),
        settings.ONTRACK_PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    participants_listed(request, (a.participant_id for a in page), what="alert queue")
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "counts": alert_counts(visible, now=timezone.now()),
        "closed_counted_hours": int(CLOSED_COUNTED.total_seconds() // 3600),
        "filters": f,
        "holder": request.GET.get("holder", ""),
        "holders": HOLDERS,
        "query": query.urlencode(),
        "kinds": AlertKind.choices,
        "priorities": Priority.choices,
        "statuses": AlertStatus.choices,
        # Offices of programs with participants: one probe per office, not a join of every
        # participant made distinct (130 ms at 100,000 participants).
        "offices": Office.objects.filter(
            Exists(Participant.objects.filter(program_id=OuterRef("program_id")))
        ),
        "officers": alert_officers_for(user),
    }
    return fragment_or_page(request, "alerts/_queue_table.html", "alerts/queue.html", context)


def _alert_for(user: User, pk: int) -> Alert:
    alert = (
        alerts_visible_to(user)
        .select_related("participant", "resolved_by__office", "resolution_imported_by", "assignee")
        .filter(pk=pk)
        .first()
    )
    if alert is None:
        raise Http404("No such alert in your caseload.")
    return alert


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
            "details": detail_words(
                alert.kind, alert.details, time_zone=alert.participant.office.time_zone
            ),
            "steps": alert.steps.select_related("actor"),
            "in_queue": alert.status in QUEUE_STATUSES,
            "assignees": triage.alert_assignees(alert) if alert.status in QUEUE_STATUSES else [],
            "history": history,
            "history_days": HISTORY_DAYS,
            "history_dispositions": [
                (Disposition(value).label, n)
                for value, n in alert_disposition_counts(history).items()
            ],
            "times": times,
            "to_acknowledge": duration_text(times.to_acknowledge),
            "to_resolve": duration_text(times.to_resolve),
            "strap_alerts": participant_open_strap_alerts(alert.participant_id),
            "on_call_page": on_call_page_of(alert),
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


def _refused(request: HttpRequest, exc: ValidationError, *, back: str) -> HttpResponse:
    """A triage action the service refused (already held, not in the queue, no note): 400,
    saying why, with the way back."""
    return render(
        request, "alerts/refused.html", {"reasons": exc.messages, "back": back}, status=400
    )


def _back_to_queue(request: HttpRequest) -> str:
    """Where a queue row's form returns: the queue as it was filtered (``next``), never
    elsewhere."""
    target = request.POST.get("next", "")
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed and target.startswith(reverse("alerts:queue")) else ""


@login_required
@require_POST
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    _alert_for(user, pk)
    back = _back_to_queue(request) or reverse("alerts:detail", args=[pk])
    try:
        triage.alert_claim(user=user, alert_id=pk)
    except ValidationError as exc:
        return _refused(request, exc, back=back)
    messages.success(request, "The alert is yours.")
    return redirect(back)


@login_required
@require_POST
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    _alert_for(user, pk)
    assignee = request.POST.get("assignee", "")
    try:
        if not assignee.isdigit():
            raise ValidationError({"assignee": "Choose someone who handles this alert."})
        alert = triage.alert_assign(user=user, alert_id=pk, assignee_id=int(assignee))
    except ValidationError as exc:
        return _refused(request, exc, back=reverse("alerts:detail", args=[pk]))
    messages.success(request, f"Assigned to {alert.assignee}.")
    return redirect("alerts:detail", pk=pk)


@login_required
@require_POST
def note(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    _alert_for(user, pk)
    try:
        triage.alert_note_add(user=user, alert_id=pk, note=request.POST.get("note", ""))
    except ValidationError as exc:
        return _refused(request, exc, back=reverse("alerts:detail", args=[pk]))
    messages.success(request, "Note added.")
    return redirect("alerts:detail", pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def bulk_acknowledge(request: HttpRequest) -> HttpResponse:
    """Acknowledge several open alerts of one kind in one action. GET (the queue's selection)
    previews what would be acknowledged: the type, how many, and whom (a read of those
    people, logged); POST, with a reason, acknowledges them all. A selection the service
    refuses (mixed types, not open, none) is answered 400 with its reason."""
    user = _reader(request)
    data = request.POST if request.method == "POST" else request.GET
    ids = data.getlist("alert")
    back = reverse("alerts:queue")
    try:
        if not ids or not all(i.isdigit() for i in ids):
            raise ValidationError("Select the alerts to acknowledge.")
        selection = triage.alerts_bulk_selection(user=user, alert_ids=[int(i) for i in ids])
    except PermissionDenied:
        raise Http404("No such alert in your caseload.") from None
    except ValidationError as exc:
        return _refused(request, exc, back=back)
    reason = ""
    errors: list[str] = []
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        try:
            triage.alerts_acknowledge_bulk(
                user=user, alert_ids=[a.pk for a in selection.alerts], reason=reason
            )
        except ValidationError as exc:
            errors = exc.messages
        else:
            count = len(selection.alerts)
            messages.success(
                request, f"{count} {selection.kind_label} alert{pluralize(count)} acknowledged."
            )
            return redirect(back)
    participants_listed(
        request, (a.participant_id for a in selection.alerts), what="bulk acknowledgement preview"
    )
    return render(
        request,
        "alerts/bulk_acknowledge.html",
        {"selection": selection, "reason": reason, "errors": errors, "back": back},
        status=400 if errors else 200,
    )


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
    alerts = alert_filter(alerts_visible_to(user), _filter_from(request, user)).select_related(
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
