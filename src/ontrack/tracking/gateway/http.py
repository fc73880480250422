"""The gateway's OsmAnd / Traccar Client HTTP server (port 5055).

A small HTTP/1.1 server: the apps send one GET or POST per position (or a JSON batch) with a
``Content-Length``, and read nothing but the status code. The HTTP/1.1 framing is ``h11``'s
(a maintained, strict parser: conflicting ``Content-Length`` headers, a space before a
header's colon or a malformed request line are refused with 400, ``Expect: 100-continue``
is answered, pipelined requests are read in turn); what the server adds is its own limits.
Anything too big is refused early: headers above 16 KiB (431), bodies above
``osmand.MAX_BODY_SIZE`` (413, judged from ``Content-Length`` before any of the body is
read or a ``100 Continue`` sent), a chunked body (411: the apps always send a length).
Keep-alive is honoured. Each request must arrive whole within ``handshake_timeout`` (a slow
client cannot hold the connection by trickling), and an idle keep-alive connection is
closed after the same time.

Answers follow ``osmand``: 200 once the records are durable, 400 for a request that does not
decode or names an unknown device in the query form, 404 for an unknown device in the JSON
form, 503 if the records could be neither stored nor spooled. Every refusal carries its
reason as one line of plain text (``missing_coordinates``, ``unknown device``...): the apps
read only the status, but a person testing a device with curl needs to know why. A request
the server cannot frame (a 4xx below 405) closes the connection after the answer, since
what follows it on the wire cannot be trusted to start a request.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from datetime import UTC, datetime
from urllib.parse import urlsplit

import h11

from ontrack.tracking.gateway.core import Hub
from ontrack.tracking.protocols import osmand
from ontrack.tracking.protocols.records import DecodeError, Record

logger = logging.getLogger("ontrack.gateway")

HEADER_LIMIT = 16 * 1024
READ_SIZE = 64 * 1024
_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}


class _Refuse(Exception):
    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason


@functools.lru_cache(maxsize=64)
def _head(status: int, length: int, *, close: bool) -> h11.Response:
    """An answer's head, built once: h11 validates every event it is given a new one of, which
    cost a third of a request's time, and its events are immutable, so one can be sent again."""
    headers = [("Content-Length", str(length)), ("Connection", "close" if close else "keep-alive")]
    if length:
        headers.insert(0, ("Content-Type", "text/plain; charset=utf-8"))
    return h11.Response(status_code=status, headers=headers, reason=_REASONS.get(status, ""))


_END = h11.EndOfMessage()


def _response(connection: h11.Connection, status: int, reason: str = "", *, close: bool) -> bytes:
    """The whole answer; ``reason`` (a refusal's why) becomes a plain-text body. h11 turns
    ``keep-alive`` into ``close`` when the request (``Connection: close``, HTTP/1.0) asked."""
    body = f"{reason}\n".encode() if reason else b""
    head = connection.send(_head(status, len(body), close=close))
    if body:
        head += connection.send(h11.Data(data=body))
    return head + connection.send(_END)


def _request_check(request: h11.Request) -> None:
    """Refuse a head above ``HEADER_LIMIT`` and a body the server will not read, before any
    of the body is read (or invited with ``100 Continue``). h11 bounds only what it buffers
    of an incomplete head, so a big head that arrives in one read is measured here: the
    request line and header lines as parsed (spaces around values aside)."""
    head = len(request.method) + len(request.target) + 12  # " ", " HTTP/1.1", CRLF
    head += sum(len(name) + len(value) + 4 for name, value in request.headers)  # ": ", CRLF
    if head > HEADER_LIMIT:
        raise _Refuse(431, "headers_too_large")
    for name, value in request.headers:
        if name == b"transfer-encoding":
            raise _Refuse(411, "chunked_body")
        # h11 has already refused a malformed or conflicting Content-Length.
        if name == b"content-length" and int(value) > osmand.MAX_BODY_SIZE:
            raise _Refuse(413, "body_too_large")


async def _next_event(
    connection: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> h11.Event | None:
    """h11's next event, reading from the socket as it needs; a client that waits for leave to
    send its body gets ``100 Continue`` when the server is ready for it. None stands for
    h11's ``PAUSED``, which a request read only after the last one's answer never meets."""
    while True:
        try:
            event = connection.next_event()
        except h11.RemoteProtocolError as error:
            if reader.at_eof():
                raise ConnectionResetError("client closed in the middle of a request") from error
            status = error.error_status_hint
            raise _Refuse(status, "headers_too_large" if status == 431 else str(error)) from error
        if event is not h11.NEED_DATA:
            return event if isinstance(event, h11.Event) else None
        if connection.they_are_waiting_for_100_continue:
            writer.write(
                connection.send(
                    h11.InformationalResponse(status_code=100, headers=[], reason="Continue")
                )
            )
            await writer.drain()
        connection.receive_data(await reader.read(READ_SIZE))


async def _read_request(
    connection: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> tuple[h11.Request, bytes] | None:
    """The next request and its body, or None once the client has closed between requests."""
    request = await _next_event(connection, reader, writer)
    if not isinstance(request, h11.Request):
        return None  # the client closed between requests
    _request_check(request)
    body = bytearray()
    while isinstance(event := await _next_event(connection, reader, writer), h11.Data):
        body += event.data
    if not isinstance(event, h11.EndOfMessage):
        return None
    return request, bytes(body)


async def handle_osmand(
    hub: Hub, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """One HTTP connection: requests in turn until the client closes or falls silent."""
    counters = hub.counters
    peer = writer.get_extra_info("peername")
    if not hub.connection_opened(peer):
        await counters.connection_closed(writer)
        return
    connection = h11.Connection(h11.SERVER, max_incomplete_event_size=HEADER_LIMIT)
    try:
        while True:
            try:
                received = await asyncio.wait_for(
                    _read_request(connection, reader, writer), hub.config.handshake_timeout
                )
            except _Refuse as refusal:
                counters.add("bad_frames")
                logger.info(
                    "bad request",
                    extra={"protocol": "osmand", "reason": refusal.reason, "peer": peer},
                )
                writer.write(_response(connection, refusal.status, refusal.reason, close=True))
                await writer.drain()
                return
            if received is None:
                return
            request, body = received
            status, reason = await _answer(hub, request, body, peer)
            writer.write(_response(connection, status, reason, close=False))
            await writer.drain()
            if connection.our_state is not h11.DONE or connection.their_state is not h11.DONE:
                return  # the request asked to close, or came over HTTP/1.0
            connection.start_next_cycle()
    except TimeoutError:
        counters.add("closed_timeout")
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    except Exception:
        counters.add("write_failures")
        logger.exception("osmand connection failed", extra={"peer": peer})
    finally:
        await counters.connection_closed(writer)


def _header(request: h11.Request, name: bytes) -> str:
    """A header's value (h11 gives names lower-cased), or ""."""
    return next((value.decode("latin-1") for key, value in request.headers if key == name), "")


async def _answer(hub: Hub, request: h11.Request, body: bytes, peer: object) -> tuple[int, str]:
    """The status and, for a refusal, its reason in plain words."""
    if request.method not in (b"GET", b"POST"):
        return 405, "only GET and POST"
    received_at = datetime.now(UTC)
    query = urlsplit(request.target.decode("latin-1")).query
    is_json = "json" in _header(request, b"content-type") or body.lstrip()[:1] == b"{"
    records: list[Record]
    try:
        if is_json:
            records = osmand.decode_json(body, received_at=received_at)
            device = hub.lookup(records[0].device_id, "osmand", peer)
            if device is None:
                return osmand.unknown_device_status("json"), "unknown device"
        else:
            params = osmand.parse_query(query)
            if body:
                params.update(osmand.parse_query(body))
            # Decoded before the device is looked up, so that a request that would be
            # refused anyway says why without telling whether the id is registered.
            records = osmand.decode_query(params, received_at=received_at)
            device = hub.lookup(records[0].device_id, "osmand", peer)
            if device is None:
                return osmand.unknown_device_status("query"), "unknown device"
    except DecodeError as error:
        hub.counters.bad_frame("osmand", error)
        return osmand.STATUS_BAD_REQUEST, str(error)
    hub.counters.add("frames")
    try:
        await hub.writer.submit([(device, record) for record in records])
    except Exception:
        return 503, "not stored; send again"
    return osmand.STATUS_OK, ""
