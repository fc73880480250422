"""Officer console pages for devices and tracks. Thin: each view checks what the user may
see (``devices_visible_to``, and the gate ``participants.gate`` for the participant or the
wearer, which logs every read), calls a service or a query, and renders."""

from __future__ import annotations

import datetime as dt

from django import forms as django_forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from ontrack.accounts.models import Office, Role, User
from ontrack.accounts.templatetags.office_time import office_local, office_time
from ontrack.accounts.web import apply_service_errors, staff_user
from ontrack.fragments import swaps_fragment, vary_on_htmx
from ontrack.participants import gate
from ontrack.participants.forms import officers_for
from ontrack.participants.models import Level, Participant
from ontrack.participants.queries import can_write_participant, participants_visible_to
from ontrack.tracking import exports, forms, live_map
from ontrack.tracking.models import (
    Device,
    DeviceCommand,
    DeviceKind,
    DeviceStatus,
    InvalidReason,
    Protocol,
)
from ontrack.tracking.playback import track_playback
from ontrack.tracking.queries import (
    DEVICE_SORTS,
    DeviceFilter,
    device_current_wearer,
    device_filter,
    devices_visible_to,
    no_fix_periods,
    participant_current_device,
    participant_positions_iter,
)
from ontrack.tracking.queries import (
    participant_track as track_query,
)
from ontrack.tracking.services import commands, devices
from ontrack.tracking.stops import MIN_DWELL, STOP_RADIUS_M
from ontrack.tracking.timeline_sources import event_words
from ontrack.zones.queries import participant_zones


@login_required
def device_list(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    if not user.reads_participants:
        raise PermissionDenied("Your role does not see devices.")
    office = request.GET.get("office", "")
    f = DeviceFilter(
        q=request.GET.get("q", "")[:40],
        status=request.GET.get("status", ""),
        kind=request.GET.get("kind", ""),
        protocol=request.GET.get("protocol", ""),
        office=int(office) if office.isdigit() else None,
        sort=request.GET.get("sort", "identifier")
        if request.GET.get("sort") in DEVICE_SORTS
        else "identifier",
    )
    rows = device_filter(devices_visible_to(user), f).select_related("office")
    page = Paginator(rows, settings.ONTRACK_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    sort_query = query.copy()
    sort_query.pop("sort", None)
    return render(
        request,
        "tracking/devices.html",
        {
            "page": page,
            "rows": list(page.object_list),
            "filter": f,
            "query": query.urlencode(),
            "sort_query": sort_query.urlencode(),
            "statuses": DeviceStatus.choices,
            "kinds": DeviceKind.choices,
            "protocols": Protocol.choices,
            "offices": Office.objects.all() if user.role != Role.OFFICER else [],
            "filtered": any([f.q, f.status, f.kind, f.protocol, f.office]),
            "can_register": devices.can_register_devices(user),
        },
    )


@login_required
def device_register(request: HttpRequest) -> HttpResponse:
    """Add a device to the inventory, in stock: administrators for any office (or none),
    supervisors for their own office."""
    user = staff_user(request)
    if not devices.can_register_devices(user):
        raise PermissionDenied("Only administrators and supervisors register devices.")
    form = forms.DeviceRegisterForm(
        request.POST or None,
        offices=devices.device_manager_offices(user),
        office_required=not devices.can_manage_devices(user, None),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            device = devices.device_register(
                actor=user,
                identifier=data["identifier"],
                kind=data["kind"],
                protocol=data["protocol"],
                office=data["office"],
                firmware=data["firmware"],
                time_offset_minutes=data["time_offset_minutes"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"{device} is registered and in stock.")
            return redirect("tracking:device", pk=device.pk)
    return render(
        request,
        "tracking/device_form.html",
        {"title": "Register a device", "form": form, "submit": "Register"},
        status=400 if form.is_bound and form.errors else 200,
    )


def _visible_device(user: User, pk: int) -> Device:
    try:
        return devices_visible_to(user).select_related("office").get(pk=pk)
    except Device.DoesNotExist:
        raise Http404("No such device.") from None


@login_required
def device_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    device = _visible_device(user, pk)
    wearer = device_current_wearer(device)
    if wearer is not None:
        # The page names the wearer, and a worn device's last position is where they were.
        shown = "wearer and last position" if device.last_fix_time is not None else "wearer"
        gate.participant_read(request, wearer.pk, what=f"device {device.identifier} {shown}")
    # Former wearers are people too: a device back in stock shows only those the user may
    # see, and showing them is a read of a list.
    assignments = list(
        device.assignments.filter(participant__in=participants_visible_to(user)).select_related(
            "participant", "assigned_by", "ended_by"
        )[:50]
    )
    gate.participants_listed(
        request,
        (a.participant_id for a in assignments),
        what=f"device {device.identifier} wearers",
    )
    return render(
        request,
        "tracking/device.html",
        {
            "device": device,
            "wearer": wearer,
            "assignments": assignments,
            "unassign_form": forms.UnassignForm(),
            "can_unassign": wearer is not None and can_write_participant(user, wearer),
            **_locate_context(user, device),
        },
    )


@login_required
def device_unassign(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    device = _visible_device(user, pk)
    wearer = device_current_wearer(device)
    if wearer is None:
        messages.error(request, "This device is not assigned.")
        return redirect("tracking:device", pk=pk)
    wearer = gate.participant_for_change(request, wearer.pk, form=f"take back {device}")
    if not can_write_participant(user, wearer):
        raise PermissionDenied("You may not change this participant's devices.")
    form = forms.UnassignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            devices.device_unassign(device, actor=user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"{device} is back in stock.")
            return redirect("tracking:device", pk=pk)
    return _form_page(request, f"Take back {device}", form, wearer, "Take back")


@login_required
@require_POST
def device_returned(request: HttpRequest, pk: int) -> HttpResponse:
    """A device awaiting return was handed in (or a lost one found): back to stock."""
    user = staff_user(request)
    device = _visible_device(user, pk)
    try:
        devices.device_return_to_stock(device, actor=user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{device} is back in stock.")
    return redirect("tracking:device", pk=pk)


def _form_page(
    request: HttpRequest,
    title: str,
    form: django_forms.Form,
    participant: Participant,
    submit: str,
) -> HttpResponse:
    return render(
        request,
        "participants/form.html",
        {"title": title, "form": form, "p": participant, "submit": submit, "intro": ""},
        status=400 if form.is_bound and form.errors else 200,
    )


def _writable(request: HttpRequest, pk: int, *, form: str) -> tuple[User, Participant]:
    user = staff_user(request)
    participant = gate.participant_for_change(request, pk, form=form)
    if not can_write_participant(user, participant):
        raise PermissionDenied("You may read but not change this case.")
    return user, participant


@login_required
def participant_assign(request: HttpRequest, pk: int) -> HttpResponse:
    user, participant = _writable(request, pk, form="fit a device form")
    form = forms.AssignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            devices.device_assign(form.cleaned_data["identifier"], participant, actor=user)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Device fitted.")
            return redirect("tracking:participant_track", pk=pk)
    return _form_page(request, "Fit a device", form, participant, "Assign")


@login_required
def participant_swap(request: HttpRequest, pk: int) -> HttpResponse:
    user, participant = _writable(request, pk, form="swap a device form")
    form = forms.SwapForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            devices.device_swap(
                participant,
                form.cleaned_data["identifier"],
                actor=user,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Device swapped.")
            return redirect("tracking:participant_track", pk=pk)
    return _form_page(request, "Swap the device", form, participant, "Swap")


def _window(
    request: HttpRequest, day: tuple[dt.datetime, dt.datetime] | None, time_zone: str
) -> tuple[forms.TrackWindowForm, dt.datetime, dt.datetime]:
    """The window shown: the office's day asked for (``day``), else the one typed in the
    form (on the office's clock), else the last 24 hours."""
    end = timezone.now()
    start = end - dt.timedelta(hours=24)
    typed = _typed_window(request) is not None
    form = forms.TrackWindowForm(
        request.GET if typed and day is None else None, time_zone=time_zone
    )
    if day is not None:
        start, end = day
    elif typed:
        if form.is_valid():
            start = form.cleaned_data["start"].astimezone(dt.UTC)
            end = form.cleaned_data["end"].astimezone(dt.UTC)
        return form, start, end
    fmt = "%Y-%m-%dT%H:%M"
    return (
        forms.TrackWindowForm(
            initial={
                "start": office_local(start, time_zone).strftime(fmt),
                "end": office_local(end, time_zone).strftime(fmt),
            },
            time_zone=time_zone,
        ),
        start,
        end,
    )


def _typed_window(request: HttpRequest) -> str | None:
    """The window typed in the track form, as the access log names it, or None."""
    if "start" not in request.GET and "end" not in request.GET:
        return None
    start, end = (request.GET.get(name, "")[:16] for name in ("start", "end"))
    return f"track {start} to {end} office time"


@login_required
def participant_track(request: HttpRequest, pk: int) -> HttpResponse:
    """The participant's track on a map between two times (or over one day of the office's
    calendar), with its playback: a slider through the window, the stops, the gaps (the
    line breaks there: where the person went meanwhile is unknown) and the zones. Device
    events and the periods the device reported without a GPS fix are listed."""
    user = staff_user(request)
    playback_form = forms.PlaybackForm(request.GET)
    if not playback_form.is_valid():
        return HttpResponseBadRequest(
            " ".join(
                f"{name}: {' '.join(map(str, errors))}"
                for name, errors in playback_form.errors.items()
            ),
            content_type="text/plain",
        )
    asked = playback_form.asked()
    what = f"track and playback, {asked}" if asked else _typed_window(request)
    participant = gate.participant_read(request, pk, what=what or "track of the last 24 hours")
    time_zone = participant.office.time_zone
    form, start, end = _window(request, playback_form.day_window(time_zone), time_zone)
    items = track_query(participant, start, end)
    stop_min = playback_form.cleaned_data["stop_min"] or int(MIN_DWELL.total_seconds() // 60)
    playback = track_playback(
        items,
        start=start,
        end=end,
        at=playback_form.cleaned_data["at"],
        time_zone=time_zone,
        zones=participant_zones(participant),
        min_dwell=dt.timedelta(minutes=stop_min),
    )
    labels = dict(InvalidReason.choices)
    events = [(item.event, event_words(item.event.kind)) for item in items if item.event]
    device = participant_current_device(participant)
    return render(
        request,
        "tracking/track.html",
        {
            "p": participant,
            "form": form,
            "playback_form": forms.PlaybackForm(
                initial={"day": office_local(start, time_zone).date(), "stop_min": stop_min}
            ),
            "start": start,
            "end": end,
            "office_zone": time_zone,
            "playback": playback.data,
            "stop_min": stop_min,
            "stop_radius_m": round(STOP_RADIUS_M),
            "point_count": sum(len(segment) for segment in playback.shape.segments),
            "no_fix_periods": [
                (period, ", ".join(labels.get(r, r) for r in period.reasons))
                for period in no_fix_periods(items)
            ],
            "events": events,
            "device": device,
            "assignments": participant.device_assignments.select_related("device")[:20],
            "can_write": can_write_participant(user, participant),
            **_locate_context(user, device),
            "tiles": settings.ONTRACK_MAP_TILES,
            "attribution": settings.ONTRACK_MAP_ATTRIBUTION,
        },
    )


@login_required
@require_POST
def participant_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponseBase:
    """The participant's full location history in one file, streamed. It is where a person
    was for a year, so it takes what the full record ZIP takes: the people answerable for
    the case (officer, the office's supervisors, administrators; never an operator or an
    auditor) and a stated purpose, written to the access log before a byte leaves. Without a
    purpose: 400, nothing logged."""
    if fmt not in exports.FORMATS:
        raise Http404("Unknown export format.")
    try:
        participant = gate.participant_export(
            request,
            pk,
            what=f"full location history ({fmt})",
            purpose=request.POST.get("purpose", ""),
            answerable=can_write_participant,
            refusal="Only the case's officer, its supervisors and administrators export its "
            "locations.",
        )
    except ValidationError as exc:
        return HttpResponseBadRequest(" ".join(exc.messages), content_type="text/plain")
    rows = participant_positions_iter(participant)
    if fmt == "geojson":
        body = exports.geojson_lines(rows)
    elif fmt == "gpx":
        body = exports.gpx_lines(rows, name=f"{participant.case_number} location history")
    else:
        body = exports.csv_lines(rows)
    response = StreamingHttpResponse(body, content_type=exports.FORMATS[fmt])
    filename = f"location-history-{participant.case_number}.{fmt}".replace('"', "")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _locate_context(user: User, device: Device | None) -> dict[str, object]:
    """What the "locate now" box of the device and track pages shows: whether this device
    can be asked, whether the user may ask, and the latest request still worth showing."""
    if device is None:
        return {"locate_device": None}
    return {
        "locate_device": device,
        "locate_supported": commands.can_locate(device),
        "locate_allowed": commands.can_request_locate(user, device),
        "command": device.commands.order_by("-requested_at", "-id").first(),
    }


@login_required
def device_locate(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask the device for its position now (POST). htmx gets the status box back, which
    then polls until the answer is in; without JavaScript, back to the device page."""
    user = staff_user(request)
    device = _visible_device(user, pk)
    if request.method != "POST":
        return redirect("tracking:device", pk=pk)
    error = ""
    try:
        commands.device_locate_request(actor=user, device=device)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if swaps_fragment(request):
        return vary_on_htmx(
            render(
                request,
                "tracking/_locate.html",
                {**_locate_context(user, device), "locate_error": error},
                status=400 if error else 200,
            )
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "Asked the device for its position.")
    return vary_on_htmx(redirect("tracking:device", pk=pk))


@login_required
def command_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The status box of one on-demand request (htmx polls it until it is answered)."""
    user = staff_user(request)
    try:
        command = DeviceCommand.objects.select_related("device").get(pk=pk)
    except DeviceCommand.DoesNotExist:
        raise Http404("No such request.") from None
    device = _visible_device(user, command.device_id)
    if command.participant_id is not None:
        gate.participant_read(
            request, command.participant_id, what=f"on-demand location {command.pk}"
        )
    return render(request, "tracking/_locate.html", _locate_context(user, device))


def _map_reader(request: HttpRequest) -> User:
    user = staff_user(request)
    if not user.reads_participants:
        raise PermissionDenied("Your role does not see participants' positions.")
    return user


@login_required
@require_GET
def live_map_page(request: HttpRequest) -> HttpResponse:
    """The live map of the caseload. The page itself names nobody: its script fetches
    ``live_map_positions`` (which logs who it shows) and again every poll interval."""
    user = _map_reader(request)
    try:
        f = live_map.live_map_filter_parse(request.GET, user)
    except ValidationError as exc:
        return HttpResponseBadRequest(" ".join(exc.messages), content_type="text/plain")
    return render(
        request,
        "tracking/live_map.html",
        {
            "filter": f,
            "all_offices": live_map.ALL_OFFICES,
            "offices": Office.objects.all() if user.role != Role.OFFICER else [],
            "officers": officers_for(user) if user.role != Role.OFFICER else [],
            "levels": Level.choices,
            "any_wearer": live_map.live_map_has_wearers(user),
            "positions_url": reverse("tracking:live_map_positions"),
            "query": request.GET.urlencode(),
            "poll_s": settings.ONTRACK_LIVE_MAP_POLL_S,
            "poll_ms": settings.ONTRACK_LIVE_MAP_POLL_S * 1000,
            "stale_minutes": settings.ONTRACK_LIVE_MAP_STALE_MINUTES,
            "tiles": settings.ONTRACK_MAP_TILES,
            "attribution": settings.ONTRACK_MAP_ATTRIBUTION,
        },
    )


@login_required
@require_GET
def live_map_positions(request: HttpRequest) -> HttpResponse:
    """Every wearer in the user's scope (narrowed by the page's filters, and to the map's
    viewport when it sends one, ``bbox``) at their last position, with their open alerts
    and staleness, and the scope's counts and bounds; one access-log row naming everyone in
    the answer. Malformed filters: 400; filters outside the user's scope: nobody."""
    user = _map_reader(request)
    try:
        f = live_map.live_map_filter_parse(request.GET, user)
    except ValidationError as exc:
        return JsonResponse({"detail": " ".join(exc.messages)}, status=400)
    now = timezone.now()
    stale_after = dt.timedelta(minutes=settings.ONTRACK_LIVE_MAP_STALE_MINUTES)
    answer = live_map.live_map_wearers(user, f, now=now, stale_after=stale_after)
    wearers, scope = answer.wearers, answer.scope
    gate.participants_listed(
        request, (w.participant_id for w in wearers), what="live map: last positions"
    )
    # Reversed once: a reverse() per wearer was a third of an operator's 7,500-wearer answer.
    person_url = reverse("participants:detail", args=[0]).removesuffix("0/")
    response = JsonResponse(
        {
            "generated_at": now.isoformat(),
            "generated_at_text": office_time(now, user.office.time_zone if user.office else "UTC"),
            "stale_after_minutes": settings.ONTRACK_LIVE_MAP_STALE_MINUTES,
            "scope": {"wearers": scope.wearers, "placed": scope.placed, "bounds": scope.bounds},
            "wearers": [
                {
                    "id": w.participant_id,
                    "name": w.name,
                    "case_number": w.case_number,
                    "url": f"{person_url}{w.participant_id}/",
                    "level": w.level,
                    "office": w.office,
                    "officer": w.officer,
                    "device": w.device,
                    "lat": w.lat,
                    "lon": w.lon,
                    "fix_time": w.fix_time.isoformat() if w.fix_time else None,
                    "fix_time_text": office_time(w.fix_time, w.office_time_zone) or "never",
                    "minutes_since_fix": w.minutes_since_fix,
                    "stale": w.stale,
                    "open_alerts": w.open_alerts,
                    "top_priority": w.top_priority,
                    "state": w.state,
                }
                for w in wearers
            ],
        }
    )
    response["Cache-Control"] = "private, no-store"
    return response
