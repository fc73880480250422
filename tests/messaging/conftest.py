"""Messaging fixtures: participants in each shipped language with a number to text, and a
way to read what the outbox holds for them."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest

from ontrack.messaging.models import Message
from ontrack.participants.models import Participant


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


class TestSMSC:
    """A small SMSC speaking SMPP 3.4 over a real socket, built from smpplib's PDU classes:
    answers binds, submit_sm (with message ids M1, M2...), enquire_link and unbind; sends
    delivery receipts and mobile-originated texts on request, and delivers them again when
    the client answers with an error (as a real SMSC retries); can drop every connection to
    make the client reconnect."""

    __test__ = False

    def __init__(self) -> None:
        import socket
        import threading

        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.port = self.server.getsockname()[1]
        self.submitted: list[dict[str, Any]] = []
        self.binds = 0
        self.enquire_links = 0
        self.delivered_acks = 0
        self.redeliveries = 0
        self.unacknowledged: dict[int, tuple[Any, dict[str, Any]]] = {}
        self.refuse_with = 0  # an error status to answer submit_sm with, 0 for none
        self.connections: list[Any] = []
        self.lock = threading.Lock()
        self.running = True
        from smpplib.client import SimpleSequenceGenerator

        sequences = SimpleSequenceGenerator()
        # PDUs number themselves from a "client"; the SMSC's own PDUs use this one.
        self.numbering = type(
            "Numbering",
            (),
            {
                "sequence": property(lambda _: sequences.sequence),
                "next_sequence": lambda _: sequences.next_sequence(),
            },
        )()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import threading

        while self.running:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _read(self, conn: Any) -> Any:
        import struct

        from smpplib import smpp

        header = b""
        while len(header) < 4:
            chunk = conn.recv(4 - len(header))
            if not chunk:
                return None
            header += chunk
        (length,) = struct.unpack(">L", header)
        body = b""
        while len(body) < length - 4:
            chunk = conn.recv(length - 4 - len(body))
            if not chunk:
                return None
            body += chunk
        return smpp.parse_pdu(header + body, client=self.numbering, allow_unknown_opt_params=True)

    def _send(self, conn: Any, command: str, **fields: Any) -> None:
        from smpplib import smpp

        with self.lock:
            pdu = smpp.make_pdu(command, client=self.numbering, **fields)
            if command == "deliver_sm":
                self.unacknowledged[pdu.sequence] = (conn, fields)
            conn.sendall(pdu.generate())

    def _redeliver_later(self, sequence: int) -> None:
        import threading

        conn, fields = self.unacknowledged.pop(sequence)
        self.redeliveries += 1
        threading.Timer(0.2, self._send, args=(conn, "deliver_sm"), kwargs=fields).start()

    def _serve(self, conn: Any) -> None:
        try:
            while True:
                pdu = self._read(conn)
                if pdu is None:
                    return
                if pdu.command == "bind_transceiver":
                    self.binds += 1
                    self._send(
                        conn, "bind_transceiver_resp", sequence=pdu.sequence, system_id="TESTSMSC"
                    )
                elif pdu.command == "submit_sm":
                    if self.refuse_with:
                        self._send(
                            conn, "submit_sm_resp", sequence=pdu.sequence, status=self.refuse_with
                        )
                        continue
                    message_id = f"M{len(self.submitted) + 1}"
                    self.submitted.append(
                        {
                            "id": message_id,
                            "to": pdu.destination_addr.decode(),
                            "text": pdu.short_message,
                            "data_coding": pdu.data_coding,
                        }
                    )
                    self._send(conn, "submit_sm_resp", sequence=pdu.sequence, message_id=message_id)
                elif pdu.command == "enquire_link":
                    self.enquire_links += 1
                    self._send(conn, "enquire_link_resp", sequence=pdu.sequence)
                elif pdu.command == "deliver_sm_resp" and pdu.status:
                    self._redeliver_later(pdu.sequence)
                elif pdu.command == "deliver_sm_resp":
                    self.unacknowledged.pop(pdu.sequence, None)
                    self.delivered_acks += 1
                elif pdu.command == "unbind":
                    self._send(conn, "unbind_resp", sequence=pdu.sequence)
                    return
        except OSError:
            return

    def receipt(self, message_id: str, stat: str = "DELIVRD") -> None:
        text = (
            f"id:{message_id} sub:001 dlvrd:001 submit date:2611230100 "
            f"done date:2611230101 stat:{stat} err:000 text:"
        )
        self._send(
            self.connections[-1], "deliver_sm", source_addr="19735550142",
            destination_addr="ONTRACK", esm_class=0x04, short_message=text.encode(),
        )  # fmt: skip

    def mobile_originated(self, source: str, text: str) -> None:
        self._send(
            self.connections[-1], "deliver_sm", source_addr=source,
            destination_addr="19735550100", esm_class=0, data_coding=0x08,
            short_message=text.encode("utf-16-be"),
        )  # fmt: skip

    def drop_connections(self) -> None:
        import socket

        for conn in self.connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def close(self) -> None:
        self.running = False
        self.drop_connections()
        self.server.close()


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
