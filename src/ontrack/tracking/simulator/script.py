"""``ontrack simulate --script FILE``: scripted wearers played through the real protocols.

The random wearers of ``simulator.wearers`` are for load; a script is for checking what a
given day produces (grace, curfews across a DST change, a cut strap, a silence): the same
frames a real unit would send, to a running gateway, in the order written. The file is
plain JSON::

    {"wearers": [
      {"device": "359710049095888", "protocol": "gt06",
       "steps": [
         {"at": "2026-10-31T19:00:00Z", "lat": 40.72, "lon": -74.05},
         {"at": "2026-11-02T02:00:00Z", "lat": 40.70, "lon": -74.00,
          "event": "strap_cut", "silent_for_min": 150},
         {"at": "2026-11-02T04:35:00Z", "lat": 40.72, "lon": -74.05}
       ]}
    ]}

Each step is one report at ``at`` (the fix time the device states: scripts may replay the
past, e.g. the last DST change; the gateway refuses fixes from the future). ``event`` is
``null`` or one of ``strap_cut``, ``low_battery``, ``sos``, ``power_cut`` (over GT06 each is
the unit's 0x26 alarm frame with its alarm code, acknowledged by the gateway once durable),
``charger_connected``, ``charger_disconnected`` (a 0x13 status frame);
``battery`` (percent, default 80) and ``charging`` (default false) are optional.
``silent_for_min`` makes the device say nothing after this step. Silence is judged by the
receiving clock (``Device.last_seen_at``), not by fix times, so it is a real pause:
``--script-pace`` wall-clock seconds per scripted minute (default 60, i.e. real time; a test
uses a fraction of a second and runs the silence watchdog during the pause). Between two
steps the player waits ``STEP_PAUSE_S`` so that consecutive steps usually reach the
database in separate batches, as a live device's would; the alerts do not depend on it.

Wearers play concurrently, each on its own connection, steps in file order. GT06, Teltonika
and OsmAnd are supported. Nothing here reads the database: the file names the protocol.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ontrack.tracking.simulator.wearers import (
    DEFAULT_PORTS,
    Report,
    SimulatorStats,
    _Link,
    _OsmandLink,
    _TeltonikaLink,
    gt06_frames,
    gt06_login,
)

logger = logging.getLogger("ontrack.simulator")

STEP_PAUSE_S = 0.25
PROTOCOLS = ("gt06", "teltonika", "osmand")
# The script's event names -> the simulator's report events.
EVENTS = {
    "strap_cut": "tamper",
    "low_battery": "low_battery",
    "sos": "sos",
    "power_cut": "power_cut",
    "charger_connected": "charger_connected",
    "charger_disconnected": "charger_disconnected",
}


class ScriptError(ValueError):
    """A timeline file that cannot be played; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Step:
    report: Report
    silent_for_min: float = 0.0


@dataclass(frozen=True, slots=True)
class ScriptedWearer:
    device: str
    protocol: str
    steps: tuple[Step, ...]


def _time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise ScriptError(f"{where}: 'at' must be an ISO 8601 time")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ScriptError(f"{where}: 'at' is not an ISO 8601 time: {value!r}") from None
    if when.tzinfo is None:
        raise ScriptError(f"{where}: 'at' needs a UTC offset (e.g. Z): {value!r}")
    return when.astimezone(UTC)


def _step(data: Any, where: str) -> Step:
    if not isinstance(data, dict):
        raise ScriptError(f"{where}: a step is an object")
    unknown = set(data) - {"at", "lat", "lon", "event", "silent_for_min", "battery", "charging"}
    if unknown:
        raise ScriptError(f"{where}: unknown field(s) {sorted(unknown)}")
    try:
        lat, lon = float(data["lat"]), float(data["lon"])
    except (KeyError, TypeError, ValueError):
        raise ScriptError(f"{where}: 'lat' and 'lon' are numbers") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ScriptError(f"{where}: position out of range")
    event = data.get("event")
    if event is not None and event not in EVENTS:
        raise ScriptError(f"{where}: unknown event {event!r} (one of {sorted(EVENTS)})")
    silent = data.get("silent_for_min") or 0
    if not isinstance(silent, int | float) or silent < 0:
        raise ScriptError(f"{where}: 'silent_for_min' is a number of minutes")
    battery = data.get("battery", 80)
    if not isinstance(battery, int) or not 0 <= battery <= 100:
        raise ScriptError(f"{where}: 'battery' is a percentage")
    report = Report(
        time=_time(data.get("at"), where),
        lat=lat,
        lon=lon,
        speed_kmh=0.0,
        course=0.0,
        battery_pct=battery,
        charging=bool(data.get("charging", False)),
        events=(EVENTS[event],) if event else (),
    )
    return Step(report, float(silent))


def script_parse(text: str) -> list[ScriptedWearer]:
    """The wearers of a timeline file, checked; raises ScriptError."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScriptError(f"not valid JSON: {exc}") from None
    wearers = data.get("wearers") if isinstance(data, dict) else None
    if not isinstance(wearers, list) or not wearers:
        raise ScriptError("the file needs a non-empty 'wearers' list")
    parsed = []
    for i, wearer in enumerate(wearers):
        where = f"wearer {i + 1}"
        if not isinstance(wearer, dict) or not isinstance(wearer.get("device"), str):
            raise ScriptError(f"{where}: needs a 'device' identifier")
        protocol = wearer.get("protocol", "gt06")
        if protocol not in PROTOCOLS:
            raise ScriptError(f"{where}: protocol must be one of {PROTOCOLS}")
        steps = wearer.get("steps")
        if not isinstance(steps, list) or not steps:
            raise ScriptError(f"{where}: needs a non-empty 'steps' list")
        parsed.append(
            ScriptedWearer(
                device=wearer["device"],
                protocol=protocol,
                steps=tuple(_step(s, f"{where}, step {n + 1}") for n, s in enumerate(steps)),
            )
        )
    return parsed


class _ScriptGt06Link(_Link):
    """A GT06 unit that sends each step's frames and waits for the acknowledgement of each
    (positions and alarms alike, sent once durable), as a real unit does before moving on."""

    def __init__(self, identifier: str, host: str, port: int, stats: SimulatorStats) -> None:
        self.identifier, self.host, self.port, self.stats = identifier, host, port, stats
        self.serial = 1
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(gt06_login(self.identifier, self.serial))
        await asyncio.wait_for(self.reader.readexactly(10), 30)

    async def send(self, reports: list[Report]) -> None:
        assert self.reader is not None
        assert self.writer is not None
        for report in reports:
            frames = gt06_frames(report, self.serial)
            self.serial = (self.serial + len(frames)) & 0xFFFF
            for frame in frames:
                self.writer.write(frame)
                await self.writer.drain()
                await asyncio.wait_for(self.reader.readexactly(10), 30)
                self.stats.acked += 1
            self.stats.sent += 1

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _play(
    wearer: ScriptedWearer, host: str, port: int | None, pace_s: float, stats: SimulatorStats
) -> None:
    port = port or DEFAULT_PORTS[wearer.protocol]
    link: _Link
    if wearer.protocol == "gt06":
        link = _ScriptGt06Link(wearer.device, host, port, stats)
    elif wearer.protocol == "teltonika":
        link = _TeltonikaLink(wearer.device, host, port, stats)
    else:
        link = _OsmandLink(wearer.device, host, port, stats)
    await link.open()
    stats.connections += 1
    try:
        for n, step in enumerate(wearer.steps):
            await link.send([step.report])
            logger.info(
                "script step",
                extra={"device": wearer.device, "step": n + 1, "at": step.report.time.isoformat()},
            )
            if step.silent_for_min:
                logger.info(
                    "script silence",
                    extra={"device": wearer.device, "minutes": step.silent_for_min},
                )
                await asyncio.sleep(step.silent_for_min * pace_s)
            else:
                await asyncio.sleep(STEP_PAUSE_S)
        await asyncio.sleep(STEP_PAUSE_S)  # let the last frames reach the writer
    finally:
        await link.close()


async def script_play(
    wearers: list[ScriptedWearer], *, host: str, port: int | None, pace_s: float
) -> SimulatorStats:
    """Play every wearer's steps, concurrently, until all are done."""
    stats = SimulatorStats()
    await asyncio.gather(*(_play(w, host, port, pace_s, stats) for w in wearers))
    return stats


def run_script(path: str, *, host: str, port: int | None, pace_s: float) -> int:
    """The ``ontrack simulate --script`` command. Exit 2 for a file that cannot be played,
    1 when a connection failed, 0 when every step was sent."""
    try:
        wearers = script_parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, ScriptError) as exc:
        logger.error("script refused", extra={"path": path, "error": str(exc)})
        return 2
    try:
        stats = asyncio.run(script_play(wearers, host=host, port=port, pace_s=pace_s))
    except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
        logger.error("script stopped", extra={"error": str(exc)[:200]})
        return 1
    logger.info("script done", extra={"sent": stats.sent, "acked": stats.acked})
    return 0
