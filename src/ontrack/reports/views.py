from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ontrack.audit.models import RetentionRun
from ontrack.reports.inventory import data_inventory, role_access


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
