"""Staff pass a second factor after the password before anything else.

A session the password alone signed in reaches only the pages that finish signing in (the
second factor's own, django-otp-webauthn's ceremonies, sign-out) and the pages that are not
staff pages: the health checks, the participant portal (participants have their own session
keys and never a staff login), and the JSON API, which authenticates each request itself
(a bearer token is a credential of its own; a browser session must be verified, see
``accounts.api.VerifiedSessionAuth``). Everything else redirects to the second factor and
comes back afterwards (``next``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import ResolverMatch, reverse
from django.utils.deprecation import MiddlewareMixin

from ontrack.accounts.second_factor import second_factor_passed, second_factor_required
from ontrack.fragments import swaps_fragment, vary_on_htmx

# (namespace, url name) of the pages a session without its second factor may open.
OPEN_VIEWS = frozenset(
    {
        ("accounts", "second_factor"),
        ("accounts", "second_factor_setup"),
        ("", "logout"),
        ("", "login"),
        ("", "health"),
        ("", "ready"),
    }
)
# Whole namespaces that need no second factor: django-otp-webauthn's ceremonies (it refuses
# on its own to register a passkey for an account with a device but no verified session),
# and the API (its own authentication, above).
OPEN_NAMESPACES = frozenset({"otp_webauthn", "api"})


def opens_without_second_factor(match: ResolverMatch | None) -> bool:
    if match is None:
        return True  # not one of our views: a 404 shows nothing
    if (match.namespace, match.url_name) in OPEN_VIEWS or match.namespace in OPEN_NAMESPACES:
        return True
    # The portal is the participants', except its staff actions (``staff_send_link``...).
    return match.namespace == "portal" and not (match.url_name or "").startswith("staff_")


class StaffSecondFactorMiddleware(MiddlewareMixin):
    """After django-otp's ``OTPMiddleware``, which tells whether the session is verified."""

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        if not second_factor_required() or opens_without_second_factor(request.resolver_match):
            return None  # (before reading the session: health checks stay cheap)
        if not request.user.is_authenticated or second_factor_passed(request):
            return None
        target = reverse("accounts:second_factor")
        if request.method in {"GET", "HEAD"}:
            target += "?" + urlencode({"next": request.get_full_path()})
        if swaps_fragment(request):
            # htmx would swap the page into a fragment; have it load the whole page instead.
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return vary_on_htmx(response)
        return vary_on_htmx(HttpResponseRedirect(target))
