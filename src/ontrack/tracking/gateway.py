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
``STRICT_CRC`` (off), ``SPOOL_DIR`` (``$ONTRACK_HOME/spool``).

At start the soft open-files limit is raised to the hard limit (each device connection is a
file descriptor; the common default of 1024 is the first wall a gateway hits).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import resource
import signal
import statistics
import threading
import time
from typing import Any

from django.db import connection

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
        self.hub: Hub

    async def start(self) -> None:
        from ontrack.tracking.gateway_http import HEADER_LIMIT, handle_osmand
        from ontrack.tracking.gateway_tcp import Gt06Connection, handle_teltonika

        config = self.config
        config.spool_dir.mkdir(parents=True, exist_ok=True)
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
                lambda: Gt06Connection(self.hub), config.host, config.gt06_port, backlog=4096
            )
            self._add(server, "gt06")
        if config.teltonika_port is not None:
            server = await asyncio.start_server(
                functools.partial(handle_teltonika, self.hub),
                config.host,
                config.teltonika_port,
                backlog=4096,
            )
            self._add(server, "teltonika")
        if config.osmand_port is not None:
            server = await asyncio.start_server(
                functools.partial(handle_osmand, self.hub),
                config.host,
                config.osmand_port,
                backlog=4096,
                limit=HEADER_LIMIT,
            )
            self._add(server, "osmand")
        if config.mqtt_host:
            from ontrack.tracking.gateway_mqtt import MqttSubscriber

            self._mqtt = MqttSubscriber(self.hub, loop)
            self._mqtt.start()
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

    async def main() -> None:
        gateway = Gateway(config)
        await gateway.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        await gateway.stop()

    asyncio.run(main())
    return 0


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
