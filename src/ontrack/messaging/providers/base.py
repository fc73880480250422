"""The one interface every provider implements, and the errors it may raise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Attachment:
    """A file sent with an e-mail."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Outgoing:
    """What a provider needs to send one message. ``idempotency_key`` is the same on every
    attempt for the same message; ``status_callback`` is where the provider reports back.
    ``attachments`` are e-mail only (providers of texts never get any)."""

    to: str
    body: str
    idempotency_key: str
    channel: str
    subject: str = ""
    status_callback: str = ""
    attachments: tuple[Attachment, ...] = ()


class ProviderError(Exception):
    """A send that did not go. ``permanent``: retrying cannot help (bad number, opted out);
    otherwise it is retried (+5 min, +10 min). ``code`` is the provider's own error code."""

    def __init__(self, message: str, *, code: str = "", permanent: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.permanent = permanent


@dataclass(frozen=True)
class Lookup:
    """What a provider knows about an idempotency key: ``accepted`` True (it took the
    message; ``provider_message_id`` says which), False (it never saw it), or None (it
    cannot tell)."""

    accepted: bool | None
    provider_message_id: str = ""


class Provider(Protocol):
    name: str
    can_lookup: bool  # whether ``lookup`` can answer True/False (else always None)

    def send(self, message: Outgoing) -> str | list[str]:
        """Hand the message over; return the provider's message id, or, for a text the
        provider took in several parts each with its own id (SMPP), the list of them, the
        first part's first. Raises ProviderError."""
        ...

    def lookup(self, message: Outgoing) -> Lookup:
        """Whether a send with this idempotency key was already accepted (after a worker
        died between the provider's answer and our status write)."""
        ...

    def close(self) -> None: ...
