"""Replies to the apps above messaging: a registry of handlers per action.

Messaging must not import schedule or portal (DESIGN.md, import direction), yet "CONFIRM"
confirms an appointment and a texted PIN checks a person in. Those apps register a handler
here from their ``AppConfig.ready()``; ``services.received_texts.inbound_receive``
classifies each text (``keywords``) and calls the handler for its action. A handler returns
the text to answer (sent through the outbox in the participant's language) or None when it
has nothing to say, in which case the reply lands in the officer's inbox instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

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
