"""Passkeys (WebAuthn) as a second factor, through django-otp-webauthn.

A passkey is bound to a relying party: the site's domain name. Ours is the host the request
came to (``Host``, already checked against ``ALLOWED_HOSTS``), and the one origin accepted is
that host with the request's scheme, so a deployment reached by its name needs no setting of
its own, and a passkey made at one name works only there. Browsers offer WebAuthn only in a
secure context (HTTPS, or ``http://localhost``) and never for an IP address, so the pages
offer passkeys only where they can work (``passkeys_usable_at``); the demo at
``http://127.0.0.1:8000`` uses the authenticator app, ``http://localhost:8000`` both.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.http import HttpRequest
from django.http.request import split_domain_port
from django_otp_webauthn.helpers import WebAuthnHelper

from ontrack.accounts.models import SecondFactorEventKind, User


def relying_party_id(request: HttpRequest) -> str:
    """The WebAuthn relying party: the requested host's name, without its port."""
    host, _ = split_domain_port(request.get_host())
    return host


def passkeys_usable_at(request: HttpRequest) -> bool:
    host = relying_party_id(request)
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return bool(host) and (request.is_secure() or host == "localhost")
    return False


class StaffPasskeyHelper(WebAuthnHelper):
    """django-otp-webauthn's ceremonies, with the origin taken from the request and each new
    passkey recorded in the second factor's record."""

    def get_allowed_origins(self) -> list[str]:
        return [f"{self.request.scheme}://{self.request.get_host()}"]

    def register_complete(self, user: Any, state: dict[str, Any], data: dict[str, Any]) -> Any:
        from ontrack.accounts.second_factor import second_factor_event_record

        device = super().register_complete(user=user, state=state, data=data)
        assert isinstance(user, User)
        second_factor_event_record(
            kind=SecondFactorEventKind.PASSKEY_ADDED,
            user=user,
            request=self.request,
            detail=device.name,
        )
        return device
