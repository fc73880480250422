"""Officer console pages for zones. Thin: a participant's zones through the gate
(``participants.gate``: 404 outside one's caseload, every read access-logged), shared zones
through ``shared_zones_visible_to``, writes through the services (which check who may
write)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ontrack.accounts.web import apply_service_errors, staff_user
from ontrack.participants.gate import participant_for_change, participant_read
from ontrack.participants.models import Participant
from ontrack.participants.queries import can_write_participant, home_address
from ontrack.zones import services
from ontrack.zones.forms import ZoneForm
from ontrack.zones.models import Zone
from ontrack.zones.queries import (
    editor_start,
    participant_zones,
    shared_zones_visible_to,
    zones_feature_collection,
)


def _map_context() -> dict[str, str]:
    return {"tiles": settings.ONTRACK_MAP_TILES, "attribution": settings.ONTRACK_MAP_ATTRIBUTION}


def _zone_for(
    request: HttpRequest, zone_id: int, *, form: bool = False
) -> tuple[Zone, Participant | None]:
    """The zone if the user may see it (its participant's visibility, or shared-zone
    visibility); 404 otherwise. With ``form``, a GET of a participant's zone is logged as a
    read of it (the editor shows it)."""
    zone = Zone.objects.select_related("participant", "office").filter(pk=zone_id).first()
    if zone is None:
        raise Http404("No such zone.")
    if zone.participant_id is not None:
        return zone, participant_for_change(
            request, zone.participant_id, form=f"zone {zone.pk}" if form else ""
        )
    if not shared_zones_visible_to(staff_user(request)).filter(pk=zone.pk).exists():
        raise Http404("No such zone.")
    return zone, None


@login_required
def participant_zone_list(request: HttpRequest, pk: int) -> HttpResponse:
    """The participant's zones on a map, with links to edit them."""
    user = staff_user(request)
    participant = participant_read(request, pk, what="zones")
    zones = participant_zones(participant)
    return render(
        request,
        "zones/participant_zones.html",
        {
            "p": participant,
            "zones": zones,
            "collection": zones_feature_collection(zones),
            "can_write": can_write_participant(user, participant),
            "shared": shared_zones_visible_to(user).exclude(attached=participant),
            **_map_context(),
        },
    )


@login_required
def participant_zones_geojson(request: HttpRequest, pk: int) -> JsonResponse:
    """The participant's zones as a GeoJSON FeatureCollection (alert and track maps)."""
    participant = participant_read(request, pk, what="zones geojson")
    return JsonResponse(zones_feature_collection(participant_zones(participant)))


def _editor(
    request: HttpRequest, form: ZoneForm, *, participant: Participant | None, zone: Zone | None
) -> HttpResponse:
    """The editor page. For a participant, the map opens where they live (``editor_start``)
    with their other zones drawn for context; centring it on their last known position is a
    read of their location, and is logged as one. A shared zone's editor opens at the
    office. The address search is offered only where a geocoder is configured; for a new
    zone it is filled in with the participant's current address, which leaves for the
    geocoder only when the officer presses Find."""
    office = participant.office if participant is not None else staff_user(request).office
    start = editor_start(participant, office=office, editing=zone)
    context: dict[str, object] = {"type": "FeatureCollection", "features": []}
    if participant is not None:
        others = participant_zones(participant)
        if zone is not None:
            others = others.exclude(pk=zone.pk)
        context = zones_feature_collection(others)
        if start.pop("used_position", False):
            participant_read(request, participant.pk, what="last known position (zone editor map)")
    return render(
        request,
        "zones/zone_edit.html",
        {
            "form": form,
            "p": participant,
            "zone": zone,
            "start": start,
            "context": context,
            "geocoder": settings.ONTRACK_GEOCODER_URL,
            "search": (
                home_address(participant)
                if settings.ONTRACK_GEOCODER_URL and participant is not None and zone is None
                else ""
            ),
            **_map_context(),
        },
    )


@login_required
def zone_new(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    participant = participant_for_change(request, pk, form="new zone form")
    if not can_write_participant(user, participant):
        raise PermissionDenied("You may read but not change this case.")
    form = ZoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.zone_create(actor=user, participant=participant, data=form.zone_data())
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Zone saved.")
            return redirect("zones:participant", pk=pk)
    return _editor(request, form, participant=participant, zone=None)


@login_required
def shared_zone_new(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    if not services.can_write_shared_zone(user, user.office):
        raise PermissionDenied("Shared zones are kept by supervisors and administrators.")
    form = ZoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.zone_create(actor=user, office=user.office, data=form.zone_data())
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Shared zone saved.")
            return redirect("zones:shared")
    return _editor(request, form, participant=None, zone=None)


def _back(zone: Zone) -> HttpResponse:
    if zone.participant_id is not None:
        return redirect("zones:participant", pk=zone.participant_id)
    return redirect("zones:shared")


@login_required
def zone_edit(request: HttpRequest, zone_id: int) -> HttpResponse:
    user = staff_user(request)
    zone, participant = _zone_for(request, zone_id, form=True)
    if not services.can_write_zone(user, zone):
        raise PermissionDenied("You may not edit this zone.")
    form = ZoneForm(request.POST) if request.method == "POST" else ZoneForm.for_zone(zone)
    if request.method == "POST" and form.is_valid():
        try:
            services.zone_update(actor=user, zone=zone, data=form.zone_data())
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Zone saved.")
            return _back(zone)
    return _editor(request, form, participant=participant, zone=zone)


@login_required
@require_POST
def zone_delete(request: HttpRequest, zone_id: int) -> HttpResponse:
    user = staff_user(request)
    zone, _ = _zone_for(request, zone_id)
    services.zone_delete(actor=user, zone=zone)
    messages.success(request, "Zone deleted.")
    return _back(zone)


@login_required
@require_POST
def zone_attach(request: HttpRequest, pk: int) -> HttpResponse:
    """Attach (or, with ``detach``, remove) a shared zone for this participant."""
    user = staff_user(request)
    participant = participant_for_change(request, pk)
    zone, _ = _zone_for(request, int(request.POST.get("zone", "0") or 0))
    if request.POST.get("detach"):
        services.zone_detach(actor=user, zone=zone, participant=participant)
    else:
        try:
            services.zone_attach(actor=user, zone=zone, participant=participant)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    return redirect("zones:participant", pk=pk)


@login_required
def shared_zone_list(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    zones = shared_zones_visible_to(user)
    return render(
        request,
        "zones/shared_zones.html",
        {
            "zones": zones,
            "can_write": services.can_write_shared_zone(user, user.office),
            "collection": zones_feature_collection(zones),
            **_map_context(),
        },
    )
