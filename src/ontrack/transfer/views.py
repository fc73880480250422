"""Console pages for exports and imports; thin over ``record_zip`` and ``otrts``."""

from __future__ import annotations

from typing import IO

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ontrack.accounts.models import Office, Role, User
from ontrack.accounts.web import apply_service_errors, staff_user
from ontrack.participants.gate import participant_for_change
from ontrack.transfer.otrts.export import otrts_export
from ontrack.transfer.otrts.importing import otrts_import_detailed
from ontrack.transfer.record_zip import participant_record_zip

MAX_UPLOAD_BYTES = 200 * 1024 * 1024


def _attachment(content: IO[bytes], *, content_type: str, filename: str) -> FileResponse:
    """An export streamed from its temporary file (closed once sent), never cached."""
    response = FileResponse(
        content, as_attachment=True, filename=filename, content_type=content_type
    )
    response["Cache-Control"] = "no-store"
    return response


def _safe(case_number: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in case_number)


@login_required
@require_POST
def record_zip(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The full record ZIP, streamed from its temporary file (closed once sent)."""
    user = staff_user(request)
    try:
        content = participant_record_zip(
            user=user, participant_id=pk, purpose=request.POST.get("purpose", ""), request=request
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("participants:detail", pk=pk)
    participant = participant_for_change(request, pk)  # for its file name: logged above
    return _attachment(
        content,
        content_type="application/zip",
        filename=f"record-{_safe(participant.case_number)}.zip",
    )


@login_required
@require_POST
def otrts_xml(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The OTRTS tracking record, streamed from its temporary file like the ZIP: the ZIP's
    people and a stated purpose; without one the request is refused (400) and nothing is
    logged or built."""
    user = staff_user(request)
    participant = participant_for_change(request, pk)  # the export authorises and logs
    try:
        content = otrts_export(
            participant, user=user, purpose=request.POST.get("purpose", ""), request=request
        )
    except ValidationError as exc:
        return HttpResponseBadRequest(" ".join(exc.messages), content_type="text/plain")
    return _attachment(
        content,
        content_type="application/xml",
        filename=f"otrts-{_safe(participant.case_number)}.xml",
    )


class ImportForm(forms.Form):
    file = forms.FileField(label="OTRTS record (XML)")
    office = forms.ModelChoiceField(queryset=Office.objects.none())
    officer = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, help_text="Leave empty to assign later."
    )

    def __init__(self, *args: object, user: User, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        offices = Office.objects.select_related("program")
        if user.role != Role.ADMINISTRATOR:
            offices = offices.filter(pk=user.office_id or 0)
        office_field = self.fields["office"]
        officer_field = self.fields["officer"]
        assert isinstance(office_field, forms.ModelChoiceField)
        assert isinstance(officer_field, forms.ModelChoiceField)
        office_field.queryset = offices
        officer_field.queryset = User.objects.filter(
            is_active=True, role__in=[Role.OFFICER, Role.SUPERVISOR], office__in=offices
        )


@login_required
def otrts_import_page(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    if not user.manages_caseloads:
        raise PermissionDenied("Only supervisors and administrators import records.")
    form = ImportForm(request.POST or None, request.FILES or None, user=user)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        office: Office = form.cleaned_data["office"]
        if upload.size > MAX_UPLOAD_BYTES:
            form.add_error("file", "The file is too large.")
        else:
            try:
                result = otrts_import_detailed(
                    upload.read(),
                    user=user,
                    program=office.program,
                    office=office,
                    officer=form.cleaned_data["officer"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
    return render(request, "transfer/import.html", {"form": form, "result": result})
