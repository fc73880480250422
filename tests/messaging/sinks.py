"""Stand-ins for the outside world that messaging talks to, each a real server on a local
port: an SMSC speaking SMPP 3.4 and an SMTP mailbox. The messaging tests run them beside an
in-process sender; the system tests (``tests/system``) point a real ``ontrack worker`` at them.
"""

from __future__ import annotations

import contextlib
import email
import email.message
from typing import Any


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
                            "esm_class": pdu.esm_class,
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

    def texts_to(self, phone: str) -> list[str]:
        """The texts submitted for ``phone``, oldest first, each long text put back together
        from its parts (user data header: concatenation reference, count, sequence), as the
        handset would show it."""
        texts: list[str] = []
        parts: dict[int, dict[int, str]] = {}
        for submitted in list(self.submitted):
            if submitted["to"] != phone.lstrip("+"):
                continue
            payload: bytes = submitted["text"]
            if not submitted.get("esm_class", 0) & 0x40:
                texts.append(sms_text(submitted["data_coding"], payload))
                continue
            header, body = payload[1 : payload[0] + 1], payload[payload[0] + 1 :]
            if header[0] == 0x00:  # 8-bit reference
                reference, count, sequence = header[2], header[3], header[4]
            else:  # 0x08: 16-bit reference
                reference, count, sequence = int.from_bytes(header[2:4]), header[4], header[5]
            pieces = parts.setdefault(reference, {})
            pieces[sequence] = sms_text(submitted["data_coding"], body)
            if len(pieces) == count:
                # Done: the reference is free again (it is one byte, so a later long text
                # to the same phone soon reuses it).
                del parts[reference]
                texts.append("".join(pieces[n] for n in sorted(pieces)))
        return texts

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


def sms_text(data_coding: int, payload: bytes) -> str:
    """One submitted short message as text. Undecodable bytes (half a surrogate pair) show
    as U+FFFD, and an escape byte at the end of a part is lost, as on a handset."""
    if data_coding == 0x08:
        return payload.decode("utf-16-be", "replace")
    if data_coding == 0x03:
        return payload.decode("latin-1")
    # GSM 03.38 default alphabet, one character per byte (as smpplib sends it)
    from smpplib.gsm import GSM_CHARACTER_TABLE

    characters, escape = [], False
    for byte in payload:
        if byte == 0x1B:
            escape = True
            continue
        characters.append(GSM_CHARACTER_TABLE[byte + (0x80 if escape else 0)])
        escape = False
    return "".join(characters)


class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts (and refuses the addresses in
    ``refuse``); serve it with ``aiosmtpd.controller.Controller``."""

    def __init__(self) -> None:
        self.received: list[email.message.Message] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


def mail_body(message: email.message.Message) -> str:
    """The text of an e-mail as its reader sees it: the whole of a plain one, or the text
    part of one with attachments."""
    for part in message.walk():
        if part.get_content_type() == "text/plain" and not part.get_filename():
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes), "a text part"
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("the e-mail has no text")


def mail_attachments(message: email.message.Message) -> list[tuple[str, str, bytes]]:
    """(file name, content type, bytes) of each file attached to an e-mail."""
    found = []
    for part in message.walk():
        filename = part.get_filename()
        if filename:
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes), f"{filename} has content"
            found.append((filename, part.get_content_type(), payload))
    return found
