"""Officer console for schedules and check-ins: today's check-ins and appointments, the
photo review queue, the task list, a participant's schedule and compliance, and an office's
calendar. Every participant shown is drawn from ``participants_visible_to`` or the gate
(``participants.gate``; others answer 404), and every read is access-logged; every change
goes through ``schedule.services``."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django import forms as django_forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from ontrack.accounts.models import Office, Role, User
from ontrack.accounts.web import apply_service_errors, staff_user
from ontrack.fragments import swaps_fragment, vary_on_htmx
from ontrack.participants.gate import (
    participant_for_change,
    participant_read,
    participant_shown,
    participants_listed,
)
from ontrack.participants.models import Participant
from ontrack.participants.queries import (
    can_write_participant,
    officers_seen_by,
    offices_seen_by,
    participants_visible_to,
)
from ontrack.photos import PhotoRefused, photo_response, photo_thumbnail_response
from ontrack.schedule import forms, queries
from ontrack.schedule.models import (
    Appointment,
    AppointmentBulkAction,
    AppointmentBulkItem,
    AppointmentBulkKind,
    AppointmentKind,
    Checkin,
    CheckinSchedule,
    CheckinWindow,
    RescheduleRequest,
    Task,
)
from ontrack.schedule.services import (
    appointments,
    bulk_appointments,
    bulk_records,
    checkins,
    officer_tasks,
    offices,
    reschedules,
    schedules,
    windows,
)
from ontrack.schedule.services.preamble import require_office_manager
from ontrack.schedule.timeline_sources import checkin_photo_item
from ontrack.selections import ALTERED, selection_read, selection_sign


def _reader(request: HttpRequest) -> User:
    user = staff_user(request)
    if not user.reads_participants:
        raise PermissionDenied("Your role does not read participants.")
    return user


def _form_page(
    request: HttpRequest,
    *,
    title: str,
    form: django_forms.Form,
    participant: Participant | None,
    submit: str,
    intro: str = "",
) -> HttpResponse:
    return render(
        request,
        "participants/form.html",
        {"title": title, "form": form, "p": participant, "submit": submit, "intro": intro},
        status=400 if form.is_bound and form.errors else 200,
    )


def _back(participant: Participant) -> HttpResponse:
    return redirect("participants:detail", pk=participant.pk)


# --- today -------------------------------------------------------------------------------


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _day_page_next(request: HttpRequest) -> str:
    """Where a form on the day page returns to: its ``next`` if that is a page of this site,
    never another site (an open redirect would lend our address to a phishing link)."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("schedule:today")


@login_required
def today(request: HttpRequest) -> HttpResponse:
    """Today's (or a chosen day's) check-in windows and appointments, by office and officer,
    for the participants this user may see. The day is the office's local day."""
    user = _reader(request)
    office_choices = {o.pk: o for o in offices_seen_by(user)}
    office_id = _int(request.GET.get("office"))
    if office_id is None and user.office_id in office_choices:
        office_id = user.office_id
    officer_id = _int(request.GET.get("officer"))
    if user.role == Role.OFFICER:
        officer_id = user.pk
    office = office_choices.get(office_id) if office_id else None
    zone = ZoneInfo(
        office.time_zone if office else (user.office.time_zone if user.office else "UTC")
    )
    try:
        day = dt.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        day = timezone.now().astimezone(zone).date()
    start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    # A page of the day's windows (an office of 17,000 people has 3,000 a weekday): their
    # ids in order in one pass over the people's windows, which counts them too, then the
    # page's rows.
    windows = queries.windows_between_for(
        user, start, end, office_id=office_id, officer_id=officer_id
    )
    windows_page = Paginator(
        list(windows.values_list("pk", flat=True)), settings.ONTRACK_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    shown = CheckinWindow.objects.select_related("participant").in_bulk(list(windows_page))
    day_windows = [shown[pk] for pk in windows_page]
    query = request.GET.copy()
    query.pop("page", None)
    day_appointments = list(
        queries.appointments_between_for(
            user, start, end, office_id=office_id, officer_id=officer_id
        )
    )
    participants_listed(
        request,
        [*(w.participant_id for w in day_windows), *(a.participant_id for a in day_appointments)],
        what=f"schedule for {day}",
    )
    return render(
        request,
        "schedule/today.html",
        {
            "day": day,
            "previous": day - dt.timedelta(days=1),
            "next": day + dt.timedelta(days=1),
            "zone": zone.key,
            "windows": day_windows,
            "windows_page": windows_page,
            "query": query.urlencode(),
            "appointments": day_appointments,
            "offices": list(office_choices.values()),
            "officers": officers_seen_by(user) if user.role != Role.OFFICER else [],
            "office": office,
            "officer_id": officer_id,
            "now": timezone.now(),
            "can_write": user.writes_participants,
            "bulk_form": forms.BulkForm(choices=[]),
        },
    )


@login_required
@require_POST
def attendance(request: HttpRequest, appointment_id: int) -> HttpResponse:
    user = staff_user(request)
    appointment = get_object_or_404(Appointment, pk=appointment_id)
    participant_for_change(request, appointment.participant_id)
    try:
        appointments.appointment_attendance(
            actor=user,
            appointment_id=appointment.pk,
            attended=request.POST.get("attended") == "1",
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    appointment.refresh_from_db()
    if swaps_fragment(request):
        return vary_on_htmx(
            render(
                request,
                "schedule/_appointment_row.html",
                {"a": appointment, "now": timezone.now(), "can_write": True},
            )
        )
    return vary_on_htmx(redirect(_day_page_next(request)))


BULK_PREVIEW = "schedule.bulk_appointments"  # the selection the day page's preview signs


def _bulk_preview(
    request: HttpRequest,
    user: User,
    *,
    ids: list[int],
    action: str,
    back: str,
    errors: list[str],
) -> HttpResponse:
    """What the ticked appointments' bulk action will do, with whom (a read of those
    people, logged), and the confirmation carrying a signed token of exactly these."""
    appointments = list(
        Appointment.objects.filter(pk__in=ids)
        .select_related("participant", "office")
        .order_by("starts_at", "pk")
    )
    participants_listed(
        request, (a.participant_id for a in appointments), what="bulk appointment preview"
    )
    token = selection_sign(
        user_id=user.pk, action=BULK_PREVIEW, ids=[a.pk for a in appointments], what=action
    )
    return render(
        request,
        "schedule/bulk_preview.html",
        {
            "appointments": appointments,
            "action": dict(forms.BULK_ACTIONS)[action],
            "reason": request.POST.get("reason", ""),
            "errors": errors,
            "token": token,
            "back": back,
            "undo_minutes": settings.ONTRACK_BULK_UNDO_MINUTES,
        },
        status=400 if errors else 200,
    )


@login_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Move (each to the nearest free slot) or cancel the appointments ticked on the day
    page, with one reason. The day page's form leads to a preview; only its confirmation,
    carrying a signed token of exactly the previewed appointments and action (ten minutes),
    and a reason, does anything; it leads to the run's page, which offers the undo. An
    altered or expired token is refused with 400."""
    user = staff_user(request)
    back = _day_page_next(request)
    token = request.POST.get("token")
    data: Any = request.POST
    if token is not None:
        try:
            ids, pinned = selection_read(user_id=user.pk, action=BULK_PREVIEW, token=token)
        except ValidationError as exc:
            return render(
                request, "bulk_refused.html", {"reasons": exc.messages, "back": back}, status=400
            )
        data = {"appointments": ids, "action": pinned.get("what"), "reason": data.get("reason")}
        requested = ids
    else:
        requested = [v for v in map(_int, request.POST.getlist("appointments")) if v is not None]
    visible_ids = list(
        Appointment.objects.filter(
            pk__in=requested, participant__in=participants_visible_to(user)
        ).values_list("pk", flat=True)
    )
    form = forms.BulkForm(data, choices=[(pk, str(pk)) for pk in visible_ids])
    if token is None or not form.is_valid():
        if not visible_ids or "action" in form.errors:
            messages.error(request, "Tick at least one appointment and choose what to do.")
            return redirect(back)
        errors = [str(e) for e in form.errors.get("reason", [])] if token is not None else []
        action = str(data.get("action"))
        return _bulk_preview(
            request, user, ids=visible_ids, action=action, back=back, errors=errors
        )
    ids = form.cleaned_data["appointments"]
    reason = form.cleaned_data["reason"]
    try:
        if form.cleaned_data["action"] == "cancel":
            run = bulk_appointments.appointments_cancel_many(
                actor=user, appointment_ids=ids, reason=reason
            )
        else:
            run = bulk_appointments.appointments_move_many(
                actor=user, appointment_ids=ids, reason=reason
            )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(back)
    _bulk_done(request, run)
    return redirect("schedule:bulk_action", pk=run.pk)


def _bulk_done(request: HttpRequest, action: AppointmentBulkAction) -> None:
    """Say what a bulk run did, and for how long it can be undone from its page."""
    done = action.items.filter(skipped="").count()
    left = action.items.exclude(skipped="").count()
    verb = {
        AppointmentBulkKind.CANCEL: "cancelled",
        AppointmentBulkKind.BOOK: "booked",
    }.get(AppointmentBulkKind(action.kind), "moved")
    closed = "Closed; " if action.kind == AppointmentBulkKind.CLOSE_DAY else ""
    messages.success(
        request,
        f"{closed}{done} appointment(s) {verb}; each person is told. "
        f"You can undo this here for {settings.ONTRACK_BULK_UNDO_MINUTES} minutes.",
    )
    if left:
        messages.warning(request, f"{left} could not be placed in the next 30 days; see below.")


def _runs_calendar_of(user: User, action: AppointmentBulkAction) -> bool:
    """Whether ``user`` runs the calendar of the office whose day ``action`` closed (they
    see the closure even when it moved no one)."""
    if action.kind != AppointmentBulkKind.CLOSE_DAY or action.office is None:
        return False
    try:
        require_office_manager(user, action.office)
    except PermissionDenied:
        return False
    return True


def _bulk_action_for(
    user: User, pk: int
) -> tuple[AppointmentBulkAction, list[AppointmentBulkItem]]:
    """The run and its items about people this user sees; 404 when they see none of
    them, exactly as for a run that does not exist."""
    action = get_object_or_404(
        AppointmentBulkAction.objects.select_related("actor", "office", "undoes"), pk=pk
    )
    items = list(
        action.items.filter(
            appointment__participant__in=participants_visible_to(user)
        ).select_related("appointment__participant", "appointment__office")
    )
    if not items and not _runs_calendar_of(user, action):
        raise Http404("No such bulk action in your caseload.")
    return action, items


@login_required
def bulk_action(request: HttpRequest, pk: int) -> HttpResponse:
    """One bulk run: who did it, why, each appointment before and after (a read of those
    people, logged), and while its window is open the undo."""
    user = staff_user(request)
    action, items = _bulk_action_for(user, pk)
    participants_listed(
        request, (i.appointment.participant_id for i in items), what="bulk appointment action"
    )
    if action.kind == AppointmentBulkKind.CLOSE_DAY and action.office is not None:
        back = reverse("schedule:office", args=[action.office.pk])
    elif items:
        first = items[0]
        at = first.starts_at_before or first.starts_at_after
        day = at.astimezone(ZoneInfo(first.appointment.office.time_zone)).date()
        back = f"{reverse('schedule:today')}?date={day.isoformat()}"
    else:
        back = reverse("schedule:today")
    return render(
        request,
        "schedule/bulk_action.html",
        {
            "action": action,
            "items": items,
            "undone_by": AppointmentBulkAction.objects.filter(undoes=action).first(),
            "undoable": bulk_records.bulk_undoable(action, actor=user),
            "undo_until": bulk_records.bulk_undo_until(action),
            "back": back,
        },
    )


@login_required
@require_POST
def bulk_action_undo(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo a bulk run from its page; a closed window (or a second undo) is refused with
    400, saying why."""
    user = staff_user(request)
    action, _items = _bulk_action_for(user, pk)
    try:
        undo = bulk_records.appointments_bulk_undo(actor=user, action=action)
    except ValidationError as exc:
        back = reverse("schedule:bulk_action", args=[action.pk])
        return render(
            request, "bulk_refused.html", {"reasons": exc.messages, "back": back}, status=400
        )
    reverted = undo.items.filter(skipped="").count()
    skipped = undo.items.exclude(skipped="").count()
    messages.success(
        request,
        f"Undone: {reverted} appointment(s) put back as they were; each person is told"
        + (f". {skipped} left as they are (see below)." if skipped else "."),
    )
    return redirect("schedule:bulk_action", pk=undo.pk)


# --- a participant's schedule ------------------------------------------------------------


@login_required
def participant_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The schedule and compliance panel of the participant page (loaded by htmx)."""
    user = _reader(request)
    participant = participant_read(request, pk, what="schedule and compliance")
    now = timezone.now()
    schedule = CheckinSchedule.objects.filter(participant=participant).first()
    return render(
        request,
        "schedule/_panel_body.html",
        {
            "p": participant,
            "schedule": schedule,
            "cadence": schedules.schedule_describe(schedule) if schedule else "",
            "windows": CheckinWindow.objects.filter(participant=participant, closes_at__gt=now)[:5],
            "appointments": queries.upcoming_appointments(participant, now=now)[:5],
            "records": [queries.compliance(participant, now=now, days=d) for d in (30, 90)],
            "can_write": can_write_participant(user, participant),
            "adhoc_form": forms.AdhocWindowForm(),
            "zone": participant.time_zone,
        },
    )


@login_required
def participant_record(request: HttpRequest, pk: int) -> HttpResponse:
    """The last 90 days of windows with their outcome and attempts, and all appointments."""
    user = _reader(request)
    participant = participant_read(request, pk, what="check-in record")
    now = timezone.now()
    recent_windows = (
        CheckinWindow.objects.filter(
            participant=participant, opens_at__gte=now - dt.timedelta(days=90), opens_at__lte=now
        )
        .prefetch_related("checkins")
        .order_by("-opens_at")
    )
    return render(
        request,
        "schedule/record.html",
        {
            "p": participant,
            "windows": recent_windows,
            "appointments": Appointment.objects.filter(participant=participant)
            .select_related("office")
            .order_by("-starts_at")[:100],
            "loose_checkins": Checkin.objects.filter(participant=participant, window__isnull=True),
            "records": [queries.compliance(participant, now=now, days=d) for d in (30, 90)],
            "can_write": can_write_participant(user, participant),
            "zone": participant.time_zone,
        },
    )


@login_required
def schedule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    participant = participant_for_change(request, pk, form="check-in schedule form")
    if not can_write_participant(user, participant):
        raise PermissionDenied("You may not change this participant's schedule.")
    current = CheckinSchedule.objects.filter(participant=participant).first()
    initial: dict[str, Any] = {
        "starts_on": timezone.now().astimezone(ZoneInfo(participant.time_zone)).date()
    }
    if current is not None:
        initial = {
            "cadence": current.cadence,
            "weekdays": current.weekdays,
            "interval": current.interval,
            "week": current.week,
            "day": current.day,
            "dates": " ".join(current.dates),
            "opens": current.opens,
            "closes": current.closes,
            "starts_on": current.starts_on,
            "ends_on": current.ends_on,
        }
    form = forms.ScheduleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            schedules.schedule_set(participant, actor=user, data=form.data_for_service())
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Check-in schedule saved; upcoming windows regenerated.")
            return _back(participant)
    return _form_page(
        request,
        title="Check-in schedule",
        form=form,
        participant=participant,
        submit="Save schedule",
        intro=f"Windows are in the participant's time zone ({participant.time_zone}). Past "
        "windows and windows with a check-in are kept as they are.",
    )


@login_required
@require_POST
def schedule_stop(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    participant = participant_for_change(request, pk)
    removed = schedules.schedule_stop(participant, actor=user)
    messages.success(request, f"Check-ins stopped; {removed} upcoming window(s) removed.")
    return _back(participant)


@login_required
@require_POST
def adhoc(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    participant = participant_for_change(request, pk)
    form = forms.AdhocWindowForm(request.POST)
    if form.is_valid():
        now = timezone.now()
        windows.window_adhoc(
            participant,
            actor=user,
            opens_at=now,
            closes_at=now + dt.timedelta(hours=form.cleaned_data["hours"]),
            now=now,
        )
        messages.success(request, "Check-in requested; the participant is reminded.")
    return _back(participant)


@login_required
def window_excuse(request: HttpRequest, window_id: int) -> HttpResponse:
    user = staff_user(request)
    window = get_object_or_404(CheckinWindow, pk=window_id)
    participant = participant_for_change(
        request, window.participant_id, form="excuse a check-in form"
    )
    form = forms.ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            checkins.window_excuse(
                actor=user, window_id=window.pk, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Check-in excused.")
            return redirect("schedule:record", pk=participant.pk)
    local = window.opens_at.astimezone(ZoneInfo(participant.time_zone))
    return _form_page(
        request,
        title="Excuse a check-in",
        form=form,
        participant=participant,
        submit="Excuse",
        intro=f"The window of {local:%A %Y-%m-%d %H:%M} ({participant.time_zone}). "
        "An excused check-in is not counted against the person.",
    )


# --- appointments ------------------------------------------------------------------------


def _free_slots(office: Office, now: dt.datetime, count: int = 12) -> list[queries.Slot]:
    zone = ZoneInfo(office.time_zone)
    day = now.astimezone(zone).date()
    found: list[queries.Slot] = []
    for offset in range(1, 15):
        found.extend(
            s for s in queries.office_slots(office, day + dt.timedelta(days=offset)) if s.free > 0
        )
        if len(found) >= count:
            break
    return found[:count]


@login_required
def appointment_new(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    participant = participant_for_change(request, pk, form="book an appointment form")
    if not can_write_participant(user, participant):
        raise PermissionDenied("You may not book for this participant.")
    initial = {"starts_at": request.GET.get("at", "")}
    form = forms.AppointmentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        zone = (
            participant.office.time_zone
            if data["kind"] == AppointmentKind.OFFICE
            else participant.time_zone
        )
        try:
            appointments.appointment_book(
                participant,
                actor=user,
                type=data["type"],
                kind=data["kind"],
                starts_at=forms.local_to_aware(data["starts_at"], zone),
                note=data["note"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Appointment booked; the participant is told.")
            return _back(participant)
    return render(
        request,
        "schedule/appointment_form.html",
        {
            "p": participant,
            "form": form,
            "title": "Book an appointment",
            "slots": _free_slots(participant.office, timezone.now()),
            "office": participant.office,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
def appointment_move(request: HttpRequest, appointment_id: int) -> HttpResponse:
    user = staff_user(request)
    appointment = get_object_or_404(Appointment.objects.select_related("office"), pk=appointment_id)
    participant = participant_for_change(
        request, appointment.participant_id, form="move an appointment form"
    )
    local_start = appointment.starts_at.astimezone(ZoneInfo(appointment.office.time_zone))
    form = forms.MoveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["starts_at"] is None:
                result = bulk_appointments.appointments_move_nearest(
                    actor=user, appointment_ids=[appointment.pk], reason=data["reason"]
                )
                if result.unplaced:
                    raise ValidationError("No free slot in the next 30 days; choose a time.")
            else:
                zone = (
                    appointment.office.time_zone
                    if appointment.kind == AppointmentKind.OFFICE
                    else participant.time_zone
                )
                appointments.appointment_move(
                    actor=user,
                    appointment_id=appointment.pk,
                    starts_at=forms.local_to_aware(data["starts_at"], zone),
                    reason=data["reason"],
                )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Appointment moved; the participant is told.")
            return _back(participant)
    return render(
        request,
        "schedule/appointment_form.html",
        {
            "p": participant,
            "form": form,
            "title": f"Move the appointment of {local_start:%a %Y-%m-%d %H:%M}",
            "slots": _free_slots(appointment.office, timezone.now()),
            "office": appointment.office,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
def appointment_cancel(request: HttpRequest, appointment_id: int) -> HttpResponse:
    user = staff_user(request)
    appointment = get_object_or_404(Appointment, pk=appointment_id)
    participant = participant_for_change(
        request, appointment.participant_id, form="cancel an appointment form"
    )
    form = forms.ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            appointments.appointment_cancel(
                actor=user, appointment_id=appointment.pk, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Appointment cancelled; the participant is told.")
            return _back(participant)
    return _form_page(
        request,
        title="Cancel an appointment",
        form=form,
        participant=participant,
        submit="Cancel it",
    )


# --- photo review ------------------------------------------------------------------------


@login_required
def review_queue(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    queue = list(queries.review_queue_for(user)[:50])
    participants_listed(
        request, (c.participant_id for c in queue), what="check-in photo review queue"
    )
    return render(
        request,
        "schedule/review.html",
        {"checkins": queue, "form": forms.ReviewForm(), "can_write": user.writes_participants},
    )


@login_required
def checkin_photo(request: HttpRequest, checkin_id: int) -> HttpResponse | FileResponse:
    """A check-in photo, only to staff who may see the participant (never from a public
    media URL), logged like any read of the record."""
    _reader(request)
    checkin = get_object_or_404(Checkin, pk=checkin_id)
    if not checkin.photo:
        raise Http404("No photo with this check-in.")
    shown = request.GET.get("shown", "")
    if shown:
        # A thumbnail on the timeline: that page's access-log row covers it (gate.shown_token).
        participant_shown(
            request, checkin.participant_id, item=checkin_photo_item(checkin.pk), token=shown
        )
        try:
            return photo_thumbnail_response(checkin.photo)
        except PhotoRefused:
            raise Http404("The photo cannot be shown.") from None
    participant_read(request, checkin.participant_id, what=f"check-in photo {checkin.reference}")
    return photo_response(checkin.photo, checkin.photo_content_type, f"{checkin.reference}.jpg")


@login_required
@require_POST
def checkin_review(request: HttpRequest, checkin_id: int) -> HttpResponse:
    user = staff_user(request)
    checkin = get_object_or_404(Checkin, pk=checkin_id)
    participant_for_change(request, checkin.participant_id)
    form = forms.ReviewForm(request.POST)
    if form.is_valid():
        try:
            checkins.checkin_review(
                actor=user,
                checkin_id=checkin.pk,
                approve=form.cleaned_data["decision"] == "approve",
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Check-in {checkin.reference} reviewed.")
    return redirect("schedule:review")


# --- tasks -------------------------------------------------------------------------------


@login_required
def tasks(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    open_tasks = list(queries.tasks_open_for(user)[:200])
    requests = list(queries.reschedule_requests_pending_for(user)[:200])
    participants_listed(
        request,
        [*(t.participant_id for t in open_tasks), *(r.participant_id for r in requests)],
        what="schedule tasks",
    )
    return render(
        request,
        "schedule/tasks.html",
        {
            "tasks": [t for t in open_tasks if not t.source.startswith("reschedule:")],
            "requests": requests,
            "decision_form": forms.RescheduleDecisionForm(),
            "can_write": user.writes_participants,
        },
    )


@login_required
@require_POST
def task_done(request: HttpRequest, task_id: int) -> HttpResponse:
    user = staff_user(request)
    task = get_object_or_404(Task, pk=task_id)
    participant_for_change(request, task.participant_id)
    officer_tasks.task_done(actor=user, task_id=task.pk, note=request.POST.get("note", ""))
    messages.success(request, "Task done.")
    return redirect("schedule:tasks")


@login_required
@require_POST
def reschedule_decide(request: HttpRequest, request_id: int) -> HttpResponse:
    user = staff_user(request)
    reschedule = get_object_or_404(
        RescheduleRequest.objects.select_related("appointment__office"), pk=request_id
    )
    participant_for_change(request, reschedule.participant_id)
    form = forms.RescheduleDecisionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        starts_at = (
            forms.local_to_aware(data["starts_at"], reschedule.appointment.office.time_zone)
            if data["starts_at"]
            else None
        )
        try:
            reschedules.reschedule_decide(
                actor=user,
                request_id=reschedule.pk,
                approve=data["decision"] == "approve",
                starts_at=starts_at,
                note=data["note"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Request decided; the participant is told of any move.")
    return redirect("schedule:tasks")


# --- office calendar ---------------------------------------------------------------------


CLOSE_DAY = "schedule.close_day"  # the selection the closure's preview signs


def _close_day_preview(
    request: HttpRequest, user: User, office: Office, *, day: dt.date, reason: str
) -> HttpResponse:
    """Whom closing ``day`` would move (a read of those people, logged), and the
    confirmation carrying a signed token of exactly those appointments."""
    bookings = list(
        offices.office_day_bookings(office, day)
        .select_related("participant", "office")
        .order_by("starts_at", "pk")
    )
    participants_listed(
        request, (a.participant_id for a in bookings), what=f"closing {day}: preview"
    )
    token = selection_sign(
        user_id=user.pk,
        action=CLOSE_DAY,
        ids=[a.pk for a in bookings],
        office=office.pk,
        day=day.isoformat(),
    )
    return render(
        request,
        "schedule/close_day_preview.html",
        {
            "office": office,
            "day": day,
            "reason": reason,
            "appointments": bookings,
            "token": token,
            "undo_minutes": settings.ONTRACK_BULK_UNDO_MINUTES,
        },
    )


@login_required
def office_calendar(request: HttpRequest, office_id: int) -> HttpResponse:
    """Slots, holidays and closures of an office; closing a day moves everyone booked."""
    user = staff_user(request)
    office = get_object_or_404(Office, pk=office_id)
    if not user.manages_caseloads or (
        user.role != Role.ADMINISTRATOR and user.office_id != office.pk
    ):
        raise PermissionDenied(
            "Only the office's supervisor or an administrator runs its calendar."
        )
    calendar = queries.calendar_for(office)
    close_form = forms.CloseDayForm(request.POST if request.POST.get("form") == "close" else None)
    calendar_form = forms.CalendarForm(
        request.POST if request.POST.get("form") == "calendar" else None,
        initial={"slot_minutes": calendar.slot_minutes, "slot_capacity": calendar.slot_capacity},
    )
    if request.method == "POST":
        if close_form.is_bound and close_form.is_valid():
            day, reason = close_form.cleaned_data["day"], close_form.cleaned_data["reason"]
            token = request.POST.get("token")
            if token is None:
                return _close_day_preview(request, user, office, day=day, reason=reason)
            try:
                ids, pinned = selection_read(user_id=user.pk, action=CLOSE_DAY, token=token)
                if pinned != {"office": office.pk, "day": day.isoformat()}:
                    raise ValidationError(ALTERED)
                action = offices.office_close_day(
                    actor=user, office=office, day=day, reason=reason, expected=ids
                )
            except ValidationError as exc:
                back = reverse("schedule:office", args=[office.pk])
                return render(
                    request,
                    "bulk_refused.html",
                    {"reasons": exc.messages, "back": back},
                    status=400,
                )
            _bulk_done(request, action)
            return redirect("schedule:bulk_action", pk=action.pk)
        if calendar_form.is_bound and calendar_form.is_valid():
            try:
                offices.office_calendar_set(actor=user, office=office, **calendar_form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(calendar_form, exc)
            else:
                messages.success(request, "Slots saved.")
                return redirect("schedule:office", office_id=office.pk)
    today_local = timezone.now().astimezone(ZoneInfo(office.time_zone)).date()
    return render(
        request,
        "schedule/office.html",
        {
            "office": office,
            "calendar": calendar,
            "closures": queries.closures_ahead(office, today=today_local),
            "close_form": close_form,
            "calendar_form": calendar_form,
            "slots": queries.office_slots(office, today_local + dt.timedelta(days=1)),
        },
    )
