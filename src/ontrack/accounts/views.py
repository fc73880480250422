"""The staff member's account page: the e-mail and phone their alert notifications go to,
kept by themself or by an administrator, and their second factor (which methods, never a
secret; an administrator resets a colleague's). Thin over ``accounts.services`` and
``accounts.second_factor``."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from ontrack.accounts.models import Role, User
from ontrack.accounts.passkeys import passkeys_usable_at
from ontrack.accounts.second_factor import second_factor_reset_allowed, second_factor_status
from ontrack.accounts.services import user_contact_editable_by, user_contact_set
from ontrack.accounts.web import apply_service_errors, staff_user


class ContactForm(forms.Form):
    email = forms.CharField(required=False, max_length=254, label="E-mail")
    phone = forms.CharField(
        required=False,
        max_length=40,
        label="Mobile phone",
        help_text="For alert texts. Written with its country code if it is not a US number.",
    )
    weekly_summary = forms.BooleanField(
        required=False,
        label="Weekly summary",
        help_text="E-mail me my office's numbers of the past week every Monday morning.",
    )


@login_required
def account(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """One's own account, or (``pk``, administrators only) a colleague's, so that an
    administrator need not be a Django superuser to give someone a number."""
    actor = staff_user(request)
    person = actor if pk is None else get_object_or_404(User, pk=pk)
    if not user_contact_editable_by(actor, person):
        raise PermissionDenied("Only the person themself or an administrator changes this.")
    form = ContactForm(
        request.POST or None,
        initial={
            "email": person.email,
            "phone": person.phone,
            "weekly_summary": person.weekly_summary,
        },
    )
    if person.role != Role.SUPERVISOR:
        del form.fields["weekly_summary"]
    if request.method == "POST" and form.is_valid():
        try:
            user_contact_set(actor=actor, user=person, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "The contact details are saved.")
            return redirect(request.path)
    own = person.pk == actor.pk
    return render(
        request,
        "accounts/account.html",
        {
            "form": form,
            "person": person,
            "own": own,
            "second_factor": second_factor_status(person),
            "second_factor_events": person.second_factor_events.all()[:20],
            "may_reset": second_factor_reset_allowed(actor, person),
            "passkeys_here": own and passkeys_usable_at(request),
        },
        status=400 if form.errors else 200,
    )
