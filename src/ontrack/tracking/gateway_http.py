"""The gateway's OsmAnd / Traccar Client HTTP server (port 5055).

A deliberately small HTTP/1.1 server: the apps send one GET or POST per position (or a JSON
batch) with a ``Content-Length``, and read nothing but the status code. Anything else is
refused early: headers above 16 KiB (431), bodies above ``osmand.MAX_BODY_SIZE`` (413), a
body without ``Content-Length`` (411). Keep-alive is honoured. Each request must arrive
whole within ``handshake_timeout`` (a slow client cannot hold the connection by trickling),
and an idle keep-alive connection is closed after the same time.

Answers follow ``osmand``: 200 once the records are durable, 400 for a request that does not
decode or names an unknown device in the query form, 404 for an unknown device in the JSON
form, 503 if the records could be neither stored nor spooled. Every refusal carries its
reason as one line of plain text (``missing_coordinates``, ``unknown device``...): the apps
read only the status, but a person testing a device with curl needs to know why.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from urllib.parse import urlsplit

from ontrack.tracking.gateway_core import Hub
from ontrack.tracking.protocols import osmand
from ontrack.tracking.protocols.records import DecodeError, Record

logger = logging.getLogger("ontrack.gateway")

HEADER_LIMIT = 16 * 1024
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


def _response(status: int, *, keep_alive: bool, reason: str = "") -> bytes:
    """The whole answer; ``reason`` (a refusal's why) becomes a plain-text body."""
    body = f"{reason}\n".encode() if reason else b""
    kind = "Content-Type: text/plain; charset=utf-8\r\n" if body else ""
    return (
        f"HTTP/1.1 {status} {_REASONS[status]}\r\n{kind}Content-Length: {len(body)}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    ).encode() + body


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str], bytes]:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError as error:
        raise _Refuse(431, "headers_too_large") from error
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
    except ValueError as error:
        raise _Refuse(400, "bad_request_line") from error
    if not version.startswith("HTTP/1."):
        raise _Refuse(400, "bad_version")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if version == "HTTP/1.0" and headers.get("connection", "").lower() != "keep-alive":
        headers.setdefault("connection", "close")
    body = b""
    if "transfer-encoding" in headers:
        raise _Refuse(411, "chunked_body")
    if "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError as error:
            raise _Refuse(400, "bad_content_length") from error
        if not 0 <= length <= osmand.MAX_BODY_SIZE:
            raise _Refuse(413, "body_too_large")
        body = await reader.readexactly(length)
    return method, target, headers, body


async def handle_osmand(
    hub: Hub, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """One HTTP connection: requests in turn until the client closes or falls silent."""
    counters = hub.counters
    peer = writer.get_extra_info("peername")
    counters.connections += 1
    counters.add("connections_opened")
    if not hub.peer_allowed(peer):
        await counters.connection_closed(writer)
        return
    try:
        while True:
            try:
                method, target, headers, body = await asyncio.wait_for(
                    _read_request(reader), hub.config.handshake_timeout
                )
            except _Refuse as refusal:
                counters.add("bad_frames")
                logger.info(
                    "bad request",
                    extra={"protocol": "osmand", "reason": refusal.reason, "peer": peer},
                )
                writer.write(_response(refusal.status, keep_alive=False, reason=refusal.reason))
                await writer.drain()
                return
            keep_alive = headers.get("connection", "").lower() != "close"
            status, reason = await _answer(hub, method, target, headers, body, peer)
            writer.write(_response(status, keep_alive=keep_alive, reason=reason))
            await writer.drain()
            if not keep_alive:
                return
    except TimeoutError:
        counters.add("closed_timeout")
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    except Exception:
        counters.add("write_failures")
        logger.exception("osmand connection failed", extra={"peer": peer})
    finally:
        await counters.connection_closed(writer)


async def _answer(
    hub: Hub, method: str, target: str, headers: dict[str, str], body: bytes, peer: object
) -> tuple[int, str]:
    """The status and, for a refusal, its reason in plain words."""
    if method not in ("GET", "POST"):
        return 405, "only GET and POST"
    received_at = datetime.now(UTC)
    query = urlsplit(target).query
    is_json = "json" in headers.get("content-type", "") or body.lstrip()[:1] == b"{"
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
    future = hub.writer.submit([(device, record) for record in records])
    assert future is not None
    try:
        await future
    except Exception:
        return 503, "not stored; send again"
    return osmand.STATUS_OK, ""
