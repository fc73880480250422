"""The participant's pages. Thin: sign-in rules live in ``portal.services``, obligations and
check-ins in ``schedule``; these views only pick the participant from the portal session and
the language, and translate errors into plain words.

``schedule`` is imported inside the views that use it so that the sign-in pages (and the
URL configuration of the whole site) load even where schedule is not installed yet."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import uuid
import zoneinfo
from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.handlers.asgi import ASGIRequest
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ontrack.accounts.web import staff_user
from ontrack.audit.models import AccessAction
from ontrack.audit.services import access_log_record
from ontrack.participants.gate import participant_for_change
from ontrack.participants.models import Counsel, Participant
from ontrack.participants.services import counsel_consent_set_by_participant
from ontrack.portal import export, forms, labels, services
from ontrack.portal.session import (
    LANGUAGE_KEY,
    PENDING_KEY,
    PHONE_KEY,
    language_for,
    participant_required,
    public_portal_page,
    sign_in_complete,
    sign_out,
)
from ontrack.reviews.services import review_request_submit

logger = logging.getLogger(__name__)

TECHNICAL_REASONS = {"camera", "location", "upload", "other"}


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _link_base(request: HttpRequest) -> str:
    """Where sign-in links texted to participants point: the configured public address,
    never the host this request came in on (behind a proxy that is an internal name, and a
    forged Host header must not choose where a sign-in link leads)."""
    return settings.ONTRACK_PUBLIC_URL + reverse("portal:link", args=["-"])[:-2]


@public_portal_page
def sign_in(request: HttpRequest) -> HttpResponse:
    form = forms.PhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        phone = form.cleaned_data["phone"]
        try:
            services.sign_in_request(phone=phone, ip=_ip(request), link_base=_link_base(request))
        except services.Throttled:
            form.add_error(None, _("Too many tries. Wait 15 minutes and try again."))
        else:
            request.session[PHONE_KEY] = phone
            return redirect("portal:code")
    return render(request, "portal/sign_in.html", {"form": form})


@public_portal_page
def code(request: HttpRequest) -> HttpResponse:
    phone = request.session.get(PHONE_KEY)
    if not phone:
        return redirect("portal:sign_in")
    form = forms.CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            participant = services.sign_in_code_verify(
                phone=phone, code=form.cleaned_data["code"], ip=_ip(request)
            )
        except services.Throttled:
            form.add_error(None, _("Too many tries. Wait 15 minutes and try again."))
        except services.SignInFailed:
            form.add_error("code", _("This code does not work. Check it, or ask for a new one."))
        else:
            request.session[PENDING_KEY] = participant.pk
            return redirect("portal:pin")
    return render(request, "portal/code.html", {"form": form})


@public_portal_page
def link(request: HttpRequest, token: str) -> HttpResponse:
    """A one-time link from the text message. GET only shows a button, because phones and
    chat apps open links by themselves to preview them and would use the link up."""
    if request.method == "POST":
        try:
            participant = services.sign_in_link_verify(token=token, ip=_ip(request))
        except (services.Throttled, services.SignInFailed):
            return render(request, "portal/link.html", {"failed": True}, status=400)
        request.session[PENDING_KEY] = participant.pk
        return redirect("portal:pin")
    return render(request, "portal/link.html", {"failed": False})


def pin(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING_KEY)
    participant = Participant.objects.filter(pk=pending).first() if pending else None
    if participant is None:
        return redirect("portal:sign_in")
    with language_for(request, participant):
        return _pin_page(request, participant)


def _pin_page(request: HttpRequest, participant: Participant) -> HttpResponse:
    if not services.pin_is_set(participant):
        set_form = forms.PinSetForm(request.POST or None)
        if request.method == "POST" and set_form.is_valid():
            services.pin_set(participant, set_form.cleaned_data["pin"])
            sign_in_complete(request, participant)
            return redirect("portal:home")
        return render(request, "portal/pin.html", {"form": set_form, "first_time": True})
    form = forms.PinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = services.pin_verify(participant, form.cleaned_data["pin"])
        if result.ok:
            sign_in_complete(request, participant)
            return redirect("portal:home")
        if result.locked:
            request.session.pop(PENDING_KEY, None)
            form.add_error(
                None, _("Too many wrong PINs. Wait 30 minutes, or ask your officer to reset it.")
            )
        else:
            form.add_error("pin", _("This PIN is not right."))
    return render(request, "portal/pin.html", {"form": form, "first_time": False})


@require_POST
def sign_out_view(request: HttpRequest) -> HttpResponse:
    sign_out(request)
    return redirect("portal:sign_in")


@require_POST
def language(request: HttpRequest) -> HttpResponse:
    """The language switcher on every portal page: remembered for this visit."""
    code = request.POST.get("language", "")
    if code in dict(settings.LANGUAGES):
        request.session[LANGUAGE_KEY] = code
    target = request.POST.get("next", "")
    # Only a path on this site (``redirect`` would read a bare word as a view's name).
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(
        target, {request.get_host()}
    ):
        target = reverse("portal:home")
    return HttpResponseRedirect(target)


@participant_required
def home(request: HttpRequest, participant: Participant) -> HttpResponse:
    from ontrack.schedule import queries as schedule_queries

    now = timezone.now()
    obligations = [
        dataclasses.replace(o, purpose=labels.hearing_kind(o.purpose_code, o.purpose))
        if o.kind == "hearing"
        else o
        for o in schedule_queries.obligations_upcoming(participant, now=now)
    ]
    window = schedule_queries.checkin_window_current(participant, now)
    requests = [
        {
            "appointment_at": r.original_starts_at or r.appointment.starts_at,
            "now_at": r.appointment.starts_at,
            "preferred_at": r.preferred_starts_at,
            "status": r.status,
            "status_label": labels.REQUEST_STATUSES.get(r.status, r.status),
            "note": r.decision_note,
        }
        for r in schedule_queries.reschedule_requests_recent(participant, now=now)
    ]
    return render(
        request,
        "portal/home.html",
        {"p": participant, "obligations": obligations, "window": window, "requests": requests},
    )


@participant_required
def checkin(request: HttpRequest, participant: Participant) -> HttpResponse:
    from ontrack.portal.disclosure import location_collection
    from ontrack.schedule import queries as schedule_queries

    now = timezone.now()
    window = schedule_queries.checkin_window_current(participant, now)
    return render(
        request,
        "portal/checkin.html",
        {
            "p": participant,
            "window": window,
            "client_ref": uuid.uuid4(),
            "location": location_collection(participant, now=now),
        },
    )


def _attempt(request: HttpRequest) -> tuple[str, dt.datetime] | None:
    client_ref = request.POST.get("client_ref", "")
    try:
        uuid.UUID(client_ref)
        # A well-formed but impossible time (2026-02-30) raises rather than returning None.
        attempted_at = parse_datetime(request.POST.get("attempted_at", ""))
    except ValueError:
        return None
    if attempted_at is None or timezone.is_naive(attempted_at):
        return None
    return client_ref, attempted_at


def _float(request: HttpRequest, name: str) -> float | None:
    try:
        value = float(request.POST[name])
    except (KeyError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _receipt(checkin: object) -> JsonResponse:
    return JsonResponse(
        {
            "reference": getattr(checkin, "reference", ""),
            "outcome": getattr(checkin, "outcome", ""),
            "message": _("Check-in received. Your reference number is %(reference)s.")
            % {"reference": getattr(checkin, "reference", "")},
        }
    )


@require_POST
@participant_required
def checkin_submit(request: HttpRequest, participant: Participant) -> HttpResponse:
    """Receive a check-in from the page (maybe long after it was taken, from the phone's
    outbox). Idempotent on ``client_ref``: a retry after a lost answer returns the same
    receipt."""
    from ontrack.schedule import services as schedule_services

    attempt = _attempt(request)
    photo = request.FILES.get("photo")
    if attempt is None or photo is None:
        return HttpResponseBadRequest("client_ref, attempted_at and photo are required")
    client_ref, attempted_at = attempt
    try:
        result = schedule_services.checkin_submit(
            participant=participant,
            client_ref=client_ref,
            attempted_at=attempted_at,
            photo=photo.read(),
            photo_content_type=photo.content_type or "application/octet-stream",
            lat=_float(request, "lat"),
            lon=_float(request, "lon"),
            accuracy_m=_float(request, "accuracy_m"),
        )
    except ValidationError as exc:
        return JsonResponse({"error": " ".join(exc.messages)}, status=422)
    return _receipt(result)


@require_POST
@participant_required
def checkin_failure(request: HttpRequest, participant: Participant) -> HttpResponse:
    """The participant tried but the camera or location was refused or missing: recorded as
    a technical failure (the officer gets a task), never as a missed check-in."""
    from ontrack.schedule import services as schedule_services

    attempt = _attempt(request)
    reason = request.POST.get("reason", "")
    if attempt is None or reason not in TECHNICAL_REASONS:
        return HttpResponseBadRequest("client_ref, attempted_at and reason are required")
    client_ref, attempted_at = attempt
    result = schedule_services.checkin_technical_failure(
        participant=participant,
        client_ref=client_ref,
        attempted_at=attempted_at,
        reason=reason,
        detail=request.POST.get("detail", "")[:500],
    )
    return _receipt(result)


def _slot_choices(participant: Participant, appointment_id: int) -> forms.SlotChoices:
    """The free slots of the appointment's office in the coming two weeks, grouped under
    their day in the participant's words; none for a home visit or someone else's
    appointment (which the request then refuses as not found)."""
    from ontrack.schedule import queries as schedule_queries
    from ontrack.schedule.models import Appointment, AppointmentKind

    appointment = (
        Appointment.objects.select_related("office")
        .filter(pk=appointment_id, participant=participant, kind=AppointmentKind.OFFICE)
        .first()
    )
    if appointment is None:
        return []
    slots = schedule_queries.free_slots_ahead(
        appointment.office, not_before=timezone.now(), skip=appointment.starts_at
    )
    days: dict[str, list[tuple[str, str]]] = {}
    for slot in slots:
        local = timezone.localtime(slot.starts_at)
        days.setdefault(labels.day_words(local), []).append(
            (slot.starts_at.isoformat(), f"{local:%H:%M}")
        )
    return list(days.items())


def _instant(value: str) -> dt.datetime | None:
    parsed = parse_datetime(value) if value else None
    return parsed if parsed is not None and timezone.is_aware(parsed) else None


@participant_required
def reschedule(request: HttpRequest, participant: Participant, appointment_id: int) -> HttpResponse:
    from ontrack.schedule import services as schedule_services

    form = forms.RescheduleForm(
        request.POST or None, slots=_slot_choices(participant, appointment_id)
    )
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["slot"]
        try:
            preferred = _instant(chosen)
            if chosen and preferred is None:
                raise ValidationError(_("That time is no longer free. Choose another."))
            schedule_services.reschedule_request_create(
                participant=participant,
                appointment_id=appointment_id,
                reason=form.cleaned_data["reason"],
                preferred_starts_at=preferred,
            )
        except (ObjectDoesNotExist, PermissionDenied) as exc:
            raise Http404 from exc
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            return render(request, "portal/done.html", {"p": participant, "what": "reschedule"})
    return render(
        request, "portal/reason.html", {"p": participant, "form": form, "what": "reschedule"}
    )


@participant_required
def review(request: HttpRequest, participant: Participant) -> HttpResponse:
    form = forms.ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            review_request_submit(participant=participant, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            return render(request, "portal/done.html", {"p": participant, "what": "review"})
    return render(request, "portal/reason.html", {"p": participant, "form": form, "what": "review"})


@participant_required
def counsel(request: HttpRequest, participant: Participant) -> HttpResponse:
    """Whether the participant's counsel of record gets copies of their notices: they give
    or withdraw that consent here (``counsel_consent_set_by_participant``)."""
    lawyer = Counsel.objects.filter(participant=participant).first()
    if request.method == "POST" and lawyer is not None:
        choice = request.POST.get("consent")
        if choice in ("yes", "no"):
            counsel_consent_set_by_participant(participant, consent=choice == "yes")
            return redirect("portal:counsel")
    return render(request, "portal/counsel.html", {"p": participant, "counsel": lawyer})


def _log_self_read(request: HttpRequest, participant: Participant, what: str) -> None:
    access_log_record(
        user=None,
        action=AccessAction.EXPORT if "download" in what else AccessAction.VIEW,
        what=f"participant self-service: {what}",
        participant_ids=[participant.pk],
        request=request,
        by_participant=participant.pk,
    )


MY_DATA_SHOWN = 5


@participant_required
def my_data(request: HttpRequest, participant: Participant) -> HttpResponse:
    """Everything kept about the person, each kind named and explained in their language,
    with its latest records (the download has all of them)."""
    from ontrack.portal.disclosure import location_collection

    _log_self_read(request, participant, "my data page")
    kinds = []
    for kind in export.record_kinds():
        rows, count = export.recent_rows(kind, participant, limit=MY_DATA_SHOWN)
        kinds.append(
            {
                "key": kind.key,
                "name": labels.record_label(kind.key, str(kind.model._meta.verbose_name_plural)),
                "explanation": labels.record_explanation(kind.key),
                "count": count,
                "rows": [
                    [(label, labels.shown_value(name, value)) for label, name, value in row]
                    for row in rows
                ],
            }
        )
    return render(
        request,
        "portal/my_data.html",
        {
            "p": participant,
            "profile": labels.profile_rows(export.profile(participant)),
            "kinds": kinds,
            "shown": MY_DATA_SHOWN,
            "location": location_collection(participant, now=timezone.now()),
        },
    )


def _each_step_in(
    chunks: Iterator[bytes], language: str, zone: zoneinfo.ZoneInfo
) -> Iterator[bytes]:
    """Run each step of a streamed body in the participant's language and time zone, and
    only then: between steps the thread may serve someone else."""
    while True:
        with translation.override(language), timezone.override(zone):
            chunk = next(chunks, None)
        if chunk is None:
            return
        if chunk:
            yield chunk


def _streamed(
    request: HttpRequest, chunks: Iterator[bytes]
) -> Iterator[bytes] | AsyncIterator[bytes]:
    """Under ASGI, Django would read a plain iterator whole into memory before sending it;
    there each piece is made in the thread the view ran in and sent as it comes."""
    if not isinstance(request, ASGIRequest):
        return chunks

    def step() -> bytes | None:
        return next(chunks, None)

    async def pieces() -> AsyncIterator[bytes]:
        while (chunk := await sync_to_async(step, thread_sensitive=True)()) is not None:
            yield chunk

    return pieces()


@participant_required
def my_data_download(request: HttpRequest, participant: Participant) -> HttpResponseBase:
    """The whole record as a ZIP (a CSV per kind of record, photos, a README in the
    person's language), streamed while it is written: no size limit, no row cut-off."""
    _log_self_read(request, participant, "my data download")
    kinds = export.record_kinds()
    names = {k.key: _file_name(labels.record_label(k.key, k.key)) for k in kinds}
    text = export.ArchiveText(
        readme=_readme(participant, kinds, names),
        about_me=_file_name(_("About me")),
        kind_names=names,
        profile_rows=labels.profile_rows(export.profile(participant)),
    )
    body = _each_step_in(
        export.zip_stream(participant, text),
        translation.get_language() or settings.LANGUAGE_CODE,
        zoneinfo.ZoneInfo(participant.time_zone),
    )
    response = StreamingHttpResponse(_streamed(request, body), content_type="application/zip")
    response["Content-Disposition"] = (
        f'attachment; filename="my-data-{timezone.localdate():%Y-%m-%d}.zip"'
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _file_name(label: str) -> str:
    return "".join(c for c in label if c not in '/\\:*?"<>|').strip()


def _readme(participant: Participant, kinds: list[export.RecordKind], names: dict[str, str]) -> str:
    lines = [
        _("Your data, as the program keeps it on %(when)s.")
        % {"when": labels.when_words(timezone.now())},
        "",
        _(
            "Each table is a CSV file: it opens in a spreadsheet. The column names are the "
            "program's own, in English. The folder photos holds your photos."
        ),
        "",
        f"00 {_file_name(_('About me'))}.csv",
    ]
    for index, kind in enumerate(kinds, start=1):
        lines.append(f"{index:02d} {names[kind.key]}.csv")
        lines.append(f"    {labels.record_explanation(kind.key)}")
    return "\n".join(lines) + "\n"


@login_required
@require_POST
def staff_send_link(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    participant = participant_for_change(request, pk)
    services.sign_in_link_send(actor=user, participant=participant, link_base=_link_base(request))
    return redirect("participants:detail", pk=participant.pk)


@login_required
@require_POST
def staff_reset_pin(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    participant = participant_for_change(request, pk)
    services.pin_reset(actor=user, participant=participant)
    return redirect("participants:detail", pk=participant.pk)
