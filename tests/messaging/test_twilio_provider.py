"""The Twilio provider through the official SDK, against a local HTTP server answering as
Twilio's REST API does (Twilio itself cannot be reached from the tests): a send, the status
callback URL carrying the idempotency key, error 21610 recorded as an opt-out, a transient
error retried, and the lookup that settles a message a dead worker left in "sending"."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings

from ontrack.messaging import providers
from ontrack.messaging.models import Message, MessageStatus, OptOut
from ontrack.messaging.outbox import Sender, _outgoing, _record_handed, claim, reconcile
from ontrack.messaging.services.notices import message_queue
from ontrack.participants.models import Participant
from tests.support import first_phone

pytestmark = pytest.mark.django_db
SID = "AC" + "0" * 32


class FakeTwilio(BaseHTTPRequestHandler):
    created: list[dict[str, str]]
    answers: list[tuple[int, dict[str, object]]]

    def log_message(self, *args: object) -> None:
        return None

    def _json(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if self.answers:
            self._json(*self.answers.pop(0))
            return
        self.created.append(form)
        self._json(201, _resource(f"SM{len(self.created):032d}", form))

    def do_GET(self) -> None:
        messages = [_resource(f"SM{i + 1:032d}", form) for i, form in enumerate(self.created)]
        self._json(
            200, {"messages": messages[::-1], "next_page_uri": None, "page": 0, "page_size": 50}
        )


def _resource(sid: str, form: dict[str, str]) -> dict[str, object]:
    return {
        "sid": sid, "account_sid": SID, "to": form.get("To"), "from": form.get("From"),
        "body": form.get("Body"), "status": "queued",
        "date_created": timezone.now().strftime("%a, %d %b %Y %H:%M:%S +0000"),
    }  # fmt: skip


@pytest.fixture
def twilio_api(settings: Settings) -> Iterator[type[FakeTwilio]]:
    handler = type("Handler", (FakeTwilio,), {"created": [], "answers": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.ONTRACK_TWILIO_ACCOUNT_SID = SID
    settings.ONTRACK_TWILIO_AUTH_TOKEN = "token"
    settings.ONTRACK_TWILIO_FROM = "+19735550100"
    settings.ONTRACK_TWILIO_API_BASE = f"http://127.0.0.1:{server.server_port}"
    settings.ONTRACK_PUBLIC_URL = "https://ontrack.example.org"
    settings.ONTRACK_MESSAGING_PROVIDERS = {"sms": "twilio", "email": "console"}
    settings.ONTRACK_MESSAGING_RATES = {"twilio": (1000.0, "segments")}
    providers.providers_close()
    yield handler
    providers.providers_close()
    server.shutdown()


def queue(participant: Participant) -> Message:
    message = message_queue(
        participant=participant,
        template_key="checkin_received",
        context={"reference": "R-3"},
        purpose="t",
    )
    assert message is not None
    return message


def test_send_goes_through_the_sdk_with_a_callback_that_names_the_message(
    speaker: Callable[..., Participant], twilio_api: type[FakeTwilio]
) -> None:
    participant = speaker("pt")
    message = queue(participant)
    assert Sender(threading.Event()).run_once() == 1
    (created,) = twilio_api.created
    assert created["To"] == first_phone(participant)
    assert created["From"] == "+19735550100"
    assert created["Body"].startswith("Registro recebido")
    assert created["StatusCallback"] == (
        f"https://ontrack.example.org/messaging/twilio/status/?key={message.idempotency_key}"
    )
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.provider_message_id == "SM" + "0" * 31 + "1"


def test_twilio_21610_fails_the_message_and_records_the_opt_out(
    speaker: Callable[..., Participant], twilio_api: type[FakeTwilio]
) -> None:
    participant = speaker("es")
    message = queue(participant)
    twilio_api.answers.append(
        (
            400,
            {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400},
        )
    )
    Sender(threading.Event()).run_once()
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.error_code == "21610"
    assert OptOut.objects.get(participant=participant).source == "twilio error 21610"


def test_server_error_is_retried_later(
    speaker: Callable[..., Participant], twilio_api: type[FakeTwilio]
) -> None:
    message = queue(speaker("es"))
    twilio_api.answers.append(
        (503, {"code": 20503, "message": "Service unavailable", "status": 503})
    )
    Sender(threading.Event()).run_once()
    message.refresh_from_db()
    assert message.status == MessageStatus.ERRORED
    assert message.send_at > timezone.now()


def test_lookup_recognises_a_message_twilio_already_has(
    speaker: Callable[..., Participant], twilio_api: type[FakeTwilio]
) -> None:
    message = queue(speaker("ht"))
    now = timezone.now()
    (row,) = claim(channel="sms", provider_name="twilio", limit=5, now=now)
    provider = providers.provider_named("twilio")
    assert _record_handed(row)  # as the sender does, just before the provider call
    provider.send(_outgoing(row, provider))  # accepted, then the worker died
    reconcile(now=now + dt.timedelta(minutes=5), lease=dt.timedelta(minutes=2))
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert len(twilio_api.created) == 1
    assert Sender(threading.Event()).run_once() == 0
    assert len(twilio_api.created) == 1
