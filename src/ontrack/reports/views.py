from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from ontrack.accounts.models import Office, Program, Role, User
from ontrack.accounts.web import staff_user
from ontrack.audit.models import AccessAction, RetentionRun
from ontrack.audit.services import access_log_record
from ontrack.csvsafe import SafeWriter
from ontrack.participants.gate import participant_export
from ontrack.participants.queries import ROLE_SCOPE, Scope, can_write_participant
from ontrack.reports.charts import bar_chart
from ontrack.reports.compliance import compliance_report, report_days_check
from ontrack.reports.compliance_pdf import compliance_pdf
from ontrack.reports.dashboard import (
    AS_OF_FIELDS,
    MODALITY_RULE,
    TABLE_KEYS,
    DashboardScope,
    dashboard_table,
    dashboard_tables,
    participant_list,
)
from ontrack.reports.inventory import data_inventory, role_access
from ontrack.reports.rollups import ROLLED, rollup_latest, rollup_whole

logger = logging.getLogger(__name__)


@login_required
def inventory(request: HttpRequest) -> HttpResponse:
    """What ontrack holds about a participant, for administrators answering a participant,
    an auditor or a court. It describes kinds of data, never anyone's data."""
    if not getattr(request.user, "manages_retention", False):
        raise PermissionDenied("The data inventory is for administrators.")
    return render(
        request,
        "reports/inventory.html",
        {
            "entries": data_inventory(),
            "roles": role_access(),
            "runs": RetentionRun.objects.all()[:20],
        },
    )


def _dashboard_reader(request: HttpRequest) -> User:
    """Anyone who reads participants reads the dashboard of the participants they may read
    (officer: caseload; supervisor: office; operator and administrator: all). The auditor
    reads no participant, so no counts of them either."""
    user = request.user
    if not isinstance(user, User) or not user.reads_participants:
        raise PermissionDenied("The dashboard counts participants; your role reads none.")
    return user


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _date(value: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def scope_from(params: QueryDict, *, now: dt.datetime | None = None) -> DashboardScope:
    """The filter form as a scope. Dates are whole UTC days, both ends included; "as of" a
    day means at the end of that day (or now, for today)."""
    now = now or timezone.now()
    today = now.astimezone(dt.UTC).date()
    last = _date(params.get("to"), today)
    first = _date(params.get("from"), last - dt.timedelta(days=29))
    as_of_day = _date(params.get("as_of"), today)
    return DashboardScope(
        start=_midnight(min(first, last)),
        end=_midnight(max(first, last) + dt.timedelta(days=1)),
        as_of=min(now, _midnight(as_of_day + dt.timedelta(days=1))),
        program_id=_int(params.get("program")),
        office_id=_int(params.get("office")),
        officer_id=_int(params.get("officer")),
    )


def _choices(user: User) -> dict[str, Any]:
    """What the filter form offers: everything for roles that see everyone, else the
    reader's own office (and, for an officer, only themselves). Choosing something outside
    one's scope shows nothing: the counts are always cut to ``participants_visible_to``."""
    sees_all = ROLE_SCOPE.get(user.role) == Scope.ALL
    offices = Office.objects.select_related("program")
    if not sees_all:
        offices = offices.filter(staff=user)
    programs = Program.objects.filter(pk__in=offices.values("program_id"))
    officers = User.objects.filter(
        office__in=offices, role__in=[Role.OFFICER, Role.SUPERVISOR], is_active=True
    )
    if ROLE_SCOPE.get(user.role) == Scope.CASELOAD:
        officers = officers.filter(pk=user.pk)
    return {"programs": programs, "offices": offices, "officers": officers}


def _query(request: HttpRequest) -> str:
    keep = ("program", "office", "officer", "from", "to", "as_of")
    return urlencode({k: v for k, v in request.GET.items() if k in keep and v})


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The program dashboard: every table with its chart and a CSV link; closed days from
    the roll-ups, named on the page with the time they were computed."""
    user = _dashboard_reader(request)
    scope = scope_from(request.GET)
    tables = dashboard_tables(user, scope, ROLLED)
    access_log_record(
        user=user, action=AccessAction.LIST, what=f"dashboard {scope.describe()}", request=request
    )
    return render(
        request,
        "reports/dashboard.html",
        {
            "tables": [(t, bar_chart(t.chart, title=t.title)) for t in tables],
            "scope": scope,
            "last_day": (scope.end - dt.timedelta(days=1)).date(),
            "as_of_day": (scope.as_of - dt.timedelta(microseconds=1)).date(),
            "query": _query(request),
            "may_export_list": user.manages_caseloads,
            "modality_rule": MODALITY_RULE,
            "rollup": rollup_latest(),
            "rollup_whole": rollup_whole(),
            **_choices(user),
        },
    )


def _csv_response(name: str, header: list[str], rows: Iterable[list[Any]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    writer = SafeWriter(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


@login_required
def table_csv(request: HttpRequest, key: str) -> HttpResponse:
    """One dashboard table as CSV (counts only, no participant), in the access log."""
    user = _dashboard_reader(request)
    if key not in TABLE_KEYS:
        raise Http404("No such dashboard table.")
    scope = scope_from(request.GET)
    table = dashboard_table(user, scope, key, ROLLED)
    access_log_record(
        user=user,
        action=AccessAction.EXPORT,
        what=f"dashboard {key} CSV {scope.describe()}",
        request=request,
    )
    rows = [*table.rows, *([table.total] if table.total else [])]
    return _csv_response(f"ontrack-{key}", table.columns, rows)


PURPOSE_MIN_LENGTH = 10


@login_required
@require_POST
def participants_csv(request: HttpRequest) -> HttpResponse:
    """The people behind the supervised counts, as CSV. A list of names leaves the system,
    so only supervisors (their office) and administrators may take it, with a stated purpose,
    and every participant in it is written to the access log."""
    user = _dashboard_reader(request)
    if not user.manages_caseloads:
        raise PermissionDenied("Participant lists are exported by supervisors and administrators.")
    purpose = " ".join(request.POST.get("purpose", "").split())
    if len(purpose) < PURPOSE_MIN_LENGTH:
        messages.error(request, "Say what the participant list is for before exporting it.")
        return redirect(f"{reverse('reports:dashboard')}?{_query(request)}")
    scope = scope_from(request.GET)
    columns = ("pk", "case_number", "family_name", "given_name", "office__name",
               "officer__username", *AS_OF_FIELDS, "enrolled_at")  # fmt: skip
    people = list(participant_list(user, scope).values_list(*columns))
    access_log_record(
        user=user,
        action=AccessAction.EXPORT,
        what=f"participant list CSV for: {purpose} ({scope.describe()})",
        participant_ids=[row[0] for row in people] or [None],
        request=request,
    )
    logger.info("participant list exported user=%s rows=%s", user.pk, len(people))
    header = ["case_number", "family_name", "given_name", "office", "officer", "status",
              "level", "modality", "enrolled_at"]  # fmt: skip
    rows = ([*row[1:-1], row[-1].isoformat()] for row in people)
    return _csv_response("ontrack-participants", header, rows)


def _report_days(params: QueryDict, *, now: dt.datetime) -> tuple[dt.date, dt.date]:
    """The form's first and last day; ValidationError naming what is wrong."""
    days = []
    for name, label in (("from", "first"), ("to", "last")):
        try:
            days.append(dt.date.fromisoformat(params.get(name, "")))
        except ValueError:
            raise ValidationError(
                f"Give the report's {label} day as a date (YYYY-MM-DD)."
            ) from None
    first, last = days
    report_days_check(first, last, now=now)
    return first, last


@login_required
@require_POST
def participant_compliance_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """A participant's compliance report for a range of days, as a PDF for a court. Taking
    it is the officer's sign-off: the report says "Prepared by" them, and the access log
    holds the export with its purpose. Only the people answerable for the case take it (as
    for the full record); an impossible range or no purpose is refused (400) before
    anything is read or logged."""
    user = staff_user(request)
    now = timezone.now()
    try:
        first, last = _report_days(request.POST, now=now)
        participant = participant_export(
            request,
            pk,
            what=f"compliance report PDF {first:%Y-%m-%d}..{last:%Y-%m-%d}, signed off",
            purpose=request.POST.get("purpose", ""),
            answerable=can_write_participant,
            refusal="Only the case's officer, its supervisors and administrators sign off a "
            "compliance report.",
        )
    except ValidationError as exc:
        return HttpResponseBadRequest(" ".join(exc.messages), content_type="text/plain")
    report = compliance_report(user, participant, first=first, last=last, now=now)
    response = HttpResponse(compliance_pdf(report), content_type="application/pdf")
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in participant.case_number)
    response["Content-Disposition"] = (
        f'attachment; filename="compliance-{name}-{first:%Y%m%d}-{last:%Y%m%d}.pdf"'
    )
    response["Cache-Control"] = "no-store"
    return response
