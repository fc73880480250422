"""Console pages of messaging (outbox, inbox, conversation, bulk messages, templates) and
the provider webhooks. Views are thin: reads start from ``participants_visible_to``, writes
go through ``services`` / ``broadcasts``."""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ontrack.accounts.models import Office, Role, User
from ontrack.accounts.web import apply_service_errors, staff_user
from ontrack.fragments import fragment_or_page
from ontrack.messaging import broadcasts
from ontrack.messaging.models import (
    InboundMessage,
    Message,
    MessageStatus,
    Template,
)
from ontrack.messaging.providers.twilio import STATUS_MAP, signature_valid
from ontrack.messaging.queries import broadcasts_visible_to, conversation_entries
from ontrack.messaging.rendering import preview_render, variables
from ontrack.messaging.segments import count as segment_count
from ontrack.messaging.services.delivery_status import status_callback_apply
from ontrack.messaging.services.inbox import (
    held_message_mark_delivered,
    inbound_mark_handled,
    reply_send,
)
from ontrack.messaging.services.received_texts import inbound_receive, inbound_simulate
from ontrack.messaging.services.routing import is_opted_out
from ontrack.messaging.services.templates import template_body_save, template_editable_by
from ontrack.paging import CappedPaginator
from ontrack.participants.forms import officers_for
from ontrack.participants.gate import participant_for_change, participants_listed
from ontrack.participants.models import Language, Level, Status
from ontrack.participants.queries import (
    can_write_participant,
    participant_visible_q,
    participants_visible_to,
)

logger = logging.getLogger(__name__)

S = MessageStatus
SHIPPED_LANGUAGES = ("en", "es", "pt", "ht", "fr")


# --- webhooks ----------------------------------------------------------------------------


def _twilio_signed(request: HttpRequest) -> bool:
    """Twilio signs the URL it called; behind a proxy Django sees another host and scheme,
    so the URL is rebuilt from ``ONTRACK_PUBLIC_URL``."""
    url = f"{settings.ONTRACK_PUBLIC_URL}{request.get_full_path()}"
    signature = request.headers.get("X-Twilio-Signature", "")
    return signature_valid(url, request.POST.dict(), signature)


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    if not _twilio_signed(request):
        logger.warning("twilio status callback with a bad signature refused")
        return HttpResponseForbidden("bad signature")
    status = STATUS_MAP.get(request.POST.get("MessageStatus", ""))
    sid = request.POST.get("MessageSid", "")
    if status and sid:
        error = request.POST.get("ErrorCode", "")
        status_callback_apply(
            provider="twilio",
            provider_message_id=sid,
            status=status,
            idempotency_key=request.GET.get("key", ""),
            error_code=error,
            reason=f"Twilio error {error}" if error else "",
        )
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def twilio_inbound(request: HttpRequest) -> HttpResponse:
    if not _twilio_signed(request):
        logger.warning("twilio inbound webhook with a bad signature refused")
        return HttpResponseForbidden("bad signature")
    inbound_receive(
        provider="twilio",
        provider_message_id=request.POST.get("MessageSid", ""),
        from_number=request.POST.get("From", ""),
        to_number=request.POST.get("To", ""),
        body=request.POST.get("Body", ""),
        received_at=timezone.now(),
    )
    # Answers go through the outbox (recorded, rate-limited), not back in the webhook.
    return HttpResponse(
        '<?xml version="1.0" encoding="UTF-8"?><Response></Response>', content_type="text/xml"
    )


# --- outbox and inbox --------------------------------------------------------------------


def _visible_messages(user: User) -> QuerySet[Message]:
    return Message.objects.filter(participant_visible_q(user, "participant"))


@login_required
def outbox(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    status = request.GET.get("status", "")
    rows = _visible_messages(user)
    if status:
        rows = rows.filter(status=status)
    # The page's ids first, then their rows: the ids sort from an index alone (the newest
    # messages', or the scope's by person and time), where sorting the rows read every
    # message of the scope (600 ms for an office at 100,000 participants).
    ids = rows.order_by("-created_at", "-id").values_list("pk", flat=True)
    page = CappedPaginator(ids, settings.ONTRACK_PAGE_SIZE).get_page(request.GET.get("page"))
    shown = Message.objects.select_related("participant", "broadcast").in_bulk(list(page))
    rows_shown = [shown[pk] for pk in page]
    held = list(_visible_messages(user).filter(status=S.HELD).select_related("participant")[:50])
    participants_listed(
        request, [m.participant_id for m in [*rows_shown, *held]], what="message outbox"
    )
    return render(
        request,
        "messaging/outbox.html",
        {
            "page": page,
            "rows": rows_shown,
            "status": status,
            "statuses": S.choices,
            "held": held,
        },
    )


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    open_replies = participant_visible_q(user, "participant")
    if user.role in {Role.ADMINISTRATOR, Role.OPERATOR}:
        open_replies |= Q(participant__isnull=True)  # numbers no participant has
    rows = (
        InboundMessage.objects.filter(open_replies, needs_answer=True)
        .select_related("participant")
        .order_by("received_at")
    )
    page = Paginator(rows, settings.ONTRACK_PAGE_SIZE).get_page(request.GET.get("page"))
    participants_listed(request, [m.participant_id for m in page], what="message inbox")
    return render(request, "messaging/inbox.html", {"page": page})


class ReplyForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=1000, label="Reply")


@login_required
def conversation(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    participant = participant_for_change(request, pk, form="message conversation")
    form = ReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            reply_send(user=user, participant=participant, body=form.cleaned_data["body"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            flash.success(request, "Reply queued.")
            return redirect("messaging:conversation", pk=participant.pk)
    return render(
        request,
        "messaging/conversation.html",
        {
            "p": participant,
            "entries": conversation_entries(participant),
            "form": form,
            "can_write": can_write_participant(user, participant),
            "opted_out": is_opted_out(participant.pk),
            "simulate": settings.ONTRACK_MESSAGING_PROVIDERS.get("sms") == "console",
        },
    )


@login_required
@require_POST
def simulate_reply(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    participant = participant_for_change(request, pk)
    try:
        inbound_simulate(user=user, participant=participant, body=request.POST.get("body", ""))
    except (ValidationError, PermissionDenied) as exc:
        flash.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
    return redirect("messaging:conversation", pk=participant.pk)


@login_required
@require_POST
def held_delivered(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    message = get_object_or_404(_visible_messages(user), pk=pk, status=S.HELD)
    held_message_mark_delivered(user=user, message=message)
    flash.success(request, "Recorded as delivered in person or by phone.")
    return redirect("messaging:outbox")


@login_required
@require_POST
def inbound_handled(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    inbound = get_object_or_404(
        InboundMessage.objects.filter(participant__in=participants_visible_to(user)), pk=pk
    )
    inbound_mark_handled(user=user, inbound=inbound)
    return redirect("messaging:inbox")


# --- bulk messages -----------------------------------------------------------------------


class BulkForm(forms.Form):
    """The audience filters, offering only offices and officers the sender may see: an
    officer sends to their own caseload and gets no officer picker; a supervisor picks among
    the officers of their office. A choice outside them is refused by the form (and the
    audience is ``participants_visible_to`` the sender whatever was posted)."""

    office = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    officer = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    status = forms.ChoiceField(
        choices=[("", "Any open case"), *[c for c in Status.choices if c[0] != Status.CLOSED]],
        required=False,
    )
    level = forms.ChoiceField(choices=[("", "Any level"), *Level.choices], required=False)
    language = forms.ChoiceField(choices=[("", "Any language"), *Language.choices], required=False)
    appointment_from = forms.DateField(
        required=False,
        label="Appointment from",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Only people with a booked appointment on or after this day.",
    )
    appointment_to = forms.DateField(
        required=False,
        label="Appointment until",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Only people with a booked appointment on or before this day.",
    )
    template = forms.ModelChoiceField(
        queryset=Template.objects.filter(bulk=True), to_field_name="key", empty_label=None
    )
    purpose = forms.CharField(max_length=200, help_text="Why these people are being messaged.")
    date = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="For templates that name a day ({date}).",
    )
    send_at = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Empty: now. Your own time zone. Quiet hours are respected per person.",
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        visible = participants_visible_to(user).exclude(status=Status.CLOSED)
        offices = Office.objects.filter(pk__in=visible.values("office_id")).order_by("name")
        office_field = self.fields["office"]
        assert isinstance(office_field, forms.TypedChoiceField)
        office_field.choices = [("", "Any office"), *((o.pk, o.name) for o in offices)]
        officer_field = self.fields["officer"]
        assert isinstance(officer_field, forms.TypedChoiceField)
        if user.role == Role.OFFICER:
            del self.fields["officer"]
        else:
            officer_field.choices = [
                ("", "Any officer"),
                *((o.pk, o.get_full_name() or o.username) for o in officers_for(user)),
            ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("appointment_from"), data.get("appointment_to")
        if first and last and last < first:
            self.add_error("appointment_to", "The last day is before the first.")
        return data

    def audience_filter(self) -> broadcasts.AudienceFilter:
        data = self.cleaned_data
        first, last = data.get("appointment_from"), data.get("appointment_to")
        return broadcasts.AudienceFilter(
            office=data.get("office"),
            officer=data.get("officer"),
            status=data.get("status") or "",
            level=data.get("level") or "",
            language=data.get("language") or "",
            appointment_from=first.isoformat() if first else "",
            appointment_to=last.isoformat() if last else "",
        )

    def context(self) -> dict[str, str]:
        day = self.cleaned_data.get("date")
        return {"date": day.isoformat()} if day else {}


def _require_bulk(user: User) -> None:
    if not broadcasts.may_send_bulk(user):
        raise PermissionDenied("Only case officers and supervisors send bulk messages.")


@login_required
def bulk_new(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    _require_bulk(user)
    form = BulkForm(request.POST or None, user=user)
    preview = None
    if request.method == "POST" and form.is_valid():
        try:
            if "send" in request.POST:
                broadcast = broadcasts.broadcast_create(
                    user=user,
                    f=form.audience_filter(),
                    template=form.cleaned_data["template"],
                    purpose=form.cleaned_data["purpose"],
                    context=form.context(),
                    preview_token=request.POST.get("previewed", ""),
                    send_at=form.cleaned_data.get("send_at"),
                    request=request,
                )
                return redirect("messaging:bulk_detail", pk=broadcast.pk)
            preview = broadcasts.broadcast_preview(
                user=user,
                f=form.audience_filter(),
                template=form.cleaned_data["template"],
                context=form.context(),
                request=request,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
    page = "messaging/bulk_new.html"
    return fragment_or_page(
        request,
        "messaging/_bulk_preview.html" if preview is not None else page,
        page,
        {"form": form, "preview": preview},
    )


@login_required
def bulk_list(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    rows = broadcasts_visible_to(user).select_related("template", "created_by")[:100]
    return render(
        request,
        "messaging/bulk_list.html",
        {"rows": rows, "can_send": broadcasts.may_send_bulk(user)},
    )


@login_required
def bulk_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    broadcast = get_object_or_404(broadcasts_visible_to(user).select_related("template"), pk=pk)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "pause":
                broadcasts.broadcast_pause(user=user, broadcast=broadcast)
            elif action == "resume":
                broadcasts.broadcast_resume(user=user, broadcast=broadcast)
            elif action == "cancel":
                broadcasts.broadcast_cancel(user=user, broadcast=broadcast)
        except PermissionDenied as exc:
            flash.error(request, str(exc))
        return redirect("messaging:bulk_detail", pk=broadcast.pk)
    progress = broadcasts.broadcast_progress(broadcast)
    failures = Message.objects.filter(broadcast=broadcast, status__in=[S.FAILED, S.UNDELIVERED])
    return fragment_or_page(
        request,
        "messaging/_bulk_progress.html",
        "messaging/bulk_detail.html",
        {
            "b": broadcast,
            "progress": progress,
            "handed": sum(
                progress.get(s, 0) for s in (S.SENT, S.DELIVERED, S.UNDELIVERED, S.FAILED)
            ),
            "failures": failures.select_related("participant")[:50],
            "live": broadcast.status not in {"done", "cancelled"},
        },
    )


# --- templates -----------------------------------------------------------------------------


@login_required
def template_list(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    if not user.reads_participants:
        raise PermissionDenied
    rows = Template.objects.prefetch_related("bodies")
    return render(
        request,
        "messaging/template_list.html",
        {"rows": rows, "can_edit": template_editable_by(user)},
    )


@login_required
def template_edit(request: HttpRequest, key: str) -> HttpResponse:
    user = staff_user(request)
    if not template_editable_by(user):
        raise PermissionDenied("Only administrators and supervisors edit message templates.")
    template = get_object_or_404(Template, key=key)
    bodies = {b.language: b.body for b in template.bodies.all()}
    error = ""
    if request.method == "POST":
        language = request.POST.get("language", "")
        try:
            template_body_save(
                user=user, template=template, language=language, body=request.POST.get("body", "")
            )
        except ValidationError as exc:
            error = "; ".join(exc.messages)
        else:
            flash.success(request, f"Saved the {language} text of {template.key}.")
            return redirect("messaging:template_edit", key=template.key)
    languages = []
    for code in [*SHIPPED_LANGUAGES, *(c for c in bodies if c not in SHIPPED_LANGUAGES)]:
        preview = preview_render(bodies.get(code, ""), code)
        languages.append((code, bodies.get(code, ""), preview, segment_count(preview)))
    return render(
        request,
        "messaging/template_edit.html",
        {
            "t": template,
            "languages": languages,
            "error": error,
            "variables": variables(bodies.get("en", "")),
        },
    )


@login_required
@require_POST
def template_preview(request: HttpRequest) -> HttpResponse:
    """The text being typed as a participant would read it (example values, in the body's
    language) and what it costs in segments (htmx, as the officer types)."""
    body = request.POST.get("body", "")
    language = request.POST.get("language", "en")
    rendered = preview_render(body, language)
    return render(
        request,
        "messaging/_segments.html",
        {"cost": segment_count(rendered), "length": len(rendered), "rendered": rendered},
    )
