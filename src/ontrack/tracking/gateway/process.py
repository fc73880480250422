"""``ontrack gateway``: the device gateway process (GT06, Teltonika, OsmAnd HTTP, MQTT, H02,
Watch, TK103, Queclink, Meitrack, Suntech).

One asyncio event loop serves every protocol; one database thread writes (see
``core``). Run one gateway per core behind the same ports on a bigger machine (each
is stateless apart from its spool folder, which must be its own).

Settings (``ONTRACK_GATEWAY_*`` in Django settings, each overridden by a CLI flag):
``HOST``, ``GT06_PORT`` (5023), ``TELTONIKA_PORT`` (5027), ``OSMAND_PORT`` (5055),
``H02_PORT`` (5013), ``WATCH_PORT`` (5093), ``TK103_PORT`` (5001), ``QUECLINK_PORT`` (5004),
``MEITRACK_PORT`` (5020), ``SUNTECH_PORT`` (5011),
``MQTT_HOST`` (127.0.0.1; ``None`` turns MQTT off), ``MQTT_PORT`` (1883),
``MQTT_CLIENT_ID``, ``MQTT_USERNAME``, ``MQTT_PASSWORD``, ``IDLE_TIMEOUT`` (600 s),
``HANDSHAKE_TIMEOUT`` (30 s), ``MAX_FRAME_SIZE`` (1024 bytes, GT06), ``BATCH_SIZE`` (5000),
``BATCH_DELAY`` (0.1 s), ``MAX_PENDING`` (20,000), ``RETRY_INTERVAL`` (2 s),
``DB_TIMEOUT`` (5 s), ``DIRECTORY_REFRESH`` (60 s), ``DIRECTORY_POLL`` (2 s: how soon a fitted
or taken-back device reports for its new wearer), ``STATS_INTERVAL`` (60 s),
``STRICT_CRC`` (off), ``WORKERS`` (1), ``SPOOL_DIR`` (``$ONTRACK_HOME/spool``).

Several processes (``WORKERS`` > 1, DESIGN.md "one process per core"): one event loop and
its database thread share one GIL, and at ~15,000 positions/s that GIL, not the database,
is the limit. Each worker is then a whole gateway as above, binding the same ports with
SO_REUSEPORT (the kernel spreads new connections over them) and owning its own writer,
database connection and spool folder: worker 0 keeps ``SPOOL_DIR`` itself, worker k uses
``SPOOL_DIR/worker-k``, so a restart with the same count replays every spool it left. Only
worker 0 subscribes to MQTT (one subscriber, not one copy of each message per worker).

The parent of the workers supervises them: a worker that dies (a crash, the OOM killer, a
``kill -9``) is forked again after a back-off (1 s, doubling to 30 s, back to 1 s once a
worker has lived ``RESTART_RESET_S``), one log line per restart; SIGTERM or SIGINT stops
them all. A worker's replacement waits for the dead one's spool lock (released by the kernel)
and replays what it left.

Each gateway process beats a heartbeat (``operations.heartbeats``) from its own thread, with
when it last stored a batch, the bytes waiting in its spool and its counters, so that
``ontrack status`` tells a gateway that stores from one that only accepts connections.

At start the soft open-files limit is raised to the hard limit (each device connection is a
file descriptor; the common default of 1024 is the first wall a gateway hits).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import functools
import logging
import multiprocessing
import multiprocessing.connection
import os
import resource
import signal
import socket
import statistics
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.db import DatabaseError, connection

from ontrack.tracking.gateway.core import Counters, Directory, GatewayConfig, Hub, Writer

logger = logging.getLogger("ontrack.gateway")

# Back-off between restarts of a dead worker: the first wait, its ceiling, and how long a
# worker must have lived for the next death to start from the first wait again.
RESTART_FIRST_S = 1.0
RESTART_MAX_S = 30.0
RESTART_RESET_S = 60.0


def raise_open_files_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 1_048_576)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            logger.warning("could not raise the open-files limit", extra={"soft": soft})
    logger.info("open files limit", extra={"soft": soft, "hard": hard})
    return soft


def lock_spool(directory: Path) -> int:
    """Hold an exclusive lock on a spool folder for the life of the process (released by
    the kernel when it dies, even by kill -9). Two gateways appending to and replaying one
    spool could delete a segment the other is still writing; a second one therefore waits
    here until the first is gone (e.g. a worker finishing its shutdown while its
    replacement starts)."""
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        logger.warning("spool in use by another gateway; waiting", extra={"spool": str(directory)})
        fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


class Gateway:
    """Every server of the gateway on one event loop. ``ports`` holds the bound ports
    (useful with port 0 in tests) once ``start`` returns."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.counters = Counters()
        self.directory = Directory(config.spool_dir / "directory.json")
        self.ports: dict[str, int] = {}
        self._servers: list[asyncio.Server] = []
        self._tasks: list[asyncio.Task[Any]] = []
        # Teltonika, OsmAnd and text-protocol connections (streams-based) by handler task, so
        # that a stop can close them and let their handlers return rather than be cancelled
        # mid-await.
        self._streams: dict[asyncio.Task[Any], asyncio.StreamWriter] = {}
        self._mqtt: Any = None
        self._spool_lock = -1
        self.hub: Hub

    async def start(self) -> None:
        from ontrack.tracking.gateway.http import HEADER_LIMIT, handle_osmand
        from ontrack.tracking.gateway.tcp import Gt06Connection, handle_teltonika
        from ontrack.tracking.gateway.text import (
            H02,
            MEITRACK,
            QUECLINK,
            SUNTECH,
            TK103,
            WATCH,
            handle_text,
        )

        config = self.config
        config.spool_dir.mkdir(parents=True, exist_ok=True)
        self._spool_lock = await asyncio.to_thread(lock_spool, config.spool_dir)
        writer = Writer(config, self.counters, self.directory)
        self.hub = Hub(config, self.counters, self.directory, writer)
        await writer.in_db_thread(self.directory.load)
        logger.info(
            "gateway starting",
            extra={"devices": len(self.directory.devices), "spooled": writer.spooling,
                   "spool": str(config.spool_dir)},
        )  # fmt: skip
        self._tasks.append(asyncio.create_task(writer.run(), name="writer"))
        loop = asyncio.get_running_loop()
        if config.gt06_port is not None:
            server = await loop.create_server(
                lambda: Gt06Connection(self.hub),
                config.host,
                config.gt06_port,
                backlog=4096,
                reuse_port=config.reuse_port or None,
            )
            self._add(server, "gt06")
        if config.teltonika_port is not None:
            server = await asyncio.start_server(
                functools.partial(self._tracked, handle_teltonika),
                config.host,
                config.teltonika_port,
                backlog=4096,
                reuse_port=config.reuse_port or None,
            )
            self._add(server, "teltonika")
        if config.osmand_port is not None:
            server = await asyncio.start_server(
                functools.partial(self._tracked, handle_osmand),
                config.host,
                config.osmand_port,
                backlog=4096,
                limit=HEADER_LIMIT,
                reuse_port=config.reuse_port or None,
            )
            self._add(server, "osmand")
        text_servers = (
            (H02, config.h02_port),
            (WATCH, config.watch_port),
            (TK103, config.tk103_port),
            (QUECLINK, config.queclink_port),
            (MEITRACK, config.meitrack_port),
            (SUNTECH, config.suntech_port),
        )
        for text_protocol, port in text_servers:
            if port is None:
                continue
            server = await asyncio.start_server(
                functools.partial(self._tracked, functools.partial(handle_text, text_protocol)),
                config.host,
                port,
                backlog=4096,
                reuse_port=config.reuse_port or None,
            )
            self._add(server, text_protocol.name)
        if config.mqtt_host:
            from ontrack.tracking.gateway.mqtt import MqttSubscriber

            self._mqtt = MqttSubscriber(self.hub, loop)
            self._mqtt.start()
        self._tasks.append(asyncio.create_task(self._commands(), name="commands"))
        self._tasks.append(asyncio.create_task(self._reap(), name="reaper"))
        self._tasks.append(asyncio.create_task(self._stats(), name="stats"))
        worker = {} if config.worker is None else {"worker": config.worker}
        logger.info(
            "gateway listening",
            extra={"host": config.host, "pid": os.getpid(), **worker, **self.ports},
        )

    def _add(self, server: asyncio.Server, name: str) -> None:
        self._servers.append(server)
        self.ports[name] = server.sockets[0].getsockname()[1]

    async def _tracked(
        self, handler: Any, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._streams[task] = writer
        try:
            await handler(self.hub, reader, writer)
        finally:
            del self._streams[task]

    async def stop(self) -> None:
        """Stop accepting, close connections, store what is queued, release the database.

        Connections are closed, not their handlers cancelled: on Python 3.11 a cancelled
        stream handler is logged by asyncio as an error with a traceback, one per device,
        which buried the one line that says the gateway stopped."""
        for server in self._servers:
            server.close()
        for conn in list(self.hub.live):
            conn.close("shutdown")
        for stream in list(self._streams.values()):
            stream.close()
        if self._mqtt is not None:
            self._mqtt.stop()
        writer_task = self._tasks[0]
        await self.hub.writer.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer_task, timeout=30)
        if self._streams:
            await asyncio.wait(list(self._streams), timeout=5)
        for task in self._tasks[1:]:
            task.cancel()
        await self.hub.writer.in_db_thread(self.hub.writer.spool.close)
        await self.hub.writer.in_db_thread(lambda: connection.close())
        self.hub.writer.executor.shutdown(wait=True)
        os.close(self._spool_lock)
        self.log_stats("gateway stopped")

    def heartbeat_details(self) -> dict[str, Any]:
        """What the heartbeat carries (``tracking.status_checks`` reads the first two).

        Called from the heartbeat thread: it only reads counters the event loop writes and
        stats this process's own spool segments, so it never waits for the loop."""
        writer = self.hub.writer
        spool_bytes = 0
        for path in writer.spool.segments():
            with contextlib.suppress(OSError):
                spool_bytes += path.stat().st_size
        last = writer.last_stored_at
        return {
            "last_stored_at": last.isoformat() if last else None,
            "spool_bytes": spool_bytes,
            "connections": self.counters.connections,
            "stored_fixes": self.counters["stored_fixes"],
            "stored_events": self.counters["stored_events"],
            "worker": self.config.worker or 0,
        }

    async def _reap(self) -> None:
        """Close GT06 connections that are silent or only trickle bytes (streams-based
        servers put deadlines on their reads instead)."""
        period = max(0.2, min(self.config.handshake_timeout, self.config.idle_timeout) / 4)
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(period)
            now = loop.time()
            for conn in [c for c in self.hub.live if c.expired(now)]:
                conn.close("timeout")

    async def _commands(self) -> None:
        """Send the on-demand commands queued for the devices connected to this process
        (and, when it holds the MQTT subscription, for MQTT devices)."""
        from ontrack.tracking.services.commands import commands_claim

        writer = self.hub.writer
        while True:
            await asyncio.sleep(self.config.command_poll)
            mqtt = self._mqtt is not None
            if writer.spooling or (not self.hub.sessions and not mqtt):
                continue  # with the database away, positions come first
            claim = functools.partial(
                commands_claim, list(self.hub.sessions), mqtt=mqtt, now=datetime.now(UTC)
            )
            try:
                claimed = await writer.query(claim)
            except DatabaseError as error:
                logger.info("commands not polled", extra={"error": str(error)[:200]})
                continue
            for command in claimed:
                send = self.hub.sessions.get(command.device_id)
                if send is not None:
                    send(command.id, command.text)
                elif mqtt:
                    self._mqtt.send_command(command.identifier, command.id, command.text)
                    self.hub.command_sent(command.device_id)
                else:
                    logger.warning("command device gone", extra={"command": command.id})
                    continue
                logger.info(
                    "command sent",
                    extra={"command": command.id, "device": command.device_id,
                           "text": command.text},
                )  # fmt: skip

    async def _stats(self) -> None:
        while True:
            await asyncio.sleep(self.config.stats_interval)
            self.log_stats()

    def log_stats(self, message: str = "gateway stats") -> None:
        """One line with every counter; frames/s is over the last interval."""
        counters = self.counters
        now = time.monotonic()
        last_time, last_frames = getattr(self, "_last", (counters.started, 0))
        frames = counters["frames"]
        rate = (frames - last_frames) / max(now - last_time, 1e-9)
        self._last = (now, frames)
        delays, self.hub.writer.delays = self.hub.writer.delays, []
        p99 = statistics.quantiles(delays, n=100)[98] * 1000 if len(delays) >= 2 else 0.0
        dropped = {k: v for k, v in counters.values.items() if k.startswith("dropped_")}
        invalid = {k: v for k, v in counters.values.items() if k.startswith("invalid_")}
        logger.info(
            message,
            extra={
                "connections": counters.connections,
                "frames": frames,
                "frames_per_s": round(rate, 1),
                "stored_fixes": counters["stored_fixes"],
                "stored_events": counters["stored_events"],
                "dropped": sum(dropped.values()),
                **dropped,
                "invalid": sum(invalid.values()),
                **invalid,
                "unknown_devices": counters["unknown_devices"],
                "bad_frames": counters["bad_frames"],
                "crc_mismatches": counters["crc_mismatches"],
                "length_mismatches": counters["length_mismatches"],
                "spooled": counters["spooled"],
                "spool_torn_records": self.hub.writer.torn_records,
                "durable_p99_ms": round(p99, 1),
            },
        )


def run_gateway(config: GatewayConfig) -> int:
    """Run until SIGINT or SIGTERM, then stop cleanly."""
    raise_open_files_limit()
    if config.workers > 1:
        return _run_workers(config)
    return _serve(config)


def worker_configs(config: GatewayConfig) -> list[GatewayConfig]:
    """The configuration of each worker process (see the module doc)."""
    ports = (config.gt06_port, config.teltonika_port, config.osmand_port, config.h02_port,
             config.watch_port, config.tk103_port, config.queclink_port,
             config.meitrack_port, config.suntech_port)  # fmt: skip
    if any(port == 0 for port in ports):
        raise ValueError("several gateway workers need fixed ports, not port 0")
    return [
        dataclasses.replace(
            config,
            workers=1,
            reuse_port=True,
            spool_dir=config.spool_dir if index == 0 else config.spool_dir / f"worker-{index}",
            mqtt_host=config.mqtt_host if index == 0 else None,
            worker=index,
        )
        for index in range(config.workers)
    ]


@dataclasses.dataclass
class _Slot:
    """One worker's place: its configuration, its current process and its back-off."""

    config: GatewayConfig
    process: Any = None  # multiprocessing's Process (its type is not public)
    started: float = 0.0
    delay: float = RESTART_FIRST_S
    restart_at: float | None = None  # when a dead worker is due to be forked again


def _run_workers(config: GatewayConfig) -> int:
    """Fork one gateway per worker and keep them running (see the module doc).

    A dead worker is replaced rather than the whole gateway stopped: the other workers
    keep serving their devices meanwhile, and devices on the dead worker reconnect to them
    or to the replacement (SO_REUSEPORT spreads new connections over whoever listens)."""
    connection.close()  # never share a database connection across fork
    context = multiprocessing.get_context("fork")
    slots = [_Slot(worker) for worker in worker_configs(config)]
    stopping = threading.Event()
    # Each worker is sent SIGTERM once. A second one could land after the worker's event
    # loop has closed and put SIGTERM back to its default, killing a worker that was
    # stopping cleanly (exit code -15, and the gateway's 1).
    signalled: set[int] = set()

    def start(slot: _Slot) -> None:
        slot.process = context.Process(
            target=_serve, args=(slot.config,), name=f"ontrack-gateway-{slot.config.worker}"
        )
        slot.process.start()
        slot.started = time.monotonic()
        slot.restart_at = None

    def forward(signum: int, _frame: object) -> None:
        stopping.set()
        for slot in slots:
            process = slot.process
            if process is None or process.pid in signalled or not process.is_alive():
                continue
            signalled.add(process.pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    for slot in slots:
        start(slot)
    logger.info(
        "gateway workers started",
        extra={"workers": len(slots), "pids": ",".join(str(s.process.pid) for s in slots)},
    )
    while not stopping.is_set():
        alive = [s.process.sentinel for s in slots if s.restart_at is None]
        multiprocessing.connection.wait(alive, timeout=0.5)
        now = time.monotonic()
        for slot in slots:
            if stopping.is_set():
                break
            if slot.restart_at is None and not slot.process.is_alive():
                if now - slot.started >= RESTART_RESET_S:
                    slot.delay = RESTART_FIRST_S
                logger.error(
                    "gateway worker exited; restarting",
                    extra={"worker": slot.config.worker, "pid": slot.process.pid,
                           "exitcode": slot.process.exitcode, "restart_in_s": slot.delay},
                )  # fmt: skip
                slot.restart_at = now + slot.delay
                slot.delay = min(slot.delay * 2, RESTART_MAX_S)
            elif slot.restart_at is not None and now >= slot.restart_at:
                start(slot)
    forward(signal.SIGTERM, None)  # also reaches a worker forked as the signal arrived
    for slot in slots:
        slot.process.join()
    codes = [slot.process.exitcode or 0 for slot in slots]
    return 0 if not any(codes) else max(1, *codes)


def _process_instance(config: GatewayConfig) -> str:
    """``host:pid`` (as ``operations.jobs.process_name``, without importing Huey), plus
    ``/k`` for worker k of several."""
    name = f"{socket.gethostname()}:{os.getpid()}"
    return name if config.worker is None else f"{name}/{config.worker}"


def _serve(config: GatewayConfig) -> int:
    from ontrack.operations.heartbeats import HeartbeatThread
    from ontrack.operations.models import ProcessKind

    async def main() -> None:
        gateway = Gateway(config)
        await gateway.start()
        beat = HeartbeatThread(
            ProcessKind.GATEWAY, _process_instance(config), details=gateway.heartbeat_details
        )
        beat.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        watchdog = asyncio.create_task(_orphaned(stop)) if config.reuse_port else None
        await stop.wait()
        await gateway.stop()
        await asyncio.to_thread(beat.stop)
        if watchdog is not None:
            watchdog.cancel()

    asyncio.run(main())
    return 0


async def _orphaned(stop: asyncio.Event) -> None:
    """A worker whose parent is gone (killed with -9, say) stops cleanly instead of
    serving on, unsupervised, next to the workers of a restarted gateway."""
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(1)
    logger.warning("gateway parent gone, worker stopping")
    stop.set()


class GatewayThread:
    """A gateway on its own event loop in a background thread, for tests and benchmarks
    that drive it from the same process."""

    def __init__(self, config: GatewayConfig) -> None:
        self.gateway = Gateway(config)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> Gateway:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.gateway.start(), self._loop).result(timeout=60)
        return self.gateway

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.gateway.stop(), self._loop).result(timeout=60)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def call(self, function: Any, *args: Any) -> Any:
        """Run a plain function on the gateway's loop and return its result."""

        async def run() -> Any:
            return function(*args)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=30)
