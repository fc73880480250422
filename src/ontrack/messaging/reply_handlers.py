"""Replies to the apps above messaging: a registry of handlers per action.

Messaging must not import schedule or portal (DESIGN.md, import direction), yet "CONFIRM"
confirms an appointment and a texted PIN checks a person in. Those apps register a handler
here from their ``AppConfig.ready()``; ``services.received_texts.inbound_receive``
classifies each text (``keywords``) and calls the handler for its action. A handler returns
the text to answer (sent through the outbox in the participant's language) or None when it
has nothing to say, in which case the reply lands in the officer's inbox instead.

Staff answer texts too: the on-call page asks "Reply ACK 4821 to acknowledge". A text from a
number that is not a participant's whose first word an app registered as a staff keyword
(``register_staff_reply_handler``) goes to that app's handler, which decides whether the
sender may do what it asks and always says what came of it (:class:`StaffAnswer`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from ontrack.messaging.keywords import normalise

ACTIONS = ("confirm", "reschedule", "pin")


@dataclass(frozen=True)
class InboundReply:
    participant_id: int
    from_number: str
    body: str
    received_at: dt.datetime
    language: str


ReplyHandler = Callable[[InboundReply], "str | None"]

_handlers: dict[str, ReplyHandler] = {}


def register_reply_handler(action: str, handler: ReplyHandler) -> None:
    """Make ``handler`` answer replies meaning ``action`` (one of ``ACTIONS``); registering
    again replaces the earlier handler (a reloaded app registers anew)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown reply action {action!r}; expected one of {ACTIONS}")
    _handlers[action] = handler


def reply_handler(action: str) -> ReplyHandler | None:
    return _handlers.get(action)


@dataclass(frozen=True)
class StaffReply:
    """A text from a number that is not a participant's, led by a staff keyword."""

    from_number: str
    body: str
    received_at: dt.datetime


@dataclass(frozen=True)
class StaffAnswer:
    """What the sender is texted back: a first sentence and the rest (``staff_notice_queue``)."""

    subject: str
    body: str


StaffReplyHandler = Callable[[StaffReply], StaffAnswer]

_staff_handlers: dict[str, StaffReplyHandler] = {}


def register_staff_reply_handler(keyword: str, handler: StaffReplyHandler) -> None:
    """Make ``handler`` answer staff texts whose first word is ``keyword`` (upper case, no
    accents, e.g. "ACK"); registering again replaces the earlier handler."""
    if not keyword or normalise(keyword) != keyword or " " in keyword:
        raise ValueError(f"a staff keyword is one upper-case word, not {keyword!r}")
    _staff_handlers[keyword] = handler


def staff_reply_handler(body: str) -> StaffReplyHandler | None:
    """The handler of the staff keyword ``body`` starts with, if any."""
    words = normalise(body).split()
    return _staff_handlers.get(words[0]) if words else None
