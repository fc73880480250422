"""Providers behind one interface (``base.Provider``); ``provider_for(channel)`` picks the
one configured in ``ONTRACK_MESSAGING_PROVIDERS`` and keeps one instance per process (an
SMPP bind or an SMTP connection is worth reusing)."""

from __future__ import annotations

import threading

from django.conf import settings

from ontrack.messaging.providers.base import Provider

_instances: dict[str, Provider] = {}
_lock = threading.Lock()


def provider_named(name: str) -> Provider:
    with _lock:
        if name not in _instances:
            _instances[name] = _build(name)
        return _instances[name]


def provider_for(channel: str) -> Provider:
    return provider_named(settings.ONTRACK_MESSAGING_PROVIDERS[channel])


def providers_close() -> None:
    with _lock:
        for provider in _instances.values():
            provider.close()
        _instances.clear()


def _build(name: str) -> Provider:
    if name == "console":
        from ontrack.messaging.providers.console import ConsoleProvider

        return ConsoleProvider()
    if name == "twilio":
        from ontrack.messaging.providers.twilio import TwilioProvider

        return TwilioProvider()
    if name == "smpp":
        from ontrack.messaging.providers.smpp import SmppProvider

        return SmppProvider()
    if name == "smtp":
        from ontrack.messaging.providers.smtp import SmtpProvider

        return SmtpProvider()
    raise ValueError(f"unknown messaging provider {name!r}")
