"""The gateway's server for text-framed protocols: H02 (port 5013), Watch (5093), TK103
(5001), Queclink @Track (5004), Meitrack (5020) and Suntech (5011).

None of them needs a login to know its device (a TK103 login names the IMEI like any other
frame): every frame names its device. The first frame of a connection
therefore decides whose connection it is: an unknown id, or one registered for another
protocol, closes the connection (the unit retries on its own schedule and is served once
someone registers it); a later frame naming another device closes it too, so that one
registered id cannot carry positions for others. Frames are decoded with the device's clock
offset; records are handed to the writer and, when the protocol wants an answer that
confirms them (a Watch alarm, an H02 position), the answer goes out once they are durable.
Keep-alives (Watch ``LK``, TK103 login and heartbeat, Queclink ``GTHBD``) are answered at
once: a watch that waits reboots, a Queclink unit reconnects. Records
without an answer are still awaited before the next frame is read, so that a connection
cannot queue without bound (back-pressure, as for Teltonika).

The connection must send a whole frame within ``handshake_timeout`` of opening, then one
at least every ``idle_timeout``: the clock restarts on complete frames, not bytes, so a
client that trickles bytes is closed like a silent one. The reassembly buffer never exceeds
the protocol's ``max_frame_size``.

An on-demand command (Watch ``CR``, TK103 ``B``, Queclink ``AT+GTRTO`` ``RTL``, Meitrack
``A10``, Suntech ``StatusReq``) goes out on the live connection framed like the device's own
frames; a watch or a Queclink unit acknowledges it (``CR``, ``+ACK:GTRTO``: recorded as the
answer), and the position that follows answers the command with a fix. A frame whose
checksum does not match (Meitrack) is decoded all the same and counted as a
``crc_mismatches``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from ontrack.tracking.gateway.core import Hub
from ontrack.tracking.protocols import h02, meitrack, queclink, suntech, tk103, watch
from ontrack.tracking.protocols.records import DecodeError
from ontrack.tracking.protocols.textframe import FrameResult, SplitResult
from ontrack.tracking.services.directory import DeviceInfo

logger = logging.getLogger("ontrack.gateway")

_READ_SIZE = 4096


@dataclass(frozen=True, slots=True)
class TextProtocol:
    """What the server needs from a text protocol's decoder module.

    ``encode_command`` is ``None`` for a protocol with no on-demand command.
    """

    name: str
    max_frame_size: int
    split: Callable[..., SplitResult]
    identifier: Callable[[bytes], str]
    decode: Callable[..., FrameResult]
    encode_command: Callable[[tuple[str, ...], str, str], bytes] | None = None

    @classmethod
    def of(cls, name: str, module: ModuleType) -> TextProtocol:
        """The protocol served from a decoder module's own names (every text decoder module
        has the same ones; ``encode_command`` only where the protocol has a command)."""
        return cls(
            name=name,
            max_frame_size=module.MAX_FRAME_SIZE,
            split=module.split_frames,
            identifier=module.identifier,
            decode=module.decode,
            encode_command=getattr(module, "encode_command", None),
        )


H02 = TextProtocol.of("h02", h02)
WATCH = TextProtocol.of("watch", watch)
TK103 = TextProtocol.of("tk103", tk103)
QUECLINK = TextProtocol.of("queclink", queclink)
MEITRACK = TextProtocol.of("meitrack", meitrack)
SUNTECH = TextProtocol.of("suntech", suntech)


class _Closed(Exception):
    """The connection is to be closed; ``reason`` is counted as ``closed_<reason>``."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


async def handle_text(
    protocol: TextProtocol, hub: Hub, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """One text-protocol connection (see the module doc)."""
    counters = hub.counters
    peer = writer.get_extra_info("peername")
    if not hub.connection_opened(peer):
        await counters.connection_closed(writer)
        return
    session = _Session(protocol, hub, writer, peer)
    loop = asyncio.get_running_loop()
    buffer = b""
    last_frame = loop.time()
    try:
        while True:
            limit = hub.config.idle_timeout if session.device else hub.config.handshake_timeout
            remaining = last_frame + limit - loop.time()
            if remaining <= 0:
                raise TimeoutError
            data = await asyncio.wait_for(reader.read(_READ_SIZE), remaining)
            if not data:
                return
            frames, buffer, skipped = protocol.split(
                buffer + data, max_frame_size=protocol.max_frame_size
            )
            if skipped:
                counters.add("bad_bytes", skipped)
            for frame in frames:
                if await session.frame(frame):
                    last_frame = loop.time()
    except _Closed as closed:
        counters.add(f"closed_{closed.reason}")
    except TimeoutError:
        counters.add("closed_timeout")
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    except Exception:
        counters.add("write_failures")
        logger.exception(f"{protocol.name} connection failed", extra={"peer": peer})
    finally:
        session.end()
        await counters.connection_closed(writer)


class _Session:
    """Who is on a connection, and what its frames make of them."""

    def __init__(
        self, protocol: TextProtocol, hub: Hub, writer: asyncio.StreamWriter, peer: Any
    ) -> None:
        self.protocol = protocol
        self.hub = hub
        self.writer = writer
        self.peer = peer
        self.device: DeviceInfo | None = None
        self.header: tuple[str, ...] = ()

    async def frame(self, frame: bytes) -> bool:
        """Handle one frame; True if it decoded (and so restarts the idle clock)."""
        counters = self.hub.counters
        name = self.protocol.name
        try:
            identifier = self.protocol.identifier(frame)
        except DecodeError as error:
            counters.bad_frame(name, error, peer=self.peer)
            return False
        device = self._device(identifier)
        try:
            result = self.protocol.decode(frame, time_offset_minutes=device.time_offset_minutes)
        except DecodeError as error:
            counters.bad_frame(name, error, peer=self.peer, identifier=identifier)
            return False
        counters.add("frames")
        if result.crc_mismatch:
            counters.add("crc_mismatches")  # decoded all the same, as for GT06
        if result.header:
            self.header = result.header
        if result.command_response is not None:
            self.hub.writer.record_answer(device.id, result.command_response, None)
        if result.reply is not None and not result.reply_when_durable:
            self.writer.write(result.reply)
        if result.records:
            current = self.hub.current(device) or device
            future = self.hub.writer.submit([(current, record) for record in result.records])
            try:
                await future
            except Exception as error:
                raise _Closed("write_failed") from error  # no answer: the unit resends
        if result.reply is not None and result.reply_when_durable:
            self.writer.write(result.reply)
        await self.writer.drain()
        return True

    def _device(self, identifier: str) -> DeviceInfo:
        if self.device is not None:
            if identifier != self.device.identifier:
                logger.warning(
                    "device id changed on a connection",
                    extra={"protocol": self.protocol.name, "was": self.device.identifier,
                           "now": identifier[:64], "peer": self.peer},
                )  # fmt: skip
                raise _Closed("identifier_changed")
            return self.hub.current(self.device) or self.device
        device = self.hub.lookup(identifier, self.protocol.name, self.peer)
        if device is None:
            raise _Closed("unknown_device")
        self.device = device
        if self.protocol.encode_command is not None:
            self.hub.sessions[device.id] = self.send_command  # the newest connection wins
        return device

    def send_command(self, command_id: int, text: str) -> None:
        """An on-demand command, framed like the device's last frame (vendor code, index)."""
        assert self.device is not None
        assert self.protocol.encode_command is not None
        self.writer.write(self.protocol.encode_command(self.header, self.device.identifier, text))
        self.hub.command_sent(self.device.id)

    def end(self) -> None:
        if self.device is not None and self.hub.sessions.get(self.device.id) == self.send_command:
            del self.hub.sessions[self.device.id]
