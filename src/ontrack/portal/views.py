"""The participant's pages. Thin: sign-in rules live in ``portal.services``, obligations and
check-ins in ``schedule``; these views only pick the participant from the portal session and
the language, and translate errors into plain words.

``schedule`` is imported inside the views that use it so that the sign-in pages (and the
URL configuration of the whole site) load even where schedule is not installed yet."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ontrack.accounts.web import staff_user
from ontrack.audit.models import AccessAction
from ontrack.audit.services import access_log_record
from ontrack.participants.models import Counsel, Participant
from ontrack.participants.queries import participant_get_for
from ontrack.participants.services import counsel_consent_set_by_participant
from ontrack.portal import forms, labels, services
from ontrack.portal.export import participant_data
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
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = reverse("portal:home")
    return redirect(target)


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
            "appointment_at": r.appointment.starts_at,
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
    from ontrack.schedule import queries as schedule_queries

    window = schedule_queries.checkin_window_current(participant, timezone.now())
    return render(
        request,
        "portal/checkin.html",
        {"p": participant, "window": window, "client_ref": uuid.uuid4()},
    )


def _attempt(request: HttpRequest) -> tuple[str, dt.datetime] | None:
    client_ref = request.POST.get("client_ref", "")
    attempted_at = parse_datetime(request.POST.get("attempted_at", ""))
    try:
        uuid.UUID(client_ref)
    except ValueError:
        return None
    if attempted_at is None or timezone.is_naive(attempted_at):
        return None
    return client_ref, attempted_at


def _float(request: HttpRequest, name: str) -> float | None:
    try:
        return float(request.POST[name])
    except (KeyError, ValueError):
        return None


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


@participant_required
def reschedule(request: HttpRequest, participant: Participant, appointment_id: int) -> HttpResponse:
    from ontrack.schedule import services as schedule_services

    form = forms.ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            schedule_services.reschedule_request_create(
                participant=participant,
                appointment_id=appointment_id,
                reason=form.cleaned_data["reason"],
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


@participant_required
def my_data(request: HttpRequest, participant: Participant) -> HttpResponse:
    _log_self_read(request, participant, "my data page")
    data = participant_data(participant)
    records = [(labels.record_label(key, key), len(rows)) for key, rows in data["records"].items()]
    return render(
        request,
        "portal/my_data.html",
        {"p": participant, "profile": labels.profile_rows(data["profile"]), "records": records},
    )


@participant_required
def my_data_download(request: HttpRequest, participant: Participant) -> HttpResponse:
    _log_self_read(request, participant, "my data download")
    body = json.dumps(participant_data(participant), indent=2, ensure_ascii=False, default=str)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="my-data-{timezone.localdate():%Y-%m-%d}.json"'
    )
    return response


@login_required
@require_POST
def staff_send_link(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    participant = participant_get_for(user, pk)
    services.sign_in_link_send(actor=user, participant=participant, link_base=_link_base(request))
    return redirect("participants:detail", pk=participant.pk)


@login_required
@require_POST
def staff_reset_pin(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    participant = participant_get_for(user, pk)
    services.pin_reset(actor=user, participant=participant)
    return redirect("participants:detail", pk=participant.pk)
