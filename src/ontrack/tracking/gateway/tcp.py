"""The gateway's binary TCP servers: GT06 and Teltonika.

GT06 (port 5023)
----------------
A connection must log in (0x01 with its IMEI) within ``handshake_timeout``. A registered
IMEI gets the login acknowledgement at once; an unknown IMEI gets none and the connection is
closed, which is what Traccar does: the unit keeps retrying its login on its own schedule and
is served as soon as someone registers it. Frames before a login close the connection (a
real unit always logs in first after connecting). Every frame that yields records (fixes or
events) and has an acknowledgement is acknowledged only once those records are durable: a
unit resends an unacknowledged alarm, and Concox units hold back or resend unacknowledged
positions. Frames without records, and time requests, are answered at once. When too much
is queued the gateway stops reading the socket (back-pressure) instead of growing without
bound. A frame whose length byte disagrees with it (several firmwares) is cut at its stop
bits by the splitter, decoded, counted (``length_mismatches``) and logged; a CRC mismatch is
counted (``crc_mismatches``) and never a reason to drop a frame unless ``strict_crc``. The
idle clock restarts on each complete frame, not each byte, so a client that trickles bytes
is closed after ``idle_timeout`` like a silent one; the reassembly buffer never exceeds
``max_frame_size``. An on-demand command goes out as a 0x80 frame whose server flag is the
command's id; the 0x15/0x21 answer echoes it.

Teltonika (port 5027)
---------------------
The IMEI handshake is answered ``0x01`` for a registered device and ``0x00`` (then close)
for anything else. Each AVL packet is acknowledged with its record count after its records
are durable. A packet whose CRC does not match is decoded anyway when it parses, counted
(``crc_mismatches``) and logged; with ``strict_crc`` it is answered with a count of zero so
the device sends it again, as is any packet that cannot be decoded. Records the decoder
drops as unusable (bad time, no position) are counted per reason
(``dropped_record_<reason>``) and logged, and still acknowledged: the unit would otherwise
resend them for ever. Text answers (codecs 12-15) are recorded as the answer to the
device's on-demand command (``getgps``, sent on this connection), not acknowledged. A
malformed header closes the connection. Every read has a deadline.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ontrack.tracking.gateway.core import Counters, Hub
from ontrack.tracking.protocols import gt06, teltonika
from ontrack.tracking.protocols.records import DecodeError
from ontrack.tracking.services.directory import DeviceInfo

logger = logging.getLogger("ontrack.gateway")

# How long a GT06 tail that ends in stop bits may wait for the rest its length byte claims
# before it is cut there (see ``gt06.split_frames``); units wait seconds for an ack.
QUIET_FLUSH_S = 0.5


class Gt06Connection(asyncio.Protocol):
    """One GT06 device connection (a Protocol, not streams: it is the hot path)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.device: DeviceInfo | None = None
        self.imei: str | None = None
        self.peer: Any = None
        self.last_frame = 0.0
        self.paused = False

    # --- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.peer = transport.get_extra_info("peername")
        self.last_frame = asyncio.get_running_loop().time()
        self.hub.live.add(self)
        if not self.hub.connection_opened(self.peer):
            transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.hub.live.discard(self)
        self.hub.counters.connections -= 1
        if self.device is not None and self.hub.sessions.get(self.device.id) == self.send_command:
            del self.hub.sessions[self.device.id]

    def data_received(self, data: bytes) -> None:
        self._consume(self.buffer + data if self.buffer else data, flush=False)

    def _flush_held(self, held: bytes) -> None:
        """The held tail ends in stop bits and nothing more came for ``QUIET_FLUSH_S``: a
        frame whose length byte claims more than its unit sends (a miscounted login waits
        for its acknowledgement), so it is cut at its stop bits now."""
        transport = self.transport
        if self.buffer is held and not self.paused and transport and not transport.is_closing():
            self._consume(held, flush=True)

    def _consume(self, buffer: bytes, *, flush: bool) -> None:
        frames, rest, skipped = gt06.split_frames(
            buffer, max_frame_size=self.hub.config.max_frame_size, flush=flush
        )
        self.buffer = rest
        if not flush and rest.endswith(gt06.STOP):
            asyncio.get_running_loop().call_later(QUIET_FLUSH_S, self._flush_held, rest)
        if skipped:
            self.hub.counters.add("bad_bytes", skipped)
        room = self.hub.writer._room
        for index, frame in enumerate(frames):
            self._frame(frame)
            if self.transport is None or self.transport.is_closing():
                return
            if self.paused and not room.is_set():
                # Back-pressure: keep the frames not yet decoded (they are whole, so they split
                # again unchanged) and read nothing more until the writer has room, so that a
                # socket's backlog cannot overshoot the writer's queue.
                self.buffer = b"".join(frames[index + 1 :]) + rest
                return

    # --- the reaper's view -------------------------------------------------------------

    def expired(self, now: float) -> bool:
        """Silent (or only trickling) for too long: before login, ``handshake_timeout``."""
        limit = self.hub.config.idle_timeout if self.device else self.hub.config.handshake_timeout
        return now - self.last_frame > limit

    def close(self, reason: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.hub.counters.add(f"closed_{reason}")
            self.transport.close()

    # --- frames ------------------------------------------------------------------------

    def _frame(self, frame: bytes) -> None:
        counters = self.hub.counters
        device = self.device = self.hub.current(self.device)
        try:
            result = gt06.decode(
                frame,
                imei=self.imei,
                time_offset_minutes=device.time_offset_minutes if device else 0,
                strict_crc=self.hub.config.strict_crc,
            )
        except DecodeError as error:
            counters.bad_frame("gt06", error, peer=self.peer, imei=self.imei)
            if error.reason == "not_logged_in":
                self.close("not_logged_in")
            return
        counters.add("frames")
        if result.crc_mismatch:
            counters.add("crc_mismatches")
        if result.length_mismatch:
            counters.add("length_mismatches")
            logger.info(
                "gt06 length byte disagrees with the frame; cut at its stop bits",
                extra={
                    "imei": self.imei,
                    "protocol": f"0x{result.protocol:02x}",
                    "size": len(frame),
                },
            )
        self.last_frame = asyncio.get_running_loop().time()
        if result.protocol == gt06.MSG_LOGIN:
            self._login(result)
            return
        assert device is not None
        if result.command_response is not None:
            self.hub.writer.record_answer(device.id, result.command_response, result.command_flag)
        if result.records:
            items = [(device, record) for record in result.records]
            writer = self.hub.writer
            if result.reply is None:
                writer.submit(items, wait=False)
            else:
                writer.submit_acked(items, self._send_when_durable, result.reply)
            if not self.paused and not writer._room.is_set():
                self._pause()
        elif result.reply is not None:
            self._send(result.reply)

    def _login(self, result: gt06.Gt06Result) -> None:
        assert result.imei is not None
        device = self.hub.lookup(result.imei, "gt06", self.peer)
        if device is None:
            self.close("unknown_device")
            return
        self.device = device
        self.imei = result.imei
        self.hub.sessions[device.id] = self.send_command  # the newest connection wins
        if result.reply is not None:
            self._send(result.reply)

    def send_command(self, command_id: int, text: str) -> None:
        """An online command (0x80); its id travels as the server flag, which the device
        echoes in its answer."""
        assert self.device is not None  # only logged-in connections are in ``hub.sessions``
        self._send(gt06.encode_command(text, command_id & 0xFFFF, command_id & 0xFFFFFFFF))
        self.hub.command_sent(self.device.id)

    def _send(self, reply: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(reply)

    def _send_when_durable(self, reply: bytes, error: BaseException | None) -> None:
        if error is not None:
            self.close("write_failed")  # no ack: the unit sends the frame again
            return
        self._send(reply)

    def _pause(self) -> None:
        assert self.transport is not None
        self.paused = True
        self.transport.pause_reading()
        self.hub.counters.add("backpressure_pauses")
        self.hub.writer.hold(self)

    def resume(self) -> None:
        """Called by the writer once it has room again (one call per held connection, no
        task per connection: with thousands of connections that is most of the cost)."""
        self.paused = False
        if self.transport is None or self.transport.is_closing():
            return
        if self.buffer:
            held, self.buffer = self.buffer, b""
            self.data_received(held)  # the frames held back when the queue was full
            if self.paused or self.transport.is_closing():
                return  # held again
        self.transport.resume_reading()


async def handle_teltonika(
    hub: Hub, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """One Teltonika connection: handshake, then packets acknowledged after durable."""
    config = hub.config
    counters = hub.counters
    peer = writer.get_extra_info("peername")
    if not hub.connection_opened(peer):
        await counters.connection_closed(writer)
        return
    imei: str | None = None
    device: DeviceInfo | None = None
    send_command: Any = None
    try:
        header = await asyncio.wait_for(reader.readexactly(2), config.handshake_timeout)
        teltonika.parse_handshake(header)  # raises at once on an impossible IMEI length
        body = await asyncio.wait_for(
            reader.readexactly(int.from_bytes(header, "big")), config.handshake_timeout
        )
        handshake = teltonika.parse_handshake(header + body)
        if handshake is None:
            raise DecodeError("bad_handshake")
        device = hub.lookup(handshake.imei, "teltonika", peer)
        if device is None:
            writer.write(teltonika.HANDSHAKE_REJECT)
            await writer.drain()
            return
        imei = handshake.imei
        writer.write(teltonika.HANDSHAKE_ACCEPT)
        await writer.drain()

        device_id = device.id

        def send_command(command_id: int, text: str) -> None:
            writer.write(teltonika.encode_codec12_command(text))
            hub.command_sent(device_id)

        hub.sessions[device_id] = send_command
        while True:
            head = await asyncio.wait_for(reader.readexactly(8), config.idle_timeout)
            total = teltonika.packet_length(head)
            assert total is not None
            rest = await asyncio.wait_for(reader.readexactly(total - 8), config.handshake_timeout)
            try:
                result = teltonika.decode_packet(
                    head + rest, imei=imei, strict_crc=config.strict_crc
                )
            except DecodeError as error:
                counters.bad_frame("teltonika", error, imei=imei)
                writer.write(b"\x00\x00\x00\x00")  # nothing accepted: the device resends
                await writer.drain()
                continue
            counters.add("frames")
            _count_teltonika_quirks(counters, result, imei)
            if result.command_response is not None:
                hub.writer.record_answer(device_id, result.command_response, None)
                continue
            if result.records:
                device = hub.current(device)
                assert device is not None
                future = hub.writer.submit([(device, record) for record in result.records])
                await future
            if result.reply is not None:
                writer.write(result.reply)
                await writer.drain()
    except DecodeError as error:
        counters.bad_frame("teltonika", error, peer=peer)
    except TimeoutError:
        counters.add("closed_timeout")
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    except Exception:
        counters.add("write_failures")
        logger.exception("teltonika connection failed", extra={"imei": imei})
    finally:
        if device is not None and hub.sessions.get(device.id) is send_command:
            del hub.sessions[device.id]
        await counters.connection_closed(writer)


def _count_teltonika_quirks(
    counters: Counters, result: teltonika.TeltonikaResult, imei: str
) -> None:
    """Count and log what the decoder tolerated: a CRC mismatch, records it dropped."""
    if result.crc_mismatch:
        counters.add("crc_mismatches")
        logger.info(
            "teltonika crc mismatch decoded",
            extra={"imei": imei, "codec": result.codec, "records": result.record_count},
        )
    for dropped in result.dropped:
        counters.add(f"dropped_record_{dropped.reason}")
        logger.info(
            "teltonika record dropped",
            extra={
                "imei": imei,
                "position": dropped.position,
                "reason": dropped.reason,
                "detail": dropped.detail,
            },
        )
