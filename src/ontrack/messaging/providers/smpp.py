"""SMPP 3.4 to an SMSC (smpplib): one transceiver bind per worker process.

A reader thread owns the socket's receiving side: it matches each ``submit_sm_resp`` to
the send waiting for it (by sequence number), turns ``deliver_sm`` delivery receipts into
status updates matched by the SMSC's message id (each part of a long text has its own id and
its own receipt; ``MessagePart``), passes texts from handsets (mobile
originated) to ``inbound_receive``, and answers the SMSC's ``enquire_link``. When the link
is idle for ``ONTRACK_SMPP_ENQUIRE_LINK_S`` it sends an ``enquire_link`` itself (smpplib
does this on a read timeout), which keeps NAT and the SMSC from dropping the bind. A broken
connection fails the sends in flight (retried later) and the next send binds again.

SMPP cannot be asked later whether a submit was accepted except by the id the SMSC gave,
which a worker killed before recording it never learned; ``lookup`` therefore cannot tell,
and such a message is marked failed for a person to check rather than sent twice.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import threading
import uuid
from typing import Any

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.gsm
import smpplib.smpp
from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from ontrack.messaging import segments
from ontrack.messaging.providers.base import Lookup, Outgoing, ProviderError

logger = logging.getLogger(__name__)

RESPONSE_TIMEOUT_S = 15.0
ESM_DELIVERY_RECEIPT = 0x04  # esm_class bits 2-5: "SMSC delivery receipt" (SMPP 3.4 5.2.12)
# SMSC answers after which a retry may work; any other error status is permanent.
TRANSIENT_STATUSES = frozenset(
    {
        smpplib.consts.SMPP_ESME_RTHROTTLED,
        smpplib.consts.SMPP_ESME_RMSGQFUL,
        smpplib.consts.SMPP_ESME_RSYSERR,
    }
)
# Final states in a delivery receipt ("id:... stat:DELIVRD ...") and ours.
RECEIPT_STATES = {
    "DELIVRD": "delivered",
    "UNDELIV": "undelivered",
    "EXPIRED": "undelivered",
    "DELETED": "failed",
    "REJECTD": "failed",
    "UNKNOWN": "undelivered",
}
RECEIPT = re.compile(rb"id:(?P<id>\S+).*?stat:(?P<stat>[A-Z]+)(?:.*?err:(?P<err>\w+))?", re.S)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").rstrip("\x00")
    return str(value or "")


def _source_ton(source: str) -> int:
    """A number is international; a sender name ("ONTRACK") is alphanumeric."""
    if source.lstrip("+").isdigit():
        return int(smpplib.consts.SMPP_TON_INTL)
    return int(smpplib.consts.SMPP_TON_ALNUM)


class _Waiter:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.message_id = ""
        self.status = 0
        self.broken = False


# Concatenation references in turn from a random start: a burst of long texts to one phone
# (an officer paged about several alerts) gets 256 different ones before any repeats, so the
# handset never joins parts of two texts; random picks collide after about twenty.
_references = itertools.count(secrets.randbelow(256))


def _pdu_parts(text: str) -> tuple[list[bytes], int, int]:
    """The ``short_message`` of each submit_sm, its data coding and esm_class. The text is
    split by ``segments.split`` (smpplib's own splitter can cut a GSM escape or a UCS-2
    surrogate pair in half); a long text's parts carry the concatenation header (UDH:
    reference, count, index)."""
    encoding, texts = segments.split(text)
    if encoding == "GSM-7":
        try:
            encoded = [smpplib.gsm.gsm_encode(part) for part in texts]
            data_coding = smpplib.consts.SMPP_ENCODING_DEFAULT
        except UnicodeError:  # a character smpplib's GSM table lacks
            encoding, texts = segments.split(text, ucs2=True)
    if encoding == "UCS-2":
        encoded = [part.encode("utf-16-be") for part in texts]
        data_coding = smpplib.consts.SMPP_ENCODING_ISO10646
    if len(encoded) == 1:
        return encoded, data_coding, smpplib.consts.SMPP_MSGTYPE_DEFAULT
    reference = next(_references) % 256
    header = bytes([0x05, 0x00, 0x03, reference, len(encoded)])
    return (
        [header + bytes([index]) + part for index, part in enumerate(encoded, start=1)],
        data_coding,
        smpplib.consts.SMPP_GSMFEAT_UDHI,
    )


class SmppProvider:
    name = "smpp"
    can_lookup = False

    def __init__(self) -> None:
        self._client: smpplib.client.Client | None = None
        self._connect_lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._waiters: dict[int, _Waiter] = {}

    # -- connection --------------------------------------------------------------------

    def _connected(self) -> smpplib.client.Client:
        with self._connect_lock:
            if self._client is not None:
                return self._client
            client = smpplib.client.Client(
                settings.ONTRACK_SMPP_HOST,
                settings.ONTRACK_SMPP_PORT,
                timeout=settings.ONTRACK_SMPP_ENQUIRE_LINK_S,
                allow_unknown_opt_params=True,
            )
            original_send = client.send_pdu

            def send_pdu(pdu: Any) -> bool:
                with self._send_lock:  # the reader thread answers on the same socket
                    return bool(original_send(pdu))

            client.send_pdu = send_pdu
            client.set_message_sent_handler(self._submitted)
            client.set_message_received_handler(self._received)
            client.set_error_pdu_handler(self._error_pdu)
            try:
                client.connect()
                client.bind_transceiver(
                    system_id=settings.ONTRACK_SMPP_SYSTEM_ID,
                    password=settings.ONTRACK_SMPP_PASSWORD,
                )
            except (
                smpplib.exceptions.ConnectionError,
                smpplib.exceptions.PDUError,
                OSError,
            ) as exc:
                client.disconnect()
                raise ProviderError(f"SMPP bind failed: {exc}") from exc
            logger.info("smpp bound host=%s port=%s", client.host, client.port)
            self._client = client
            threading.Thread(
                target=self._read, args=(client,), name="smpp-reader", daemon=True
            ).start()
            return client

    def _read(self, client: smpplib.client.Client) -> None:
        try:
            while self._current(client):
                client.read_once()
        except (smpplib.exceptions.ConnectionError, OSError) as exc:
            logger.warning("smpp connection lost: %s", exc or "closed")
        except smpplib.exceptions.PDUError as exc:
            logger.warning("smpp error: %s", exc)
        finally:
            self._drop(client)
            close_old_connections()

    def _current(self, client: smpplib.client.Client) -> bool:
        return self._client is client

    def _drop(self, client: smpplib.client.Client) -> None:
        with self._connect_lock:
            if self._client is client:
                self._client = None
            for waiter in list(self._waiters.values()):
                waiter.broken = True
                waiter.done.set()
        try:
            client.disconnect()
        except Exception:  # already gone
            logger.debug("smpp disconnect after loss")

    # -- handlers (reader thread) --------------------------------------------------------

    def _submitted(self, pdu: Any) -> None:
        waiter = self._waiters.get(pdu.sequence)
        if waiter is not None:
            waiter.message_id = _text(pdu.message_id)
            waiter.status = int(pdu.status or 0)
            waiter.done.set()

    def _error_pdu(self, pdu: Any) -> None:
        if pdu.command == "submit_sm_resp":
            self._submitted(pdu)
            return
        logger.warning("smpp error pdu command=%s status=%s", pdu.command, pdu.status)

    def _received(self, pdu: Any, **kwargs: Any) -> int:
        """Answer a deliver_sm. If the database cannot take it now, answer with a temporary
        error so that the SMSC delivers it again later: the receipt or reply is not lost
        and the reader thread keeps running."""
        close_old_connections()
        try:
            self._store(pdu)
        except DatabaseError as exc:
            logger.warning("smpp deliver_sm not stored, SMSC asked to retry: %s", exc)
            close_old_connections()
            return int(smpplib.consts.SMPP_ESME_RX_T_APPN)
        return int(smpplib.consts.SMPP_ESME_ROK)

    def _store(self, pdu: Any) -> None:
        from ontrack.messaging.services.delivery_status import status_callback_apply
        from ontrack.messaging.services.received_texts import inbound_receive

        if getattr(pdu, "esm_class", 0) & ESM_DELIVERY_RECEIPT:
            match = RECEIPT.search(bytes(pdu.short_message or b""))
            message_id = _text(getattr(pdu, "receipted_message_id", None)) or (
                match.group("id").decode() if match else ""
            )
            state = match.group("stat").decode() if match else ""
            status = RECEIPT_STATES.get(state)
            if message_id and status:
                status_callback_apply(
                    provider=self.name,
                    provider_message_id=message_id,
                    status=status,
                    error_code=(match.group("err") or b"").decode()
                    if match and status != "delivered"
                    else "",
                    reason=f"SMSC receipt {state}",
                )
        else:
            coding = getattr(pdu, "data_coding", 0)
            raw = bytes(pdu.short_message or b"")
            body = (
                raw.decode("utf-16-be")
                if coding == smpplib.consts.SMPP_ENCODING_ISO10646
                else raw.decode("utf-8", "replace")
            )
            source = _text(pdu.source_addr)
            inbound_receive(
                provider=self.name,
                provider_message_id=f"mo-{uuid.uuid4().hex}",
                from_number=source if source.startswith("+") else f"+{source}",
                to_number=_text(pdu.destination_addr),
                body=body,
                received_at=timezone.now(),
            )

    # -- the interface ------------------------------------------------------------------

    def send(self, message: Outgoing) -> str | list[str]:
        """One ``submit_sm`` per part; a long text returns each part's message id, because
        the SMSC sends a delivery receipt per part."""
        client = self._connected()
        parts, encoding, esm_class = _pdu_parts(message.body)
        part_ids: list[str] = []
        for part in parts:
            waiter = _Waiter()
            pdu = smpplib.smpp.make_pdu(
                "submit_sm",
                client=client,
                source_addr_ton=_source_ton(settings.ONTRACK_SMPP_SOURCE),
                source_addr=settings.ONTRACK_SMPP_SOURCE,
                dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
                dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
                destination_addr=message.to.lstrip("+"),
                short_message=part,
                data_coding=encoding,
                esm_class=esm_class,
                registered_delivery=smpplib.consts.SMPP_SMSC_DELIVERY_RECEIPT_BOTH,
            )
            self._waiters[pdu.sequence] = waiter
            try:
                client.send_pdu(pdu)
                if not waiter.done.wait(RESPONSE_TIMEOUT_S):
                    raise ProviderError("SMSC did not answer submit_sm in time")
            except smpplib.exceptions.ConnectionError as exc:
                self._drop(client)
                raise ProviderError("SMPP connection lost while sending") from exc
            finally:
                self._waiters.pop(pdu.sequence, None)
            if waiter.broken:
                raise ProviderError("SMPP connection lost while sending")
            if waiter.status:
                raise ProviderError(
                    smpplib.consts.DESCRIPTIONS.get(waiter.status, "SMSC error"),
                    code=f"{waiter.status:#04x}",
                    permanent=waiter.status not in TRANSIENT_STATUSES,
                )
            part_ids.append(waiter.message_id)
        return part_ids[0] if len(part_ids) == 1 else part_ids

    def lookup(self, message: Outgoing) -> Lookup:
        return Lookup(accepted=None)

    def close(self) -> None:
        """Say unbind and hang up without waiting for the answer: the reader thread owns
        the receiving side and stops when the socket closes."""
        with self._connect_lock:
            client, self._client = self._client, None
        if client is None:
            return
        try:
            client.send_pdu(smpplib.smpp.make_pdu("unbind", client=client))
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError):
            logger.debug("smpp unbind not sent: link already gone")
        client.disconnect()
