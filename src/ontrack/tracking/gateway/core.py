"""What every protocol server of the gateway shares: settings, counters, the device
directory and the single batching writer.

One writer for all connections
------------------------------
Connections hand decoded records to ``Writer.submit`` and get a future back. The writer
collects frames from every connection for up to ``batch_delay`` seconds (or ``batch_size``
records), stores them with one ``tracking.services.ingest.store_batch`` call in its own database
thread, and resolves the futures once that batch is committed: a connection sends its
acknowledgement (the Teltonika record count, the HTTP 200, the MQTT PUBACK) once the data
is durable, while the zone and alert rules still run on the batch in the database thread.
When the database raises ``DatabaseError`` the batch is appended to the local spool and fsynced
instead, and the futures resolve as well: spooled is durable. While the spool holds
anything, new batches go to the spool too, so that replay keeps the devices' order; the
writer retries the database every ``retry_interval`` seconds and replays the spool, oldest
first, before it writes directly again.

All database work (batches, spool replay, directory refresh) runs in one thread, so the
gateway holds one database connection, the event loop never blocks on I/O, and SQLite sees
one writer per gateway process.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import ipaddress
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, overload

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection

from ontrack.tracking.filters import invalid_reason
from ontrack.tracking.gateway.spool import Spool, read_segment
from ontrack.tracking.protocols import (
    gt06,
    h02,
    meitrack,
    osmand,
    queclink,
    suntech,
    teltonika,
    tk103,
    watch,
)
from ontrack.tracking.protocols.records import DecodeError, Fix, Record
from ontrack.tracking.services.commands import command_answer, command_fix_record
from ontrack.tracking.services.directory import DeviceInfo, device_directory, directory_version
from ontrack.tracking.services.ingest import store_batch

logger = logging.getLogger("ontrack.gateway")


def _setting(name: str, default: Any) -> Any:
    """``ONTRACK_GATEWAY_<NAME>`` from the environment (read as the default's type; ``off``
    turns a port or the MQTT host off), else from Django settings, else the default."""
    raw = os.environ.get(f"ONTRACK_GATEWAY_{name}")
    if raw is None:
        return getattr(settings, f"ONTRACK_GATEWAY_{name}", default)
    raw = raw.strip()
    if raw.lower() in {"off", "none"} and (name.endswith("_PORT") or name == "MQTT_HOST"):
        return None
    if isinstance(default, bool):
        return raw.lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int) or name.endswith("_PORT"):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw


@dataclass(slots=True)
class GatewayConfig:
    """Every knob of the gateway. ``from_settings`` reads ``ONTRACK_GATEWAY_*`` settings;
    the CLI overrides them with flags. A port of ``None`` turns that server off."""

    host: str = "0.0.0.0"
    gt06_port: int | None = gt06.DEFAULT_PORT
    teltonika_port: int | None = teltonika.DEFAULT_PORT
    osmand_port: int | None = osmand.DEFAULT_PORT
    h02_port: int | None = h02.DEFAULT_PORT
    watch_port: int | None = watch.DEFAULT_PORT
    tk103_port: int | None = tk103.DEFAULT_PORT
    queclink_port: int | None = queclink.DEFAULT_PORT
    meitrack_port: int | None = meitrack.DEFAULT_PORT
    suntech_port: int | None = suntech.DEFAULT_PORT
    mqtt_host: str | None = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_client_id: str = "ontrack-gateway"
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    idle_timeout: float = 600.0  # a GT06 heartbeats every 3-5 min; 10 min without a byte
    handshake_timeout: float = 30.0  # to log in / send the IMEI / send HTTP headers
    max_frame_size: int = gt06.MAX_FRAME_SIZE
    batch_size: int = 5_000
    batch_delay: float = 0.1
    max_pending: int = 20_000  # records queued before connections stop being read
    retry_interval: float = 2.0
    db_timeout: float = 5.0  # SQLite busy timeout: longer than this and the batch spools
    directory_refresh: float = 60.0
    directory_poll: float = 2.0  # seconds between checks for fitted or taken-back devices
    # Comma-separated networks devices may connect from (e.g. a carrier's private APN range,
    # "10.64.0.0/10"); empty: any. Others are closed at once and counted.
    allowed_networks: str = ""
    stats_interval: float = 60.0
    strict_crc: bool = False
    command_poll: float = 1.0  # seconds between looks for queued on-demand commands
    workers: int = 1  # gateway processes sharing the ports (SO_REUSEPORT), one per core
    reuse_port: bool = False  # set for each worker when ``workers`` > 1
    worker: int | None = None  # this process's index among ``workers`` (None: the only one)
    spool_dir: Path = field(default_factory=lambda: Path("spool"))

    @classmethod
    def from_settings(cls) -> GatewayConfig:
        home = Path(getattr(settings, "ONTRACK_HOME", "."))
        defaults = cls()
        values: dict[str, Any] = {}
        for item in dataclasses.fields(cls):
            if item.name in ("spool_dir", "reuse_port", "worker"):
                continue
            values[item.name] = _setting(item.name.upper(), getattr(defaults, item.name))
        values["spool_dir"] = Path(_setting("SPOOL_DIR", home / "spool"))
        return cls(**values)


class Counters:
    """Monotonic counters for the stats line; touched only from the event loop thread."""

    def __init__(self) -> None:
        self.values: Counter[str] = Counter()
        self.connections = 0
        self.started = time.monotonic()

    def add(self, name: str, amount: int = 1) -> None:
        self.values[name] += amount

    def __getitem__(self, name: str) -> int:
        return self.values[name]

    def bad_frame(self, protocol: str, error: DecodeError, **context: object) -> None:
        """Count and log a frame a decoder refused (CRC mismatches also on their own)."""
        self.add("bad_frames")
        if error.reason == "crc_mismatch":
            self.add("crc_mismatches")
        logger.info("bad frame", extra={"protocol": protocol, "reason": error.reason, **context})

    async def connection_closed(self, writer: asyncio.StreamWriter) -> None:
        self.connections -= 1
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


class Directory:
    """Registered devices by identifier, refreshed from the database in the writer's thread.

    The last good copy is kept in the spool folder, so a gateway that starts while the
    database is down still knows its devices and can spool their positions.
    """

    def __init__(self, cache_file: Path) -> None:
        self.cache_file = cache_file
        self.devices: dict[str, DeviceInfo] = {}
        self.loaded_at = 0.0
        self.refresh_wanted = False
        self.version = -1
        self.checked_at = 0.0

    def get(self, identifier: str) -> DeviceInfo | None:
        device = self.devices.get(identifier)
        if device is None:
            self.refresh_wanted = True
        return device

    def reload_if_changed(self) -> None:
        """Reload when a device was registered, fitted or taken back since the last load
        (one indexed row read; runs in the database thread)."""
        self.checked_at = time.monotonic()
        try:
            version = directory_version()
        except DatabaseError:
            connection.close()
            return
        if version != self.version:
            self.load()

    def load(self) -> None:
        """Read the database (runs in the database thread); fall back to the cached copy."""
        try:
            version = directory_version()
            devices = device_directory()
        except DatabaseError as error:
            connection.close()
            if not self.devices and self.cache_file.exists():
                rows = json.loads(self.cache_file.read_text())
                self.devices = {row["identifier"]: DeviceInfo(**row) for row in rows}
                logger.warning(
                    "device directory from cache",
                    extra={"devices": len(self.devices), "error": str(error)[:200]},
                )
            self.loaded_at = time.monotonic()
            return
        self.devices = devices
        self.version = version
        self.loaded_at = self.checked_at = time.monotonic()
        self.refresh_wanted = False
        temporary = self.cache_file.with_suffix(".tmp")
        temporary.write_text(json.dumps([dataclasses.asdict(d) for d in devices.values()]))
        temporary.replace(self.cache_file)


# Called once a frame's records are durable (error None) or could not be stored.
OnDurable = Callable[[Any, BaseException | None], None]


@dataclass(slots=True)
class _Frame:
    items: list[tuple[DeviceInfo, Record]]
    future: asyncio.Future[None] | None
    received: float
    on_durable: OnDurable | None = None
    token: Any = None  # what ``on_durable`` is given back (the frame's acknowledgement)
    settled: bool = False

    def settle(self, error: BaseException | None) -> None:
        """Tell the connection its records are durable (error None) or failed; once."""
        if self.settled:
            return
        self.settled = True
        if self.on_durable is not None:
            try:
                self.on_durable(self.token, error)
            except Exception:
                logger.exception("acknowledging a frame failed")
        elif self.future is not None and not self.future.done():
            if error is None:
                self.future.set_result(None)
            else:
                self.future.set_exception(error)


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning("command answer not recorded", extra={"error": str(task.exception())})


def _device_from_dict(data: dict[str, Any]) -> DeviceInfo:
    return DeviceInfo(**data)


class Writer:
    """Batches records from every connection and makes them durable (see module doc)."""

    def __init__(self, config: GatewayConfig, counters: Counters, directory: Directory) -> None:
        self.config = config
        self.counters = counters
        self.directory = directory
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ontrack-db")
        self.spool = Spool(config.spool_dir)
        self._frames: list[_Frame] = []
        self._pending = 0
        self._wakeup = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._held: list[Any] = []  # connections paused until the queue has room
        self._next_retry = 0.0
        self._spooling = self.spool.has_data()
        self._stopping = False
        # Devices sent an on-demand command, with the (monotonic) time it went out: the first
        # fix stored from them after that answers it with a position.
        self.awaiting: dict[int, float] = {}
        self.torn_records = 0  # torn stretches skipped in the spool (written by the db thread)
        self.delays: list[float] = []  # seconds from receipt to durable, since the last stats
        # When a batch last reached the database (live or replayed from the spool), for the
        # heartbeat: a gateway that accepts frames but stores nothing shows here.
        self.last_stored_at: datetime | None = None

    async def in_db_thread(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    @overload
    def submit(
        self, items: list[tuple[DeviceInfo, Record]], *, wait: Literal[True] = True
    ) -> asyncio.Future[None]: ...

    @overload
    def submit(self, items: list[tuple[DeviceInfo, Record]], *, wait: Literal[False]) -> None: ...

    def submit(
        self, items: list[tuple[DeviceInfo, Record]], *, wait: bool = True
    ) -> asyncio.Future[None] | None:
        """Queue one frame's records; the future resolves once they are durable."""
        future = asyncio.get_running_loop().create_future() if wait else None
        self._queue(_Frame(items, future, time.monotonic()))
        return future

    def submit_acked(
        self, items: list[tuple[DeviceInfo, Record]], on_durable: OnDurable, token: Any
    ) -> None:
        """Queue one frame's records; ``on_durable(token, error)`` is called by the writer
        once they are durable (error None) or failed. The hot path of the connections that
        acknowledge each frame: no future, and no callback scheduled on the loop, per frame
        (4-10 % of a GT06 gateway's CPU per position, bench/RESULTS.md)."""
        self._queue(_Frame(items, None, time.monotonic(), on_durable, token))

    def _queue(self, frame: _Frame) -> None:
        self._frames.append(frame)
        self._pending += len(frame.items)
        if self._pending >= self.config.batch_size or len(self._frames) == 1:
            self._wakeup.set()
        if self._pending >= self.config.max_pending:
            self._room.clear()

    async def room(self) -> None:
        """Wait while too much is queued (back-pressure for frames that get no ack)."""
        await self._room.wait()

    def hold(self, connection: Any) -> None:
        """Pause-side of back-pressure for Protocol connections: ``connection.resume()`` is
        called once the queue has drained below half of ``max_pending`` (hysteresis, so that
        thousands of connections are not paused and resumed for every batch)."""
        self._held.append(connection)

    def _resume_held(self) -> None:
        """Resume the held connections in turn until their held frames fill the queue
        again; the others stay held, first in line for the next turn, ahead of those paused
        again in this one.

        Resuming every one of them regardless cost an overloaded gateway most of its CPU
        and kept its backlog in memory (``bench/soak.py``): past the first few, each split its
        whole held buffer, decoded one frame and was paused again."""
        held, self._held = self._held, []
        for index, waiting in enumerate(held):
            if not self._room.is_set():
                self._held[:0] = held[index:]
                return
            waiting.resume()

    @property
    def spooling(self) -> bool:
        return self._spooling

    async def run(self) -> None:
        """The writer loop: replay what the spool holds, then batch, store, acknowledge."""
        loop = asyncio.get_running_loop()
        await self.in_db_thread(self._prepare_connection)
        while True:
            if self._spooling and loop.time() >= self._next_retry:
                self._spooling = not await self.in_db_thread(self._replay)
                if self._spooling:
                    self._next_retry = loop.time() + self.config.retry_interval
            if (
                self.directory.refresh_wanted and time.monotonic() - self.directory.loaded_at > 5
            ) or time.monotonic() - self.directory.loaded_at > self.config.directory_refresh:
                await self.in_db_thread(self._prepared, self.directory.load)
            elif time.monotonic() - self.directory.checked_at > self.config.directory_poll:
                await self.in_db_thread(self._prepared, self.directory.reload_if_changed)
            if not self._frames:
                if self._stopping:
                    return
                self._wakeup.clear()
                try:
                    await asyncio.wait_for(self._wakeup.wait(), timeout=1.0)
                except TimeoutError:
                    continue
                if self._pending < self.config.batch_size:
                    await asyncio.sleep(self.config.batch_delay)
            await self._flush()

    async def stop(self) -> None:
        """Let the loop write what is queued, then return."""
        self._stopping = True
        self._wakeup.set()

    async def _flush(self) -> None:
        count = 0
        take = 0
        while take < len(self._frames) and count < self.config.batch_size:
            count += len(self._frames[take].items)
            take += 1
        frames, self._frames = self._frames[:take], self._frames[take:]
        self._pending -= count
        if not self._room.is_set() and self._pending <= self.config.max_pending // 2:
            self._room.set()
            self._resume_held()
        items = [item for frame in frames for item in frame.items]
        received_at = datetime.now(UTC)
        loop = asyncio.get_running_loop()

        def committed() -> None:  # in the database thread, before the zone and alert rules
            loop.call_soon_threadsafe(self._acknowledge, frames)

        try:
            outcome = await self.in_db_thread(self._store_or_spool, items, received_at, committed)
        except Exception as error:
            logger.exception("batch neither stored nor spooled", extra={"items": len(items)})
            self.counters.add("write_failures")
            for frame in frames:
                frame.settle(error)
            return
        kind, stored_fixes, stored_events, counts = outcome
        if kind == "spooled":
            self.counters.add("spooled", len(items))
            if not self._spooling:
                self._spooling = True
                self._next_retry = asyncio.get_running_loop().time() + self.config.retry_interval
        else:
            self.last_stored_at = datetime.now(UTC)
            self.counters.add("stored_fixes", stored_fixes)
            self.counters.add("stored_events", stored_events)
            for name, amount in counts.items():
                self.counters.add(name, amount)
        self._acknowledge(frames)  # spooled, or stored by an atomic block's commit
        if self.awaiting and kind == "stored":
            await self._answer_with_fixes(frames)

    def _acknowledge(self, frames: list[_Frame]) -> None:
        """The frames' records are durable: note their delay from receipt and settle those
        not settled yet."""
        now = time.monotonic()
        waiting = [frame for frame in frames if not frame.settled]
        if len(self.delays) < 200_000:
            self.delays.extend(now - frame.received for frame in waiting)
        for frame in waiting:
            frame.settle(None)

    async def _answer_with_fixes(self, frames: list[_Frame]) -> None:
        """Record the newest stored valid fix of each device that was sent a command before
        the fix arrived (a fix queued before the command went out does not answer it, nor
        does a report without a position: the command waits for one)."""
        answers: dict[int, Fix] = {}
        for frame in frames:
            for device, record in frame.items:
                sent = self.awaiting.get(device.id)
                if sent is None or frame.received < sent or not isinstance(record, Fix):
                    continue
                if invalid_reason(record):
                    continue
                current = answers.get(device.id)
                if current is None or record.time > current.time:
                    answers[device.id] = record
        at = datetime.now(UTC)
        for device_id, fix in answers.items():
            del self.awaiting[device_id]
            try:
                await self.query(
                    functools.partial(command_fix_record, device_id=device_id, fix=fix, at=at)
                )
            except DatabaseError:
                logger.warning("command answer not recorded", extra={"device": device_id})

    def record_answer(self, device_id: int, text: str, command_id: int | None) -> None:
        """A device's text answer to a command (recorded in the database thread)."""
        logger.info("command response", extra={"device": device_id, "response": text[:200]})
        call = functools.partial(
            command_answer,
            device_id=device_id,
            response=text,
            at=datetime.now(UTC),
            command_id=command_id or None,
        )
        task = asyncio.ensure_future(self.query(call))
        task.add_done_callback(_log_failure)

    async def query(self, function: Callable[[], Any]) -> Any:
        """Run other database work (command polling, answers) in the database thread, on a
        connection prepared like the writer's own (short lock wait on SQLite)."""
        return await self.in_db_thread(self._on_connection, function)

    # --- database thread -------------------------------------------------------------

    def _on_connection(self, function: Callable[[], Any]) -> Any:
        try:
            if connection.connection is None:
                self._prepare_connection()
            return function()
        except DatabaseError:
            connection.close()
            raise

    def _prepared(self, work: Callable[[], None]) -> None:
        """Run ``work`` on a connection with the short lock wait: a connection Django opened
        on its own would wait its default 30 s for a locked database."""
        if connection.connection is None:
            self._prepare_connection()
        work()

    def _prepare_connection(self) -> None:
        """On SQLite, wait at most ``db_timeout`` for the write lock: a database locked for
        longer counts as away, and the batch is spooled rather than holding every ack."""
        try:
            connection.ensure_connection()
            if connection.vendor == "sqlite":
                with connection.cursor() as cursor:
                    cursor.execute(f"PRAGMA busy_timeout = {int(self.config.db_timeout * 1000)}")
        except DatabaseError:
            connection.close()

    def _store_or_spool(
        self,
        items: Sequence[tuple[DeviceInfo, Record]],
        received_at: datetime,
        on_durable: Callable[[], None] | None = None,
    ) -> tuple[str, int, int, dict[str, int]]:
        """("stored" or "spooled", fixes stored, events stored, counter name -> amount for
        the fixes dropped and the invalid ones stored). ``on_durable`` is called once the
        batch is committed, before its zone and alert rules run (``store_batch``)."""
        if not self._spooling:
            try:
                if connection.connection is None:
                    self._prepare_connection()
                result = store_batch(items, received_at=received_at, on_durable=on_durable)
            except DatabaseError as error:
                logger.warning(
                    "database unavailable, spooling",
                    extra={"items": len(items), "error": str(error)[:200]},
                )
                connection.close()
            else:
                counts = {f"dropped_{reason}": n for reason, n in result.dropped.items()}
                counts |= {f"invalid_{reason}": n for reason, n in result.invalid.items()}
                return "stored", result.stored_fixes, result.stored_events, counts
        self.spool.append(
            [(dataclasses.asdict(device), record) for device, record in items],
            received_at=received_at,
        )
        return "spooled", 0, 0, {}

    def _replay(self) -> bool:
        """Store every spooled batch, oldest first; True once the spool is empty."""
        self.spool.seal()
        for path in self.spool.sealed_segments():
            segment = read_segment(path)
            if segment.torn:
                self.torn_records += segment.torn_stretches
                logger.warning(
                    "spool segment has torn stretches; skipped them",
                    extra={"file": path.name, "torn": segment.torn_stretches},
                )
            for batch in segment.batches:
                items = [(_device_from_dict(device), record) for device, record in batch.items]
                try:
                    if connection.connection is None:
                        self._prepare_connection()
                    store_batch(items, received_at=batch.received_at)
                    self.last_stored_at = datetime.now(UTC)
                except (OperationalError, InterfaceError) as error:
                    connection.close()
                    logger.info("database still unavailable", extra={"error": str(error)[:200]})
                    return False
                except DatabaseError:
                    # Not an outage: this batch can never be stored. Keep it aside for a
                    # person to look at instead of blocking every batch behind it.
                    logger.exception("spooled batch rejected", extra={"items": len(items)})
                    rejected = self.config.spool_dir / "rejected"
                    Spool(rejected).append(
                        [(dataclasses.asdict(d), r) for d, r in items],
                        received_at=batch.received_at,
                    )
            # A crash from here until the segment is removed replays it again: at least once.
            self.spool.remove(path)
            logger.info(
                "spool replayed",
                extra={"file": path.name, "batches": len(segment.batches), "torn": segment.torn},
            )
        return True


@dataclass(eq=False)
class Hub:
    """What a protocol server needs: settings, counters, directory, writer, and the open
    connections the idle reaper watches."""

    config: GatewayConfig
    counters: Counters
    directory: Directory
    writer: Writer
    live: set[Any] = field(default_factory=set)
    # Device id -> how to send a command on its live connection (GT06, Teltonika, Watch,
    # TK103, Queclink, Meitrack, Suntech).
    sessions: dict[int, Callable[[int, str], None]] = field(default_factory=dict)

    def command_sent(self, device_id: int) -> None:
        """Note that ``device_id`` was just sent a command: its next fix answers it."""
        self.writer.awaiting[device_id] = time.monotonic()

    def connection_opened(self, peer: object) -> bool:
        """Count a new connection from ``peer``; whether it may speak to the gateway (the
        server closes it at once if not)."""
        self.counters.connections += 1
        self.counters.add("connections_opened")
        return self.peer_allowed(peer)

    def peer_allowed(self, peer: object) -> bool:
        """Whether a connection from ``peer`` (an (address, port, ...) tuple) may speak to
        the gateway under ``allowed_networks``; refused ones are counted and logged."""
        networks = self._networks
        if not networks:
            return True
        try:
            address = ipaddress.ip_address(peer[0])  # type: ignore[index]
        except (TypeError, ValueError, IndexError):
            address = None
        if address is not None and any(address in network for network in networks):
            return True
        self.counters.add("refused_networks")
        logger.warning("connection refused: source not in allowed networks", extra={"peer": peer})
        return False

    @functools.cached_property
    def _networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [
            ipaddress.ip_network(part.strip(), strict=False)
            for part in self.config.allowed_networks.split(",")
            if part.strip()
        ]

    def current(self, device: DeviceInfo | None) -> DeviceInfo | None:
        """The directory's latest word on a connected device: who wears it now and its
        clock offset change while a connection stays open for days."""
        if device is None:
            return None
        return self.directory.devices.get(device.identifier, device)

    def lookup(self, identifier: str, protocol: str, peer: object) -> DeviceInfo | None:
        """The registered device, or ``None`` after logging and counting an unknown one or
        one that speaks another protocol than it was registered with: a device answers only
        on its own protocol, so that knowing an ankle monitor's IMEI is not enough to post
        positions for it over unauthenticated OsmAnd HTTP."""
        device = self.directory.get(identifier)
        if device is None:
            self.counters.add("unknown_devices")
            logger.warning(
                "unknown device",
                extra={"protocol": protocol, "identifier": identifier[:64], "peer": peer},
            )
        elif device.protocol != protocol:
            self.counters.add("protocol_mismatches")
            logger.warning(
                "device refused: registered for another protocol",
                extra={
                    "protocol": protocol,
                    "registered": device.protocol,
                    "identifier": identifier[:64],
                    "peer": peer,
                },
            )
            return None
        return device
