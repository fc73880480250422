"""The second factor's pages: verify after the password, set up an authenticator app on the
first sign-in, make recovery codes, remove a passkey, an administrator's reset and the record
of changes. Thin over ``accounts.second_factor``.

Every page is ``never_cache``: the set-up page holds the authenticator's key and the codes
page the recovery codes, which no browser or proxy cache may keep.
"""

from __future__ import annotations

from base64 import b32encode

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp_webauthn.models import WebAuthnCredential

from ontrack.accounts.models import SecondFactorEvent, User
from ontrack.accounts.passkeys import passkeys_usable_at
from ontrack.accounts.second_factor import (
    passkey_remove,
    recovery_codes_make,
    second_factor_reset,
    second_factor_status,
    second_factor_verify,
    session_is_verified,
    throttled_message,
    totp_enrolment_confirm,
    totp_enrolment_start,
)
from ontrack.accounts.web import apply_service_errors, staff_user


class CodeForm(forms.Form):
    code = forms.CharField(
        max_length=40,
        label="Code",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "off", "autofocus": True}
        ),
    )


def _next_url(request: HttpRequest) -> str:
    """Where to go once verified: the page the person asked for, if it is one of ours."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return resolve_url("home")


def _with_next(name: str, next_url: str) -> str:
    return reverse(name) + "?" + urlencode({"next": next_url})


@never_cache
@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """After the password: a code from the authenticator app, a recovery code, or a
    passkey. Someone with no method yet is sent to set one up."""
    user = staff_user(request)
    next_url = _next_url(request)
    if session_is_verified(request):
        return redirect(next_url)
    status = second_factor_status(user)
    if not status.enrolled:
        return redirect(_with_next("accounts:second_factor_setup", next_url))
    form = CodeForm(request.POST or None)
    code = 200
    if request.method == "POST" and form.is_valid():
        outcome = second_factor_verify(request, user=user, code=form.cleaned_data["code"])
        if outcome.device is not None:
            left = outcome.recovery_codes_left
            if left is not None:
                messages.warning(
                    request,
                    f"You signed in with a recovery code; {left} left. Make new ones on "
                    "My account if you have lost your authenticator app or passkey.",
                )
            return redirect(next_url)
        if outcome.locked_until is not None:
            form.add_error(None, throttled_message(outcome.locked_until))
            code = 429
        else:
            form.add_error(
                "code",
                "That code is not right. Authenticator codes change every 30 seconds and "
                "each works once; a recovery code works once.",
            )
            code = 400
    return render(
        request,
        "accounts/second_factor_verify.html",
        {
            "form": form,
            "next": next_url,
            "status": status,
            "passkeys_here": bool(status.passkeys) and passkeys_usable_at(request),
            "mfa_pending": True,
        },
        status=code,
    )


@never_cache
@login_required
def setup(request: HttpRequest) -> HttpResponse:
    """Set up the authenticator app: a QR code (drawn here, nothing leaves the server) and
    the key to type in by hand, then a code from the app to prove it works. On a first
    sign-in this is also where a passkey can be the first method instead."""
    user = staff_user(request)
    next_url = _next_url(request)
    status = second_factor_status(user)
    verified = session_is_verified(request)
    if status.authenticator is not None:
        if verified:
            messages.info(request, "Your authenticator app is already set up.")
            return redirect("accounts:account")
        return redirect(_with_next("accounts:second_factor", next_url))
    if status.enrolled and not verified:
        # Adding an app to an account that has a passkey takes that passkey first.
        return redirect(_with_next("accounts:second_factor", next_url))
    device = totp_enrolment_start(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = totp_enrolment_confirm(request, user=user, code=form.cleaned_data["code"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Your authenticator app is set up.")
            if codes:
                return _show_codes(request, codes, next_url=next_url, first=True)
            return redirect(next_url)
    key = b32encode(device.bin_key).decode()
    return render(
        request,
        "accounts/second_factor_setup.html",
        {
            "form": form,
            "next": next_url,
            "qr_svg": segno.make(device.config_url, error="m").svg_inline(
                scale=4, title="QR code of the authenticator key"
            ),
            "key_groups": [key[i : i + 4] for i in range(0, len(key), 4)],
            "first": not status.enrolled,
            "passkeys_here": not status.enrolled and passkeys_usable_at(request),
            "mfa_pending": not verified,
        },
        status=400 if form.errors else 200,
    )


def _show_codes(
    request: HttpRequest, codes: list[str], *, next_url: str, first: bool = False
) -> HttpResponse:
    """The only time the codes are ever shown: in the answer to the request that made them."""
    return render(
        request,
        "accounts/recovery_codes_new.html",
        {"codes": codes, "next": next_url, "first": first},
    )


@never_cache
@login_required
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """How many recovery codes are left, and new ones (replacing the old) on request. Needs
    a verified session, or none at all to verify with (a first passkey was just made)."""
    user = staff_user(request)
    status = second_factor_status(user)
    if status.enrolled and not session_is_verified(request):
        return redirect(_with_next("accounts:second_factor", request.get_full_path()))
    if request.method == "POST":
        return _show_codes(
            request,
            recovery_codes_make(request, user=user),
            next_url=_next_url(request),
            first=status.recovery_codes_left is None,
        )
    return render(
        request, "accounts/recovery_codes.html", {"status": status, "next": _next_url(request)}
    )


@login_required
@require_POST
def remove_passkey(request: HttpRequest, pk: int) -> HttpResponse:
    user = staff_user(request)
    passkey = get_object_or_404(WebAuthnCredential, pk=pk, user=user)
    try:
        passkey_remove(request, user=user, passkey=passkey)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, "The passkey is removed.")
    return redirect("accounts:account")


@login_required
@require_POST
def reset(request: HttpRequest, pk: int) -> HttpResponse:
    """An administrator resets a colleague's second factor (a lost phone): every method
    goes, the colleague is signed out everywhere and sets one up at the next sign-in."""
    actor = staff_user(request)
    person = get_object_or_404(User, pk=pk)
    removed = second_factor_reset(actor=actor, user=person, request=request)
    messages.success(
        request,
        f"The second factor of {person} is reset ({', '.join(removed) or 'none was set up'} "
        "removed). They set up a new one at their next sign-in.",
    )
    return redirect("accounts:staff_contact", pk=person.pk)


@login_required
def events(request: HttpRequest) -> HttpResponse:
    """Every staff member's second-factor changes, for those who read the access log."""
    if not getattr(request.user, "reads_access_log", False):
        raise PermissionDenied("Only auditors and administrators read this record.")
    entries = SecondFactorEvent.objects.all()
    username = request.GET.get("user", "").strip()
    if username:
        entries = entries.filter(username__iexact=username)
    page = Paginator(entries, 100).get_page(request.GET.get("page"))
    return render(
        request, "accounts/second_factor_events.html", {"page": page, "username": username}
    )
