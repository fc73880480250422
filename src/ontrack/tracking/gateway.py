"""``ontrack gateway``: the device gateway process (GT06, Teltonika, OsmAnd HTTP, MQTT).

One asyncio event loop serves every protocol; one database thread writes (see
``gateway_core``). Run one gateway per core behind the same ports on a bigger machine (each
is stateless apart from its spool folder, which must be its own).

Settings (``ONTRACK_GATEWAY_*`` in Django settings, each overridden by a CLI flag):
``HOST``, ``GT06_PORT`` (5023), ``TELTONIKA_PORT`` (5027), ``OSMAND_PORT`` (5055),
``MQTT_HOST`` (127.0.0.1; ``None`` turns MQTT off), ``MQTT_PORT`` (1883),
``MQTT_CLIENT_ID``, ``MQTT_USERNAME``, ``MQTT_PASSWORD``, ``IDLE_TIMEOUT`` (600 s),
``HANDSHAKE_TIMEOUT`` (30 s), ``MAX_FRAME_SIZE`` (1024 bytes, GT06), ``BATCH_SIZE`` (5000),
``BATCH_DELAY`` (0.1 s), ``MAX_PENDING`` (20,000), ``RETRY_INTERVAL`` (2 s),
``DB_TIMEOUT`` (5 s), ``DIRECTORY_REFRESH`` (60 s), ``STATS_INTERVAL`` (60 s),
``STRICT_CRC`` (off), ``WORKERS`` (1), ``SPOOL_DIR`` (``$ONTRACK_HOME/spool``).

Several processes (``WORKERS`` > 1, DESIGN.md "one process per core"): one event loop and
its database thread share one GIL, and at ~15,000 positions/s that GIL, not the database,
is the limit. Each worker is then a whole gateway as above, binding the same ports with
SO_REUSEPORT (the kernel spreads new connections over them) and owning its own writer,
database connection and spool folder: worker 0 keeps ``SPOOL_DIR`` itself, worker k uses
``SPOOL_DIR/worker-k``, so a restart with the same count replays every spool it left. Only
worker 0 subscribes to MQTT (one subscriber, not one copy of each message per worker).

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
import os
import resource
import signal
import statistics
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.db import DatabaseError, connection

from ontrack.tracking.gateway_core import Counters, Directory, GatewayConfig, Hub, Writer

logger = logging.getLogger("ontrack.gateway")


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
        self._mqtt: Any = None
        self._spool_lock = -1
        self.hub: Hub

    async def start(self) -> None:
        from ontrack.tracking.gateway_http import HEADER_LIMIT, handle_osmand
        from ontrack.tracking.gateway_tcp import Gt06Connection, handle_teltonika

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
                functools.partial(handle_teltonika, self.hub),
                config.host,
                config.teltonika_port,
                backlog=4096,
                reuse_port=config.reuse_port or None,
            )
            self._add(server, "teltonika")
        if config.osmand_port is not None:
            server = await asyncio.start_server(
                functools.partial(handle_osmand, self.hub),
                config.host,
                config.osmand_port,
                backlog=4096,
                limit=HEADER_LIMIT,
                reuse_port=config.reuse_port or None,
            )
            self._add(server, "osmand")
        if config.mqtt_host:
            from ontrack.tracking.gateway_mqtt import MqttSubscriber

            self._mqtt = MqttSubscriber(self.hub, loop)
            self._mqtt.start()
        self._tasks.append(asyncio.create_task(self._commands(), name="commands"))
        self._tasks.append(asyncio.create_task(self._reap(), name="reaper"))
        self._tasks.append(asyncio.create_task(self._stats(), name="stats"))
        logger.info("gateway listening", extra={"host": config.host, **self.ports})

    def _add(self, server: asyncio.Server, name: str) -> None:
        self._servers.append(server)
        self.ports[name] = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop accepting, close connections, store what is queued, release the database."""
        for server in self._servers:
            server.close()
        for conn in list(self.hub.live):
            conn.close("shutdown")
        if self._mqtt is not None:
            self._mqtt.stop()
        writer_task = self._tasks[0]
        await self.hub.writer.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer_task, timeout=30)
        for task in self._tasks[1:]:
            task.cancel()
        await self.hub.writer.in_db_thread(self.hub.writer.spool.close)
        await self.hub.writer.in_db_thread(lambda: connection.close())
        self.hub.writer.executor.shutdown(wait=True)
        os.close(self._spool_lock)
        self.log_stats()
        logger.info("gateway stopped")

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
        from ontrack.tracking.services import commands_claim

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

    def log_stats(self) -> None:
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
        logger.info(
            "gateway stats",
            extra={
                "connections": counters.connections,
                "frames": frames,
                "frames_per_s": round(rate, 1),
                "stored_fixes": counters["stored_fixes"],
                "stored_events": counters["stored_events"],
                "dropped": sum(dropped.values()),
                **dropped,
                "unknown_devices": counters["unknown_devices"],
                "bad_frames": counters["bad_frames"],
                "crc_mismatches": counters["crc_mismatches"],
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
    if any(port == 0 for port in (config.gt06_port, config.teltonika_port, config.osmand_port)):
        raise ValueError("several gateway workers need fixed ports, not port 0")
    return [
        dataclasses.replace(
            config,
            workers=1,
            reuse_port=True,
            spool_dir=config.spool_dir if index == 0 else config.spool_dir / f"worker-{index}",
            mqtt_host=config.mqtt_host if index == 0 else None,
        )
        for index in range(config.workers)
    ]


def _run_workers(config: GatewayConfig) -> int:
    """Fork one gateway per worker and wait. SIGTERM/SIGINT are passed on (each worker then
    stops cleanly); if a worker dies, the others are stopped too and the exit code says so,
    so that the supervisor restarts the whole gateway rather than running it short-handed."""
    connection.close()  # never share a database connection across fork
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_serve, args=(worker,), name=f"ontrack-gateway-{index}")
        for index, worker in enumerate(worker_configs(config))
    ]
    for worker in workers:
        worker.start()
    stopping = threading.Event()

    def forward(signum: int, _frame: object) -> None:
        stopping.set()
        for worker in workers:
            if worker.is_alive() and worker.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGTERM)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    logger.info("gateway workers started", extra={"workers": len(workers)})
    while any(worker.is_alive() for worker in workers):
        for worker in workers:
            worker.join(timeout=0.5)
            if not worker.is_alive() and worker.exitcode and not stopping.is_set():
                logger.error(
                    "gateway worker died",
                    extra={"worker": worker.name, "exitcode": worker.exitcode},
                )
                forward(signal.SIGTERM, None)
    codes = [worker.exitcode or 0 for worker in workers]
    return 0 if stopping.is_set() and not any(codes) else max(1, *codes)


def _serve(config: GatewayConfig) -> int:
    async def main() -> None:
        gateway = Gateway(config)
        await gateway.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        watchdog = asyncio.create_task(_orphaned(stop)) if config.reuse_port else None
        await stop.wait()
        await gateway.stop()
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
