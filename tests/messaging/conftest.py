"""Messaging fixtures: participants in each shipped language with a number to text, and a
way to read what the outbox holds for them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ontrack.messaging.models import Message
from ontrack.participants.models import Participant
from tests.messaging.sinks import TestSMSC


@pytest.fixture
def texts_to() -> Callable[[Participant], list[Message]]:
    def read(participant: Participant) -> list[Message]:
        return list(Message.objects.filter(participant=participant).order_by("id"))

    return read


@pytest.fixture
def speaker(make_participant: Callable[..., Participant]) -> Callable[..., Participant]:
    """A participant speaking ``language`` with their own number."""
    counter = iter(range(10, 99))

    def make(language: str = "es", **overrides: Any) -> Participant:
        fields: dict[str, Any] = {
            "preferred_language": language,
            "phones": [f"(973) 555-01{next(counter):02d}"],
        }
        fields.update(overrides)
        return make_participant(**fields)

    return make


class ScriptedProvider:
    """A provider whose answers the test scripts: an external service stand-in (the real
    console, SMTP and SMPP providers are tested against real servers elsewhere)."""

    name = "scripted"
    can_lookup = True

    def __init__(self) -> None:
        from ontrack.messaging.providers.base import Lookup

        self.sent: list[Any] = []
        self.errors: list[Exception] = []
        self.lookups: dict[str, Lookup] = {}

    def send(self, message: Any) -> str:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(message)
        return f"S{len(self.sent)}"

    def lookup(self, message: Any) -> Any:
        from ontrack.messaging.providers.base import Lookup

        return self.lookups.get(message.idempotency_key, Lookup(accepted=False))

    def close(self) -> None:
        return None


@pytest.fixture
def scripted(settings: Any) -> Any:
    """Route texts and e-mail to a ScriptedProvider for the test."""
    from ontrack.messaging import providers

    provider = ScriptedProvider()
    settings.ONTRACK_MESSAGING_PROVIDERS = {"sms": "scripted", "email": "scripted"}
    settings.ONTRACK_MESSAGING_RATES = {"scripted": (10_000.0, "messages")}
    providers.providers_close()
    providers._instances["scripted"] = provider
    yield provider
    providers.providers_close()


@pytest.fixture
def smsc(settings: Any) -> Any:
    from ontrack.messaging import providers

    server = TestSMSC()
    settings.ONTRACK_SMPP_HOST = "127.0.0.1"
    settings.ONTRACK_SMPP_PORT = server.port
    settings.ONTRACK_SMPP_SYSTEM_ID = "ontrack"
    settings.ONTRACK_SMPP_PASSWORD = "secret"
    settings.ONTRACK_SMPP_SOURCE = "ONTRACK"
    settings.ONTRACK_MESSAGING_PROVIDERS = {"sms": "smpp", "email": "console"}
    providers.providers_close()
    yield server
    providers.providers_close()
    server.close()
