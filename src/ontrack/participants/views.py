"""Officer console pages for participants. Thin: each view checks the user may see the
participant through the gate (``participants.gate``, which logs every read), calls a service,
and renders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms as django_forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from ontrack.accounts.models import Office, Program, Role, User
from ontrack.accounts.web import apply_service_errors, staff_user
from ontrack.fragments import fragment_or_page
from ontrack.participants import (
    bulk_transfers,
    caseload_imports,
    forms,
    importer,
    saved_filters,
    services,
)
from ontrack.participants.caseload_pages import BadCursor, CaseloadPage, caseload_page
from ontrack.participants.caseload_signals import caseload_signals
from ontrack.participants.gate import (
    participant_for_change,
    participant_read,
    participants_listed,
)
from ontrack.participants.models import (
    IMPORT_RUNNING,
    BulkAction,
    BulkActionItem,
    CaseloadImport,
    Hearing,
    Language,
    Level,
    Participant,
    Status,
)
from ontrack.participants.panels import registered_panels
from ontrack.participants.queries import (
    SORTS,
    CaseloadFilter,
    can_write_participant,
    caseload_filter,
    participants_visible_to,
)
from ontrack.participants.timeline import Cursor, timeline_page
from ontrack.photos import photo_response

RECENT_SHOWN = 10  # timeline entries on the participant page; the rest on the timeline page


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _caseload_reader(request: HttpRequest) -> User:
    user = staff_user(request)
    if not user.reads_participants:
        raise PermissionDenied("Your role does not read participant records.")
    return user


@login_required
def caseload(request: HttpRequest) -> HttpResponse:
    user = _caseload_reader(request)
    f = CaseloadFilter(
        q=request.GET.get("q", "")[:100],
        office=_int_or_none(request.GET.get("office")),
        officer=_int_or_none(request.GET.get("officer")),
        status=request.GET.get("status", ""),
        level=request.GET.get("level", ""),
        language=request.GET.get("language", ""),
        sort=request.GET.get("sort", "name") if request.GET.get("sort") in SORTS else "name",
    )
    rows = caseload_filter(participants_visible_to(user), f).select_related("officer", "office")
    bad_cursor = False
    try:
        page: CaseloadPage | None = caseload_page(
            rows,
            f.sort,
            after=request.GET.get("after") or None,
            before=request.GET.get("before") or None,
            last=request.GET.get("last") == "1",
            size=settings.ONTRACK_PAGE_SIZE,
        )
    except BadCursor:
        page, bad_cursor = None, True
    shown = page.rows if page else []
    participants_listed(request, [p.pk for p in shown], what="caseload list")
    signals = caseload_signals([p.pk for p in shown], timezone.now())
    query = request.GET.copy()
    for cursor_parameter in ("after", "before", "last", "page"):
        query.pop(cursor_parameter, None)
    sort_query = query.copy()
    sort_query.pop("sort", None)
    context = {
        "page": page,
        "bad_cursor": bad_cursor,
        "rows": [(p, signals[p.pk]) for p in shown],
        "filter": f,
        "query": query.urlencode(),
        "sort_query": sort_query.urlencode(),
        "offices": Office.objects.all() if user.role != Role.OFFICER else [],
        "officers": forms.officers_for(user) if user.role != Role.OFFICER else [],
        "statuses": Status.choices,
        "levels": Level.choices,
        "languages": Language.choices,
        "saved_filters": saved_filters.saved_filters_of(user),
        "can_enrol": user.writes_participants,
        "can_transfer": user.manages_caseloads,
        "transfer_form": forms.TransferForm(user=user) if user.manages_caseloads else None,
    }
    response = fragment_or_page(
        request,
        "participants/_caseload_table.html",
        "participants/caseload.html",
        context,
        target="caseload",
    )
    if bad_cursor:
        response.status_code = 400
    return response


@login_required
@require_POST
def saved_filter_save(request: HttpRequest) -> HttpResponse:
    """Save the caseload's current query (the ``query`` field) under ``name``, then show
    the list it names."""
    user = _caseload_reader(request)
    try:
        saved = saved_filters.saved_filter_save(
            user, name=request.POST.get("name", ""), query=request.POST.get("query", "")
        )
    except ValidationError as exc:
        return HttpResponseBadRequest(" ".join(exc.messages))
    messages.success(request, f'Filter "{saved.name}" saved.')
    return redirect(f"{reverse('participants:caseload')}?{saved.query}")


@login_required
@require_POST
def saved_filter_delete(request: HttpRequest, pk: int) -> HttpResponse:
    if not saved_filters.saved_filter_delete(_caseload_reader(request), pk):
        raise Http404("No saved filter of yours has this number.")
    messages.success(request, "Saved filter deleted.")
    return redirect("participants:caseload")


@login_required
def participant_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    participant = participant_read(request, pk, what="participant page")
    now = timezone.now()
    # The newest of the timeline; the page's own logged read covers them (and their thumbnails).
    recent = timeline_page(participant, user, before=Cursor.top(now), limit=RECENT_SHOWN)
    context = {
        "p": participant,
        "plan": participant.plans.filter(effective_to__isnull=True).first(),
        "plans": participant.plans.select_related("changed_by")[:20],
        "phones": participant.phones.all(),
        "addresses": participant.addresses.all(),
        "counsel": getattr(participant, "counsel", None),
        "conditions": getattr(participant, "conditions", None),
        "upcoming_hearings": participant.hearings.filter(scheduled_at__gte=now),
        "past_hearings": participant.hearings.filter(scheduled_at__lt=now).order_by(
            "-scheduled_at"
        )[:20],
        "recent": recent.entries,
        "recent_more": recent.next_cursor is not None,
        "office_zone": participant.office.time_zone,
        "can_write": can_write_participant(user, participant),
        "can_transfer": user.manages_caseloads and can_write_participant(user, participant),
        "outcome_form": forms.HearingOutcomeForm(),
        "panels": registered_panels(),
    }
    return render(request, "participants/detail.html", context)


@login_required
def participant_photo(request: HttpRequest, pk: int) -> FileResponse:
    """The enrolment photo, served only to staff who may see the participant (never from a
    public media URL), and logged like any other read of the record."""
    participant = participant_read(request, pk, what="participant photo")
    if not participant.photo:
        raise Http404("No photo on file.")
    return photo_response(participant.photo, "image/jpeg", f"{participant.case_number}.jpg")


def _form_page(
    request: HttpRequest,
    *,
    title: str,
    form: django_forms.Form,
    participant: Participant | None = None,
    submit: str = "Save",
    intro: str = "",
) -> HttpResponse:
    return render(
        request,
        "participants/form.html",
        {"title": title, "form": form, "p": participant, "submit": submit, "intro": intro},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
def participant_enrol(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    if not user.writes_participants:
        raise PermissionDenied("Your role does not enrol participants.")
    form = forms.EnrolForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        office: Office = data["office"]
        try:
            participant = services.participant_enrol(
                actor=user,
                program=office.program,
                office=office,
                officer=data["officer"],
                case_number=data["case_number"],
                given_name=data["given_name"],
                family_name=data["family_name"],
                date_of_birth=data["date_of_birth"],
                preferred_language=data["preferred_language"],
                email=data["email"],
                phones=data["phones"],
                address=form.address(),
                conditions_text=data["conditions_text"],
                condition_flags=data["condition_flags"],
                plan=form.plan(),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"{participant.full_name} is enrolled.")
            return redirect("participants:detail", pk=participant.pk)
    return _form_page(request, title="Enrol a participant", form=form, submit="Enrol")


def _writable(request: HttpRequest, pk: int, *, form: str = "") -> tuple[User, Participant]:
    user = staff_user(request)
    participant = participant_for_change(request, pk, form=form)
    if not can_write_participant(user, participant):
        raise PermissionDenied("You may read but not change this case.")
    return user, participant


def _edit_view(
    request: HttpRequest,
    pk: int,
    *,
    title: str,
    form_class: Callable[..., django_forms.Form],
    initial: Callable[[Participant], dict[str, Any]],
    save: Callable[[User, Participant, django_forms.Form], object],
    success: str,
    form_kwargs: Callable[[User], dict[str, Any]] | None = None,
    submit: str = "Save",
) -> HttpResponse:
    """The shape every "change one thing on a case" page shares: check, bind, call the
    service, show its validation errors next to the fields, or go back to the case."""
    user, participant = _writable(request, pk, form=title)
    extra = form_kwargs(user) if form_kwargs else {}
    form = form_class(
        request.POST or None, request.FILES or None, initial=initial(participant), **extra
    )
    if request.method == "POST" and form.is_valid():
        try:
            save(user, participant, form)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, success)
            return redirect("participants:detail", pk=participant.pk)
    return _form_page(request, title=title, form=form, participant=participant, submit=submit)


def _save_details(user: User, participant: Participant, form: django_forms.Form) -> None:
    data = dict(form.cleaned_data)
    phones = data.pop("phones")
    photo = data.pop("photo")
    services.participant_update(participant, actor=user, **data)
    services.phones_set(participant, actor=user, numbers=phones)
    if photo:
        services.photo_set(participant, actor=user, photo=photo)


@login_required
def participant_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit_view(
        request,
        pk,
        title="Edit details",
        form_class=forms.EditForm,
        initial=lambda p: {
            **{name: getattr(p, name) for name in services.EDITABLE_FIELDS},
            "phones": ", ".join(p.phones.values_list("number", flat=True)),
        },
        save=_save_details,
        success="Details saved.",
    )


def _save_plan(user: User, participant: Participant, form: django_forms.Form) -> None:
    assert isinstance(form, forms.PlanForm)
    services.plan_change(
        participant, actor=user, plan=form.plan(), reason=form.cleaned_data["reason"]
    )


def _plan_initial(participant: Participant) -> dict[str, Any]:
    plan = participant.plans.filter(effective_to__isnull=True).first()
    if plan is None:
        return {}
    fields = ("level", "app_checkins", "phone_checkins", "office_visits", "gps_device")
    return {**{name: getattr(plan, name) for name in fields}, "review_date": plan.review_date}


@login_required
def participant_plan(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit_view(
        request,
        pk,
        title="Change the supervision plan",
        form_class=forms.PlanForm,
        initial=_plan_initial,
        save=_save_plan,
        success="The plan is changed; the previous version is kept in the history.",
    )


def _save_hearing(user: User, participant: Participant, form: django_forms.Form) -> None:
    assert isinstance(form, forms.HearingForm)
    data = form.cleaned_data
    services.hearing_add(
        participant,
        actor=user,
        scheduled_at=form.scheduled_at_aware(),
        time_zone=data["time_zone"],
        court=data["court"],
        court_address=data["court_address"],
        kind=data["kind"],
        notes=data["notes"],
    )


@login_required
def hearing_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit_view(
        request,
        pk,
        title="Add a court hearing",
        form_class=forms.HearingForm,
        initial=lambda p: {"time_zone": p.time_zone},
        save=_save_hearing,
        success="Hearing added.",
        submit="Add hearing",
    )


@login_required
@require_POST
def hearing_update(request: HttpRequest, pk: int, hearing_pk: int) -> HttpResponse:
    user, participant = _writable(request, pk)
    hearing = get_object_or_404(Hearing, pk=hearing_pk, participant=participant)
    form = forms.HearingOutcomeForm(request.POST)
    if form.is_valid():
        services.hearing_update(
            hearing,
            actor=user,
            outcome=form.cleaned_data["outcome"],
            notes=form.cleaned_data["notes"] or None,
        )
        messages.success(request, "Hearing updated.")
    else:
        messages.error(request, "Choose an outcome for the hearing.")
    return redirect("participants:detail", pk=participant.pk)


def _initial_from(related: str, names: tuple[str, ...]) -> Callable[[Participant], dict[str, Any]]:
    """Initial form values from a one-to-one record of the participant, if there is one."""

    def initial(participant: Participant) -> dict[str, Any]:
        record = getattr(participant, related, None)
        return {name: getattr(record, name) for name in names} if record is not None else {}

    return initial


@login_required
def participant_counsel(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit_view(
        request,
        pk,
        title="Counsel of record",
        form_class=forms.CounselForm,
        initial=_initial_from(
            "counsel", ("name", "organisation", "email", "phone", "consent_to_notices")
        ),
        save=lambda user, p, form: services.counsel_set(p, actor=user, **form.cleaned_data),
        success="Counsel saved.",
    )


@login_required
def participant_conditions(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit_view(
        request,
        pk,
        title="Release conditions",
        form_class=forms.ConditionsForm,
        initial=_initial_from("conditions", ("text", "flags", "ordered_by", "ordered_on")),
        save=lambda user, p, form: services.conditions_set(p, actor=user, **form.cleaned_data),
        success="Release conditions saved.",
    )


@login_required
def participant_address(request: HttpRequest, pk: int) -> HttpResponse:
    def save(user: User, p: Participant, form: django_forms.Form) -> None:
        assert isinstance(form, forms.AddressForm)
        services.address_change(
            p, actor=user, address=form.address(), valid_from=form.cleaned_data["valid_from"]
        )

    return _edit_view(
        request,
        pk,
        title="New address",
        form_class=forms.AddressForm,
        initial=lambda p: {"valid_from": timezone.localdate()},
        save=save,
        success="Address recorded; the previous one is kept in the history.",
    )


@login_required
def participant_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Activate, suspend (with a reason) or reinstate."""

    def save(user: User, p: Participant, form: django_forms.Form) -> None:
        services.participant_suspend(p, actor=user, reason=form.cleaned_data["reason"])

    if request.method == "POST" and request.POST.get("action") == "activate":
        user, participant = _writable(request, pk)
        try:
            services.participant_activate(participant, actor=user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Supervision is active.")
        return redirect("participants:detail", pk=pk)
    return _edit_view(
        request,
        pk,
        title="Suspend supervision",
        form_class=forms.SuspendForm,
        initial=lambda p: {},
        save=save,
        success="Supervision is suspended.",
        submit="Suspend",
    )


@login_required
def participant_close(request: HttpRequest, pk: int) -> HttpResponse:
    def save(user: User, p: Participant, form: django_forms.Form) -> None:
        services.participant_close(
            p, actor=user, reason=form.cleaned_data["reason"], note=form.cleaned_data["note"]
        )

    return _edit_view(
        request,
        pk,
        title="Close the case",
        form_class=forms.CloseForm,
        initial=lambda p: {},
        save=save,
        success="The case is closed.",
        submit="Close the case",
    )


@login_required
def participant_transfer(request: HttpRequest, pk: int) -> HttpResponse:
    def save(user: User, p: Participant, form: django_forms.Form) -> None:
        services.participant_transfer(p, actor=user, officer=form.cleaned_data["officer"])

    if not staff_user(request).manages_caseloads:
        raise PermissionDenied("Only supervisors and administrators transfer participants.")
    return _edit_view(
        request,
        pk,
        title="Transfer to another officer",
        form_class=forms.TransferForm,
        initial=lambda p: {"officer": p.officer_id},
        save=save,
        success="Transferred.",
        form_kwargs=lambda user: {"user": user},
        submit="Transfer",
    )


def _caseload_manager(request: HttpRequest) -> User:
    user = staff_user(request)
    if not user.manages_caseloads:
        raise PermissionDenied("Only supervisors and administrators transfer caseloads.")
    return user


def _bulk_refused(request: HttpRequest, exc: ValidationError, *, back: str) -> HttpResponse:
    """A bulk step the service refused (an altered or expired preview, a closed undo
    window): 400, saying why, with the way back."""
    return render(
        request,
        "bulk_refused.html",
        {"reasons": exc.messages, "back": back},
        status=400,
    )


def _transfer_preview_page(
    request: HttpRequest,
    preview: bulk_transfers.TransferPreview,
    *,
    reason: str = "",
    errors: list[str] | None = None,
) -> HttpResponse:
    participants_listed(
        request, (p.pk for p in preview.participants), what="caseload transfer preview"
    )
    return render(
        request,
        "participants/bulk_transfer_preview.html",
        {"preview": preview, "reason": reason, "errors": errors or []},
        status=400 if errors else 200,
    )


@login_required
def caseload_transfer(request: HttpRequest) -> HttpResponse:
    """Bulk transfer, first step: the participants ticked in the caseload list, or the whole
    active caseload of one officer, and the officer to receive them. A valid choice shows
    the preview (who moves, from whom, to whom); nothing moves until it is confirmed."""
    user = _caseload_manager(request)
    form = forms.BulkTransferForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        visible = participants_visible_to(user)
        source = form.cleaned_data["from_officer"]
        if source is not None:
            chosen = visible.filter(officer=source).exclude(status=Status.CLOSED)
        else:
            ids = [int(v) for v in request.POST.getlist("participant") if v.isdigit()]
            chosen = visible.filter(pk__in=ids)
        try:
            preview = bulk_transfers.bulk_transfer_preview(
                actor=user,
                participant_ids=chosen.values_list("pk", flat=True),
                officer=form.cleaned_data["officer"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return _transfer_preview_page(request, preview)
    return _form_page(request, title="Transfer a caseload", form=form, submit="Preview")


@login_required
@require_POST
def caseload_transfer_confirm(request: HttpRequest) -> HttpResponse:
    """Bulk transfer, second step: the preview's token (exactly the people previewed) and a
    reason. An altered or expired token is refused with 400 and nothing moves."""
    user = _caseload_manager(request)
    back = reverse("participants:bulk_transfer")
    try:
        preview = bulk_transfers.bulk_transfer_previewed(
            actor=user, token=request.POST.get("token", "")
        )
    except ValidationError as exc:
        return _bulk_refused(request, exc, back=back)
    reason = request.POST.get("reason", "")
    try:
        action = bulk_transfers.participants_bulk_transfer(
            actor=user,
            participant_ids=[p.pk for p in preview.participants],
            officer=preview.officer,
            reason=reason,
        )
    except ValidationError as exc:
        return _transfer_preview_page(request, preview, reason=reason, errors=exc.messages)
    moved = action.items.count()
    messages.success(
        request,
        f"{moved} participant{pluralize(moved)} moved to {preview.officer}. "
        f"You can undo this here for {settings.ONTRACK_BULK_UNDO_MINUTES} minutes.",
    )
    return redirect("participants:bulk_action", pk=action.pk)


def _bulk_action_for(user: User, pk: int) -> tuple[BulkAction, list[BulkActionItem]]:
    """The action and its items about people this user sees; 404 when they see none of
    them, exactly as for an action that does not exist."""
    action = get_object_or_404(BulkAction.objects.select_related("actor", "undoes"), pk=pk)
    visible = participants_visible_to(user)
    items = list(
        action.items.filter(participant__in=visible).select_related(
            "participant", "officer_before", "office_before", "officer_after", "office_after"
        )
    )
    if not items:
        raise Http404("No such bulk action in your caseload.")
    return action, items


@login_required
def bulk_action(request: HttpRequest, pk: int) -> HttpResponse:
    """One bulk action: who did it, why, each person's officer before and after, and (for
    a transfer still in its window) the undo."""
    user = _caseload_manager(request)
    action, items = _bulk_action_for(user, pk)
    participants_listed(request, (i.participant_id for i in items), what="bulk action")
    return render(
        request,
        "participants/bulk_action.html",
        {
            "action": action,
            "items": items,
            "undone_by": BulkAction.objects.filter(undoes=action).first(),
            "undoable": bulk_transfers.bulk_action_undoable(action),
            "undo_until": bulk_transfers.bulk_action_undo_until(action),
        },
    )


@login_required
@require_POST
def bulk_action_undo(request: HttpRequest, pk: int) -> HttpResponse:
    user = _caseload_manager(request)
    action, _items = _bulk_action_for(user, pk)
    try:
        undo = bulk_transfers.bulk_transfer_undo(actor=user, action=action)
    except ValidationError as exc:
        return _bulk_refused(
            request, exc, back=reverse("participants:bulk_action", args=[action.pk])
        )
    moved = undo.items.filter(skipped="").count()
    skipped = undo.items.exclude(skipped="").count()
    messages.success(
        request,
        f"Undone: {moved} participant{pluralize(moved)} moved back"
        + (f", {skipped} left as they are (see below)." if skipped else "."),
    )
    return redirect("participants:bulk_action", pk=undo.pk)


class _UploadLimit(FileUploadHandler):
    """Stops taking an uploaded file in as soon as it passes ``limit`` bytes: the rest is
    passed over, never stored, and ``exceeded`` says why the file is missing."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.exceeded = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            self.exceeded = True
            raise SkipFile()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


# Room for the multipart framing and the CSRF field around the file itself.
_MULTIPART_SLACK = 64 * 1024


def _import_program(user: User) -> Program:
    if user.office:
        return user.office.program
    return Program.objects.get_or_create(name=settings.ONTRACK_DEFAULT_PROGRAM)[0]


@csrf_exempt  # checked by _caseload_upload, once the upload handler is in place
@login_required
def caseload_import(request: HttpRequest) -> HttpResponse:
    """Upload a caseload CSV; the worker checks it and the import page shows the report.

    A body larger than the limit is refused from its Content-Length, before anything is
    read; a file that grows past the limit while it arrives is dropped by ``_UploadLimit``.
    The upload handler must be in place before the CSRF check reads the form, hence the
    exemption here and ``csrf_protect`` on the function that does the work."""
    user = staff_user(request)
    if not user.manages_caseloads:
        raise PermissionDenied("Only supervisors and administrators import caseloads.")
    limit = _UploadLimit(request, settings.ONTRACK_IMPORT_MAX_BYTES)
    if request.method == "POST":
        length = _int_or_none(request.META.get("CONTENT_LENGTH")) or 0
        if length > settings.ONTRACK_IMPORT_MAX_BYTES + _MULTIPART_SLACK:
            refused = caseload_imports.upload_limit_message(length)
            return _import_page(request, user, forms.ImportForm(), refused=refused)
        request.upload_handlers.insert(0, limit)
    return _caseload_upload(request, user, limit)


@csrf_protect
def _caseload_upload(request: HttpRequest, user: User, limit: _UploadLimit) -> HttpResponse:
    form = forms.ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if limit.exceeded:
            refused = caseload_imports.upload_limit_message()
            return _import_page(request, user, forms.ImportForm(), refused=refused)
        if form.is_valid():
            try:
                record = caseload_imports.caseload_import_upload(
                    actor=user, program=_import_program(user), upload=form.cleaned_data["file"]
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                return redirect("participants:import_detail", pk=record.pk)
    return _import_page(request, user, form)


def _import_page(
    request: HttpRequest, user: User, form: forms.ImportForm, *, refused: str = ""
) -> HttpResponse:
    """The upload form; ``refused`` says why a file too large was not taken (413)."""
    recent = CaseloadImport.objects.filter(created_by=user)[:5]
    return render(
        request,
        "participants/import.html",
        {
            "form": form,
            "columns": importer.KNOWN_COLUMNS,
            "recent": recent,
            "limit_mb": settings.ONTRACK_IMPORT_MAX_BYTES // (1024 * 1024),
            "refused": refused,
        },
        status=413 if refused else 200,
    )


def _own_import(request: HttpRequest, pk: int) -> tuple[User, CaseloadImport]:
    """An import is its uploader's alone; anyone else's number answers 404."""
    user = staff_user(request)
    if not user.manages_caseloads:
        raise PermissionDenied("Only supervisors and administrators import caseloads.")
    return user, get_object_or_404(CaseloadImport, pk=pk, created_by=user)


@login_required
def caseload_import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An import's progress while the worker has it (the card polls itself with htmx), then
    its report, and the button that confirms a check."""
    _user, record = _own_import(request, pk)
    context = {
        "record": record,
        "report": importer.ImportReport.from_json(record.report) if record.report else None,
        "live": record.status in IMPORT_RUNNING,
    }
    return fragment_or_page(
        request, "participants/_import_status.html", "participants/import_detail.html", context
    )


@login_required
@require_POST
def caseload_import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    user, record = _own_import(request, pk)
    try:
        caseload_imports.caseload_import_confirm(actor=user, record=record)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("participants:import_detail", pk=record.pk)
