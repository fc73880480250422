"""The on-call rota page: an office's shifts (who is on call, from when to when, in the
office's zone) and its escalation time. Thin over ``alerts.on_call``, which decides who may
change them; the page checks the same predicate before showing anything."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from ontrack.accounts.models import Office
from ontrack.accounts.templatetags.office_time import office_zone
from ontrack.accounts.web import apply_service_errors, staff_user
from ontrack.alerts import on_call
from ontrack.alerts.models import OnCallShift, Priority
from ontrack.alerts.rule_views import editable_offices, first_kept_page, kept_or_refused

LOCAL_MINUTE = "%Y-%m-%dT%H:%M"


class ShiftForm(forms.Form):
    """Times are read on the office's clock (the view sets its zone while validating)."""

    person = forms.TypedChoiceField(coerce=int, label="On call")
    starts_at = forms.DateTimeField(
        input_formats=[LOCAL_MINUTE],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_MINUTE),
        label="From",
    )
    ends_at = forms.DateTimeField(
        input_formats=[LOCAL_MINUTE],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_MINUTE),
        label="To",
    )

    def __init__(self, *args: Any, office: Office, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = on_call.on_call_candidates(office)
        person = self.fields["person"]
        assert isinstance(person, forms.TypedChoiceField)
        person.choices = [
            (p.pk, f"{p.get_full_name() or p.username} ({p.get_role_display()})") for p in people
        ]


class PolicyForm(forms.Form):
    escalate_after_minutes = forms.IntegerField(
        min_value=1, max_value=24 * 60, label="Text the person on call after (minutes)"
    )
    min_priority = forms.TypedChoiceField(
        choices=Priority.choices, coerce=int, label="For alerts from priority"
    )


@login_required
def rota_home(request: HttpRequest) -> HttpResponse:
    return first_kept_page(
        editable_offices(staff_user(request)),
        "alerts:on_call",
        refusal="Only supervisors and administrators keep the on-call rota.",
    )


@login_required
def rota(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    office = kept_or_refused(
        user,
        Office,
        pk,
        on_call.on_call_editable_by,
        refusal="Only the office's supervisors and administrators see this.",
    )
    policy = on_call.policy_for(office)
    posted = request.POST if request.method == "POST" else None
    policy_form = PolicyForm(
        posted if posted and "policy" in posted else None,
        initial={"escalate_after_minutes": policy.minutes, "min_priority": policy.min_priority},
    )
    shift_form = ShiftForm(posted if posted and "policy" not in posted else None, office=office)
    if policy_form.is_bound and policy_form.is_valid():
        try:
            on_call.policy_set(user=user, office=office, **policy_form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(policy_form, exc)
        else:
            messages.success(request, "Escalation saved.")
            return redirect("alerts:on_call", pk=office.pk)
    with timezone.override(office_zone(office.time_zone)):
        valid = shift_form.is_bound and shift_form.is_valid()
    if valid:
        data = shift_form.cleaned_data
        try:
            shift = on_call.shift_add(
                user=user,
                office=office,
                person_id=data["person"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
            )
        except ValidationError as exc:
            apply_service_errors(shift_form, exc)
        else:
            problem = on_call.shift_problem(shift)
            if problem:
                messages.warning(request, f"Shift added, but {problem}.")
            else:
                messages.success(request, "Shift added.")
            return redirect("alerts:on_call", pk=office.pk)
    shifts = [(s, on_call.shift_problem(s)) for s in on_call.shifts_ahead(office)]
    return render(
        request,
        "alerts/on_call.html",
        {
            "office": office,
            "offices": editable_offices(user),
            "shifts": shifts,
            "now": timezone.now(),
            "policy": policy,
            "policy_form": policy_form,
            "shift_form": shift_form,
        },
        status=400 if policy_form.errors or shift_form.errors else 200,
    )


@login_required
@require_POST
def shift_remove(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    shift = get_object_or_404(OnCallShift.objects.select_related("office"), pk=pk)
    on_call.shift_remove(user=user, shift=shift)
    messages.success(request, "Shift removed.")
    return redirect("alerts:on_call", pk=shift.office_id)
