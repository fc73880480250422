"""Twilio's Programmable Messaging over its REST API (the official SDK).

Twilio takes no idempotency key on message creation, so the key travels in the status
callback URL (``?key=...``): a delivery report that overtakes our own "sent" write still
finds its row. To reconcile a message a dead worker left in "sending", ``lookup`` lists
recent messages to the same number from our sender and matches the body: if Twilio has it,
it was accepted and is not sent again.

Error codes that mean the person cannot be reached are permanent (no retry); 21610 means
they replied STOP to Twilio itself, which ``services.delivery_status.status_callback_apply`` /
``outbox`` record as an opt-out.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from ontrack.messaging.providers.base import Lookup, Outgoing, ProviderError

REQUEST_TIMEOUT_S = 30

# Twilio error codes for which a retry cannot help.
PERMANENT_ERRORS = frozenset(
    {
        "21211",  # invalid 'To' number
        "21408",  # region not enabled
        "21610",  # the recipient replied STOP: opted out
        "21612",  # cannot route to this number
        "21614",  # not a mobile number
        "30003",  # unreachable handset
        "30005",  # unknown destination
        "30006",  # landline or unreachable carrier
        "30007",  # carrier filtered as spam
    }
)
OPTED_OUT = "21610"

# Twilio's message statuses in ours: everything before "sent" on their side is "sent" on
# ours (it has left us).
STATUS_MAP = {
    "accepted": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}


def signature_valid(url: str, params: dict[str, str], signature: str) -> bool:
    token = settings.ONTRACK_TWILIO_AUTH_TOKEN
    if not token or not signature:
        return False
    return bool(RequestValidator(token).validate(url, params, signature))


class TwilioProvider:
    name = "twilio"
    can_lookup = True

    def __init__(self) -> None:
        self._client = Client(
            settings.ONTRACK_TWILIO_ACCOUNT_SID,
            settings.ONTRACK_TWILIO_AUTH_TOKEN,
            # Well inside the sending lease, so a slow call cannot outlive its claim.
            http_client=TwilioHttpClient(timeout=REQUEST_TIMEOUT_S),
        )
        if settings.ONTRACK_TWILIO_API_BASE:
            self._client.api.base_url = settings.ONTRACK_TWILIO_API_BASE
        self._from = settings.ONTRACK_TWILIO_FROM

    def send(self, message: Outgoing) -> str:
        try:
            created = self._client.messages.create(
                to=message.to,
                from_=self._from,
                body=message.body,
                status_callback=message.status_callback or None,
            )
        except TwilioRestException as exc:
            code = str(exc.code or exc.status)
            permanent = code in PERMANENT_ERRORS or (exc.status == 400 and code.startswith("21"))
            raise ProviderError(exc.msg or str(exc), code=code, permanent=permanent) from exc
        except TwilioException as exc:
            raise ProviderError(str(exc)) from exc
        return str(created.sid)

    def lookup(self, message: Outgoing) -> Lookup:
        try:
            recent = self._client.messages.list(to=message.to, from_=self._from, limit=50)
        except TwilioException:
            return Lookup(accepted=None)
        horizon = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        for candidate in recent:
            created = candidate.date_created
            if candidate.body == message.body and (created is None or created >= horizon):
                return Lookup(True, str(candidate.sid))
        return Lookup(accepted=False)

    def close(self) -> None:
        return None
