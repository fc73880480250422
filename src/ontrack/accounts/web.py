"""What every console view and API handler of every app needs from a request.

Kept here, in the lowest app that knows staff, so participants, tracking and the apps
above them share one copy instead of each growing its own.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from ontrack.accounts.models import User


def staff_user(request: HttpRequest) -> User:
    """The signed-in staff member (views are behind login_required, the API behind its
    authentication, so anything else is a programming error)."""
    user = request.user
    assert isinstance(user, User)
    return user


def apply_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's validation error on the field it names, or at the top of the form."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)
