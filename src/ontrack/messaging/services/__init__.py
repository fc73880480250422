"""Messaging's public service API: what other apps call to notify people and to follow the
state of what they sent. Schedule, portal and reviews queue notices (``message_queue``) and
keep reminders in step with what they remind of (``ReminderAnchor``, ``reminders_sync``),
both in the caller's transaction; alerts pages staff (``staff_notice_queue``). Messaging's
own code imports from the module that holds each function."""

from ontrack.messaging.services.delivery_status import message_status_set
from ontrack.messaging.services.notices import message_queue
from ontrack.messaging.services.received_texts import inbound_receive
from ontrack.messaging.services.reminders import ReminderAnchor, reminders_sync
from ontrack.messaging.services.routing import is_opted_out
from ontrack.messaging.services.staff_notices import staff_notice_queue

__all__ = [
    "ReminderAnchor",
    "inbound_receive",
    "is_opted_out",
    "message_queue",
    "message_status_set",
    "reminders_sync",
    "staff_notice_queue",
]
