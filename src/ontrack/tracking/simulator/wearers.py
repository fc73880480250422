"""``ontrack simulate``: simulated wearers reporting over the real protocols.

Each registered device (``device_directory()``, filtered by protocol) becomes a wearer who
lives near one of a few US cities: a home and a workplace within about 15 km of the centre,
home at night, a commute on a straight segment at walking speed (short trips) or driving
speed, a working day at work. The battery drains by day and charges at night (a few wearers
forget); below 20 % the device reports a low battery. Now and then a strap is tampered with,
and now and then the device loses signal for a few minutes: it keeps its fixes and sends
them in a burst when the signal is back, as real units do. A GT06 wearer answers an
on-demand location command (0x80) with a text answer and a fresh fix.

So that a demo shows the alert queue working at once rather than after hours of wall
clock, most wearers also have an *opening incident* early in every run (``OPENINGS``):
the strap is tampered with within the first minute, the device starts on a battery its
wearer forgot to charge, it stays silent for the first half hour or so (the demo seeds its
last report hours back, so the silence watchdog has something to say at its first run), or
its wearer spends the first quarter of an hour at an address they must stay away from
(``Wearer.errand``, where the demo's zones put a protected address). The ordinary random
incidents go on after that.

Wearers are deterministic for a ``--seed`` (the same homes, routes, habits and incidents
for the same report times); the network timing of course is not. Reports use the wall
clock, so the positions are "now".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import random
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ontrack.tracking.protocols import (
    gt06,
    h02,
    meitrack,
    mqtt_json,
    osmand,
    queclink,
    suntech,
    teltonika,
    tk103,
    watch,
)

logger = logging.getLogger("ontrack.simulator")

# Where a wearer lives around: (lat, lon, time zone).
Place = tuple[float, float, str]

# (name, lat, lon, time zone)
CITIES = [
    ("New York", 40.7128, -74.0060, "America/New_York"),
    ("Newark", 40.7357, -74.1724, "America/New_York"),
    ("Chicago", 41.8781, -87.6298, "America/Chicago"),
    ("Houston", 29.7604, -95.3698, "America/Chicago"),
    ("Los Angeles", 34.0522, -118.2437, "America/Los_Angeles"),
    ("Miami", 25.7617, -80.1918, "America/New_York"),
]
DEFAULT_PORTS = {
    "gt06": gt06.DEFAULT_PORT,
    "teltonika": teltonika.DEFAULT_PORT,
    "osmand": osmand.DEFAULT_PORT,
    "mqtt": 1883,
    "h02": h02.DEFAULT_PORT,
    "watch": watch.DEFAULT_PORT,
    "tk103": tk103.DEFAULT_PORT,
    "queclink": queclink.DEFAULT_PORT,
    "meitrack": meitrack.DEFAULT_PORT,
    "suntech": suntech.DEFAULT_PORT,
}
_PROTOCOL_NAMES = {"gt06": "gt06", "teltonika": "teltonika", "osmand": "osmand",
                   "mqtt": "mqtt", "h02": "h02", "watch": "watch", "tk103": "tk103",
                   "queclink": "queclink", "meitrack": "meitrack",
                   "suntech": "suntech"}  # fmt: skip
_EARTH_M = 6_371_000.0

TAMPER = "tamper"
LOW_BATTERY = "low_battery"
SILENT = "silent"
EXCLUSION = "exclusion"
# (opening incident, share of wearers); the rest have none.
OPENINGS: tuple[tuple[str, float], ...] = (
    (TAMPER, 0.2),
    (LOW_BATTERY, 0.2),
    (SILENT, 0.15),
    (EXCLUSION, 0.2),
)
OPENING_WITHIN_S = 40.0  # an opening incident happens this soon into a run
RETURN_S = 600.0  # the way back from an errand


def _offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    dlat = math.degrees(north_m / _EARTH_M)
    dlon = math.degrees(east_m / (_EARTH_M * math.cos(math.radians(lat))))
    return lat + dlat, lon + dlon


def _distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    north = math.radians(b[0] - a[0]) * _EARTH_M
    east = math.radians(b[1] - a[1]) * _EARTH_M * math.cos(math.radians(a[0]))
    return math.hypot(north, east)


def _bearing(a: tuple[float, float], b: tuple[float, float]) -> float:
    north = b[0] - a[0]
    east = (b[1] - a[1]) * math.cos(math.radians(a[0]))
    return math.degrees(math.atan2(east, north)) % 360


@dataclass(frozen=True, slots=True)
class Report:
    """What a wearer's device says at one moment."""

    time: datetime
    lat: float
    lon: float
    speed_kmh: float
    course: float
    battery_pct: int
    charging: bool
    events: tuple[str, ...] = ()  # "tamper", "low_battery", "charger_connected"...


@dataclass(slots=True)
class Wearer:
    """One simulated person and their device; ``report(t)`` is the device's next message."""

    identifier: str
    home: tuple[float, float]
    work: tuple[float, float]
    zone: ZoneInfo
    leave_home: float  # local hour
    leave_work: float
    speed_kmh: float
    forgets_charging: bool
    rng: random.Random
    battery: float = 100.0
    charging: bool = False
    low_reported: bool = False
    outage_until: datetime | None = None
    held: list[Report] = field(default_factory=list)
    opening: str = ""  # one of OPENINGS, or "" for none
    opening_after_s: float = 0.0  # when in the run it starts
    opening_for_s: float = 0.0  # how long a silence or a visit lasts
    started: datetime | None = None  # the run's first report time

    @property
    def errand(self) -> tuple[float, float]:
        """A place between home and work, passed on the commute: where the demo puts an
        exclusion zone (a protected address), and where an ``EXCLUSION`` opening goes."""
        return ((self.home[0] + self.work[0]) / 2, (self.home[1] + self.work[1]) / 2)

    @classmethod
    def create(cls, identifier: str, seed: int, around: Place | None = None) -> Wearer:
        """The wearer of device ``identifier``, living ``around`` a place (their office's,
        ``wearer_places``), or near one of ``CITIES`` for a device nobody wears."""
        rng = random.Random(f"{seed}:{identifier}")
        _, lat, lon, zone = rng.choice(CITIES)  # drawn either way: the rest stays the same
        if around is not None:
            lat, lon, zone = around

        def near() -> tuple[float, float]:
            distance = 15_000 * math.sqrt(rng.random())
            angle = rng.uniform(0, 2 * math.pi)
            return _offset(lat, lon, distance * math.cos(angle), distance * math.sin(angle))

        home, work = near(), near()
        wearer = cls(
            identifier=identifier,
            home=home,
            work=work,
            zone=ZoneInfo(zone),
            leave_home=rng.uniform(6.5, 9.0),
            leave_work=rng.uniform(16.0, 18.5),
            speed_kmh=5.0 if _distance_m(home, work) < 3_000 else rng.uniform(25, 50),
            forgets_charging=rng.random() < 0.08,
            rng=rng,
            battery=rng.uniform(60, 100),
        )
        # Drawn after everything above, so homes, routes and habits stay what they were.
        roll, wearer.opening = rng.random(), ""
        for opening, share in OPENINGS:
            if roll < share:
                wearer.opening = opening
                break
            roll -= share
        wearer.opening_after_s = rng.uniform(0, OPENING_WITHIN_S)
        wearer.opening_for_s = rng.uniform(15 * 60, 40 * 60)
        if wearer.opening == LOW_BATTERY:
            wearer.battery, wearer.forgets_charging = rng.uniform(12, 19), True
        return wearer

    def _into_run(self, when: datetime) -> float | None:
        """Seconds since the run's first report, or None before it."""
        return None if self.started is None else (when - self.started).total_seconds()

    def position(self, when: datetime) -> tuple[float, float, float, float]:
        """(lat, lon, speed km/h, course) at ``when``: home, commuting, or at work. An
        ``EXCLUSION`` opening starts the run at the errand and, once the visit is over,
        goes back to the routine in ``RETURN_S`` (no jump across the map)."""
        into = self._into_run(when)
        if self.opening == EXCLUSION and into is not None:
            visit_end = self.opening_after_s + self.opening_for_s
            jitter = self.rng.gauss(0, 8), self.rng.gauss(0, 8)
            if into < visit_end:
                lat, lon = _offset(*self.errand, *jitter)
                return lat, lon, 0.0, 0.0
            if into < visit_end + RETURN_S:
                target = self._routine(when)[:2]
                share = (into - visit_end) / RETURN_S
                lat = self.errand[0] + (target[0] - self.errand[0]) * share
                lon = self.errand[1] + (target[1] - self.errand[1]) * share
                speed = _distance_m(self.errand, target) / RETURN_S * 3.6
                return lat, lon, speed, _bearing(self.errand, target)
        return self._routine(when)

    def _routine(self, when: datetime) -> tuple[float, float, float, float]:
        """The everyday pattern: home, commuting, or at work."""
        local = when.astimezone(self.zone)
        hour = local.hour + local.minute / 60 + local.second / 3600
        trip_h = _distance_m(self.home, self.work) / 1000 / self.speed_kmh
        for start, origin, target in (
            (self.leave_home, self.home, self.work),
            (self.leave_work, self.work, self.home),
        ):
            if start <= hour < start + trip_h:
                share = (hour - start) / trip_h
                lat = origin[0] + (target[0] - origin[0]) * share
                lon = origin[1] + (target[1] - origin[1]) * share
                return lat, lon, self.speed_kmh, _bearing(origin, target)
        at_work = self.leave_home + trip_h <= hour < self.leave_work and local.weekday() < 5
        place = self.work if at_work else self.home
        lat, lon = _offset(place[0], place[1], self.rng.gauss(0, 8), self.rng.gauss(0, 8))
        return lat, lon, 0.0, 0.0

    def _opening_due(self, when: datetime, elapsed_s: float) -> bool:
        """True for the one report that comes first at or after the opening's start."""
        into = self._into_run(when)
        return into is not None and into - elapsed_s < self.opening_after_s <= into

    def step(self, when: datetime, elapsed_s: float) -> list[Report]:
        """Advance battery and incidents by ``elapsed_s`` and return what to send now: one
        report, nothing during a signal outage, or a burst of held reports after one."""
        if self.started is None:
            self.started = when
            if self.opening == SILENT:
                self.outage_until = when + timedelta(
                    seconds=self.opening_after_s + self.opening_for_s
                )
        local_hour = when.astimezone(self.zone).hour
        events: list[str] = []
        should_charge = (local_hour >= 22 or local_hour < 6) and not self.forgets_charging
        if should_charge != self.charging:
            self.charging = should_charge
            events.append("charger_connected" if should_charge else "charger_disconnected")
        hours = elapsed_s / 3600
        self.battery = (
            min(100.0, self.battery + 25 * hours)
            if self.charging
            else max(0.0, self.battery - 4.5 * hours)
        )
        if self.battery < 20 and not self.charging and not self.low_reported:
            events.append("low_battery")
            self.low_reported = True
        if self.battery > 30:
            self.low_reported = False
        opening_tamper = self.opening == TAMPER and self._opening_due(when, elapsed_s)
        # about one tamper per 5 days, besides the opening one
        if opening_tamper or self.rng.random() < elapsed_s / (5 * 86_400):
            events.append("tamper")
        lat, lon, speed, course = self.position(when)
        report = Report(when, lat, lon, speed, course, round(self.battery), self.charging,
                        tuple(events))  # fmt: skip
        if self.outage_until is None and self.rng.random() < elapsed_s / (86_400 / 2):
            self.outage_until = when + timedelta(seconds=self.rng.uniform(120, 900))
        if self.outage_until is not None:
            self.held.append(report)
            if when < self.outage_until:
                return []
            self.outage_until = None
            burst, self.held = self.held, []
            return burst
        return [report]


@dataclass(slots=True)
class SimulatorOptions:
    devices: int
    protocol: str
    host: str = "127.0.0.1"
    port: int | None = None
    mqtt_host: str | None = "127.0.0.1"  # None: MQTT wearers left out
    mqtt_port: int = 1883
    # A port per protocol (``ontrack demo`` moves any taken default port); ``port`` wins.
    ports: dict[str, int] = field(default_factory=dict)
    rate: float = 60.0
    duration: float | None = None
    seed: int = 2026


@dataclass(slots=True)
class SimulatorStats:
    sent: int = 0
    acked: int = 0
    errors: int = 0
    connections: int = 0


# --- protocol encoders -----------------------------------------------------------------


def gt06_login(imei: str, serial: int) -> bytes:
    return gt06.encode_frame(gt06.MSG_LOGIN, bytes.fromhex(imei.rjust(16, "0")[-16:]), serial)


# Report events -> the alarm code a GT06 unit puts in its 0x26 alarm frame (the manual's
# alarm table; ``protocols.gt06_alarms.ALARM_CODES`` decodes them back).
GT06_ALARM_CODES = {
    "sos": 0x01,
    "power_cut": 0x02,
    "vibration": 0x03,
    "low_battery": 0x19,  # the unit's own battery (0x0E is low external power)
    "tamper": 0x13,
}


def gt06_voltage_level(battery_pct: int) -> int:
    """The GT06 voltage level (0-6) a unit reports for a battery percentage, in the bands
    the decoder reads back (``protocols.gt06.VOLTAGE_LEVEL_PCT``): 1 "extremely low" is
    under the critical threshold (10 %), 2 "very low" under the low one (20 %)."""
    for level, floor in ((6, 90), (5, 70), (4, 45), (3, 20), (2, 10), (1, 1)):
        if battery_pct >= floor:
            return level
    return 0


def gt06_frames(report: Report, serial: int) -> list[bytes]:
    """A 0x12 location frame; then, for each alarm among the report's events, the 0x26
    alarm frame a real unit sends (GPS block, LBS, status block with the alarm code), and
    for a charger change a 0x13 status frame whose terminal info says charging or not.

    Events used to go out as a bare status frame for everything but a tamper, which the
    decoder (rightly) read as nothing but a voltage level: an SOS never became an alert."""
    location = gt06.encode_gps_lbs(
        time=report.time, lat=report.lat, lon=report.lon, speed_kmh=min(int(report.speed_kmh), 255),
        course=int(report.course), satellites=8, serial=serial, cell=(310, 26, 1234, 56789),
    )  # fmt: skip
    frames = [location]
    level = gt06_voltage_level(report.battery_pct)
    info = 0x40 | (0x04 if report.charging else 0)
    gps_block = location[4:22]
    lbs = bytes([9]) + location[22:30]
    alarms = [GT06_ALARM_CODES[event] for event in report.events if event in GT06_ALARM_CODES]
    for offset, code in enumerate(alarms, start=1):
        content = gps_block + lbs + bytes([info, level, 4, code, 0x02])
        frames.append(gt06.encode_frame(gt06.MSG_ALARM_2, content, serial + offset))
    if not alarms and report.events:
        status = bytes([info, level, 4, 0, 0x02])
        frames.append(gt06.encode_frame(gt06.MSG_STATUS, status, serial + 1))
    return frames


# Report events -> the status bit an H02 unit clears (active low) and the alarm bit a watch
# sets, as ``protocols.h02`` / ``protocols.watch`` decode them back. H02 units have no
# tamper or battery alarm; those events are not sent.
H02_STATUS_BITS = {"vibration": 0, "sos": 1, "power_cut": 19}
WATCH_ALARM_BITS = {"power_cut": 14, "sos": 16, "low_battery": 17, "tamper": 20, "fall": 21}


def h02_frames(identifier: str, report: Report) -> list[bytes]:
    """A ``V1`` frame whose status word carries the report's alarms."""
    status = 0xFFFFFBFF
    for event in report.events:
        if event in H02_STATUS_BITS:
            status &= ~(1 << H02_STATUS_BITS[event])
    return [
        h02.encode_v1(identifier, time=report.time, lat=report.lat, lon=report.lon,
                      speed_kmh=report.speed_kmh, course=report.course, status=status)
    ]  # fmt: skip


def watch_frames(identifier: str, report: Report) -> list[bytes]:
    """A ``UD`` frame; and an ``AL`` frame with the alarm bits when the report has alarms
    (a watch sends its alarm as its own message, which the server must answer)."""
    alarms = 0
    for event in report.events:
        if event in WATCH_ALARM_BITS:
            alarms |= 1 << WATCH_ALARM_BITS[event]

    def position(*, status: int = 0x08, alarm: bool = False) -> bytes:
        return watch.encode_position(
            "3G", identifier, time=report.time, lat=report.lat, lon=report.lon,
            speed_kmh=report.speed_kmh, course=report.course, battery_pct=report.battery_pct,
            status=status, alarm=alarm,
        )  # fmt: skip

    return [position(), position(status=alarms, alarm=True)] if alarms else [position()]


# Report events -> the alarm keyword a TK103 unit sends, and the message a Queclink unit
# sends (a GL300 has no tamper switch: tamper is not sent).
TK103_ALARMS = {"sos": "help me", "low_battery": "low battery", "power_cut": "ac alarm",
                "vibration": "sensor alarm"}  # fmt: skip
QUECLINK_ALARMS = {"sos": "GTSOS", "low_battery": "GTBPL", "power_cut": "GTMPF",
                   "charger_connected": "GTMPN"}  # fmt: skip
QUECLINK_VERSION = "1A0800"  # a GL300's protocol version


def tk103_frames(identifier: str, report: Report) -> list[bytes]:
    """A ``tracker`` report; then one report per alarm, its keyword in place of ``tracker``
    (a TK103 sends each alarm as a report of its own)."""
    keywords = ["tracker", *(TK103_ALARMS[e] for e in report.events if e in TK103_ALARMS)]
    return [
        tk103.encode_report(identifier, time=report.time, lat=report.lat, lon=report.lon,
                            speed_kmh=report.speed_kmh, course=report.course, keyword=keyword)
        for keyword in keywords
    ]  # fmt: skip


def queclink_frames(identifier: str, report: Report, count: int = 0) -> list[bytes]:
    """A ``GTFRI`` fixed report with the battery; then one alarm message per alarm."""
    messages = ["GTFRI", *(QUECLINK_ALARMS[e] for e in report.events if e in QUECLINK_ALARMS)]
    return [
        queclink.encode_report(QUECLINK_VERSION, identifier, time=report.time, lat=report.lat,
                               lon=report.lon, message=message, speed_kmh=report.speed_kmh,
                               course=report.course, battery_pct=report.battery_pct,
                               count=count + index)
        for index, message in enumerate(messages)
    ]  # fmt: skip


# Report events -> the Meitrack event code and the Suntech emergency id that carry them, as
# ``protocols.meitrack`` / ``protocols.suntech`` decode them back (neither has a strap or
# fall alarm; Suntech units have no low-battery alarm of their own).
MEITRACK_EVENTS = {"sos": 1, "low_battery": 17, "power_cut": 23}
SUNTECH_EMERGENCIES = {"sos": 1, "power_cut": 3}


def meitrack_frames(identifier: str, report: Report) -> list[bytes]:
    """A scheduled ``AAA`` report (event 35), and one ``AAA`` per alarm with its event code
    (a unit reports each event as its own frame)."""

    def frame(event: int) -> bytes:
        return meitrack.encode_aaa(identifier, time=report.time, lat=report.lat, lon=report.lon,
                                   event=event, speed_kmh=report.speed_kmh,
                                   course=report.course)  # fmt: skip

    codes = [MEITRACK_EVENTS[event] for event in report.events if event in MEITRACK_EVENTS]
    return [frame(35), *map(frame, codes)]


def suntech_frames(identifier: str, report: Report) -> list[bytes]:
    """An ``STT`` status report, and an ``EMG`` per emergency."""

    def frame(kind: str, code: int) -> bytes:
        return suntech.encode_report(identifier, time=report.time, lat=report.lat, lon=report.lon,
                                     kind=kind, code=code, speed_kmh=report.speed_kmh,
                                     course=report.course)  # fmt: skip

    codes = [SUNTECH_EMERGENCIES[event] for event in report.events if event in SUNTECH_EMERGENCIES]
    return [frame("STT", 1), *(frame("EMG", code) for code in codes)]


_TEXT_ENCODERS = {"h02": h02_frames, "watch": watch_frames, "tk103": tk103_frames,
                  "meitrack": meitrack_frames,
                  "suntech": suntech_frames}  # fmt: skip
# What a unit that is asked for its position receives (the watch's ``CR`` is framed).
_LOCATE_WORDS = {"tk103": b"**,imei:", "meitrack": b",A10*", "suntech": b";StatusReq"}


def teltonika_packet(reports: list[Report]) -> bytes:
    records = b""
    for report in reports:
        event_io = 252 if "tamper" in report.events else 0
        io: dict[int, int] = {113: report.battery_pct, 21: 4, 69: 1, 240: int(report.speed_kmh > 0)}
        if event_io:
            io[252] = 1
        records += teltonika.encode_record(
            time=report.time, lat=report.lat, lon=report.lon, angle=int(report.course),
            satellites=8, speed=int(report.speed_kmh), event_io_id=event_io, io=io,
        )  # fmt: skip
    return teltonika.encode_packet(teltonika.CODEC_8, len(reports), records)


def osmand_query(identifier: str, report: Report) -> str:
    alarms = {"tamper": "tampering", "low_battery": "lowBattery", "sos": "sos",
              "power_cut": "powerCut"}  # fmt: skip
    fields = {
        "id": identifier,
        "lat": f"{report.lat:.6f}",
        "lon": f"{report.lon:.6f}",
        "timestamp": str(int(report.time.timestamp())),
        "speed": f"{report.speed_kmh / osmand.KNOTS_TO_KMH:.2f}",
        "bearing": f"{report.course:.0f}",
        "accuracy": "8",
        "batt": str(report.battery_pct),
        "charge": "true" if report.charging else "false",
    }
    alarm = ",".join(alarms[e] for e in report.events if e in alarms)
    if alarm:
        fields["alarm"] = alarm
    return "&".join(f"{key}={value}" for key, value in fields.items())


def osmand_request(identifier: str, report: Report, host: str) -> bytes:
    """The keep-alive HTTP GET an OsmAnd / Traccar Client app sends for one report."""
    return (
        f"GET /?{osmand_query(identifier, report)} HTTP/1.1\r\n"
        f"Host: {host}\r\nUser-Agent: ontrack-simulator\r\n\r\n"
    ).encode()


def mqtt_payload(reports: list[Report]) -> bytes:
    known = {"tamper", "low_battery", "charger_connected", "charger_disconnected"}
    readings: list[dict[str, Any]] = [
        {"time": r.time.isoformat(), "lat": round(r.lat, 6), "lon": round(r.lon, 6),
         "accuracy": 8.0, "speed_kmh": round(r.speed_kmh, 1), "course": round(r.course),
         "battery": r.battery_pct, "charging": r.charging,
         "events": [e for e in r.events if e in known]}
        for r in reports
    ]  # fmt: skip
    return json.dumps(readings[0] if len(readings) == 1 else readings).encode()


# --- device links ----------------------------------------------------------------------


class _Link:
    """One device's connection to the gateway."""

    async def open(self) -> None:
        raise NotImplementedError

    async def send(self, reports: list[Report]) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        return None


class _Gt06Link(_Link):
    """A GT06 unit: also answers an on-demand command (0x80, e.g. ``WHERE#``) the way real
    units do, with a 0x15 text answer echoing the server flag and a fresh fix.

    When the gateway closes the connection (its idle reaper closes a unit silent for 10
    minutes, as a wearer in a signal outage is), the unit notices at once, as a real one
    does, and logs in again with its next report. It used to notice only when a write
    failed: the next report went into the dead socket, the one after raised, and all that
    while "Locate now" waited for a device that was not connected."""

    def __init__(self, wearer: Wearer, host: str, port: int, stats: SimulatorStats) -> None:
        self.identifier, self.host, self.port, self.stats = wearer.identifier, host, port, stats
        self.wearer = wearer
        self.serial = 1
        self.writer: asyncio.StreamWriter | None = None
        self.acks: asyncio.Task[None] | None = None

    async def open(self) -> None:
        reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(gt06_login(self.identifier, self.serial))
        login_ack = await asyncio.wait_for(reader.read(64), 30)
        if not login_ack:
            raise ConnectionError(f"gateway refused the login of {self.identifier}")
        self.acks = asyncio.create_task(self._drain(reader))

    async def _drain(self, reader: asyncio.StreamReader) -> None:
        buffer = b""
        with contextlib.suppress(Exception):
            while data := await reader.read(4096):
                frames, buffer, _ = gt06.split_frames(buffer + data)
                for frame in frames:
                    if frame[3] == gt06.MSG_COMMAND:
                        await self._answer(frame[5:9])
                    else:
                        self.stats.acked += 1
        if self.writer is not None:
            self.writer.close()  # the gateway hung up: ``send`` logs in again

    async def _answer(self, server_flag: bytes) -> None:
        now = datetime.now(UTC)
        lat, lon, speed, course = self.wearer.position(now)
        report = Report(now, lat, lon, speed, course, round(self.wearer.battery),
                        self.wearer.charging)  # fmt: skip
        answer = f"Lat:{'N' if lat >= 0 else 'S'}{abs(lat):.6f},Lon:{'E' if lon >= 0 else 'W'}"
        answer += f"{abs(lon):.6f},Speed:{speed:.0f}"
        self.serial = (self.serial + 2) & 0xFFFF
        reply = gt06.encode_command_response(
            answer, int.from_bytes(server_flag, "big"), self.serial
        )
        await self.send([report])
        assert self.writer is not None
        self.writer.write(reply)

    async def send(self, reports: list[Report]) -> None:
        if self.writer is None or self.writer.is_closing():
            await self.close()
            await self.open()
            self.stats.connections += 1
        assert self.writer is not None
        for report in reports:
            frames = gt06_frames(report, self.serial)
            self.serial = (self.serial + len(frames)) & 0xFFFF
            for frame in frames:
                self.writer.write(frame)
            self.stats.sent += 1
        await self.writer.drain()

    async def close(self) -> None:
        if self.acks is not None:
            self.acks.cancel()
        if self.writer is not None:
            self.writer.close()


class _TeltonikaLink(_Link):
    """A Teltonika unit. A listener reads what the gateway sends: the 4-byte record count
    acknowledging each AVL packet, and Codec 12 commands, which it answers as an FMB unit
    answers ``getgps`` (a type 0x06 text reply) followed by a fresh record. Commands come
    with four zero bytes first, which is also how a refused packet is acknowledged; the
    simulator's packets are never refused, so zeros always start a command here.
    ``wearer`` (None for scripted wearers) says where the unit is when asked."""

    def __init__(
        self,
        identifier: str,
        host: str,
        port: int,
        stats: SimulatorStats,
        wearer: Wearer | None = None,
    ) -> None:
        self.identifier, self.host, self.port, self.stats = identifier, host, port, stats
        self.wearer = wearer
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.acks: asyncio.Queue[int] = asyncio.Queue()
        self.listener: asyncio.Task[None] | None = None
        self.answering: set[asyncio.Task[None]] = set()
        self.lock = asyncio.Lock()  # one packet in flight: acks come back in order
        self.last: Report | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        imei = self.identifier.encode()
        self.writer.write(len(imei).to_bytes(2, "big") + imei)
        if await asyncio.wait_for(self.reader.readexactly(1), 30) != teltonika.HANDSHAKE_ACCEPT:
            raise ConnectionError(f"gateway refused the handshake of {self.identifier}")
        self.acks = asyncio.Queue()
        self.listener = asyncio.create_task(self._listen(self.reader))

    async def _listen(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(Exception):
            while True:
                head = await reader.readexactly(4)
                if head != b"\x00\x00\x00\x00":
                    self.acks.put_nowait(int.from_bytes(head, "big"))
                    continue
                length = int.from_bytes(await reader.readexactly(4), "big")
                data = await reader.readexactly(length + 4)  # codec .. count, then CRC
                if data[0] == teltonika.CODEC_12:
                    task = asyncio.create_task(self._answer())
                    self.answering.add(task)
                    task.add_done_callback(self.answering.discard)
        self.acks.put_nowait(-1)  # the connection is gone

    def _now(self) -> Report | None:
        if self.wearer is None:
            return self.last
        now = datetime.now(UTC)
        lat, lon, speed, course = self.wearer.position(now)
        battery = round(self.wearer.battery)
        return Report(now, lat, lon, speed, course, battery, self.wearer.charging)

    async def _answer(self) -> None:
        report = self._now()
        if report is None or self.writer is None:
            return
        text = (
            f"GPS:1 Sat:8 Lat:{report.lat:.6f} Long:{report.lon:.6f} Alt:10 "
            f"Speed:{report.speed_kmh:.0f} Dir:{report.course:.0f} "
            f"Date: {report.time:%Y/%m/%d} Time: {report.time:%H:%M:%S}"
        ).encode("ascii")
        reply = b"\x06" + len(text).to_bytes(4, "big") + text
        async with self.lock:
            self.writer.write(teltonika.encode_packet(teltonika.CODEC_12, 1, reply))
        await self.send([report])

    async def send(self, reports: list[Report]) -> None:
        assert self.reader is not None
        assert self.writer is not None
        for start in range(0, len(reports), 50):
            chunk = reports[start : start + 50]
            async with self.lock:
                self.writer.write(teltonika_packet(chunk))
                self.stats.sent += len(chunk)
                ack = await asyncio.wait_for(self.acks.get(), 60)
            if ack < 0:
                raise ConnectionError("the gateway closed the connection")
            self.stats.acked += ack
            self.last = chunk[-1]

    async def close(self) -> None:
        if self.listener is not None:
            self.listener.cancel()
        for task in list(self.answering):
            task.cancel()
        if self.writer is not None:
            self.writer.close()


class _TextLink(_Link):
    """An H02, TK103, Queclink, Meitrack or Suntech unit, or a watch. A watch opens with an
    ``LK`` keep-alive, a TK103 with its login, and waits for the gateway's answer (an
    unregistered unit is hung up on). On-demand commands are answered as real units do: a
    watch answers ``CR`` with ``CR``, a Queclink unit ``AT+GTRTO`` with ``+ACK:GTRTO``, then
    each a fresh position; a TK103 answers its single locate, a Meitrack unit ``A10`` and a
    Suntech unit ``StatusReq`` with the position alone. Answers to positions and alarms are
    counted as acknowledgements."""

    def __init__(
        self, protocol: str, wearer: Wearer, host: str, port: int, stats: SimulatorStats
    ) -> None:
        self.protocol, self.wearer = protocol, wearer
        self.identifier, self.host, self.port, self.stats = wearer.identifier, host, port, stats
        self.writer: asyncio.StreamWriter | None = None
        self.listener: asyncio.Task[None] | None = None
        self.count = 0  # a Queclink unit's count number

    async def open(self) -> None:
        reader, self.writer = await asyncio.open_connection(self.host, self.port)
        greeting: bytes | None = None
        if self.protocol == "watch":
            battery = round(self.wearer.battery)
            greeting = watch.encode_frame("3G", self.identifier, f"LK,0,0,{battery}")
        elif self.protocol == "tk103":
            greeting = f"##,imei:{self.identifier},A;".encode("ascii")
        if greeting is not None:
            self.writer.write(greeting)
            if not await asyncio.wait_for(reader.read(64), 30):
                raise ConnectionError(f"gateway hung up on {self.identifier}")
        self.listener = asyncio.create_task(self._listen(reader))

    async def _listen(self, reader: asyncio.StreamReader) -> None:
        buffer = b""
        with contextlib.suppress(Exception):
            while data := await reader.read(4096):
                if self.protocol == "queclink":
                    if b"AT+GTRTO=" in data:
                        await self._answer()
                    self.stats.acked += data.count(b"+SACK:")
                    continue
                if self.protocol in _LOCATE_WORDS:  # these units are answered nothing else
                    if _LOCATE_WORDS[self.protocol] in data:
                        await self._answer()
                    continue
                split = watch.split_frames if self.protocol == "watch" else h02.split_frames
                frames, buffer, _ = split(buffer + data)
                for frame in frames:
                    if frame.endswith(b"*CR]"):
                        await self._answer()
                    else:
                        self.stats.acked += 1
        if self.writer is not None:
            self.writer.close()  # the gateway hung up: ``send`` connects again

    async def _answer(self) -> None:
        assert self.writer is not None
        if self.protocol == "watch":
            self.writer.write(watch.encode_frame("3G", self.identifier, watch.LOCATE_COMMAND))
        elif self.protocol == "queclink":
            self.writer.write(
                f"+ACK:GTRTO,{QUECLINK_VERSION},{self.identifier},,RTL,FFFF,"
                f"{datetime.now(UTC):%Y%m%d%H%M%S},{self._next_count():04X}$".encode("ascii")
            )
        now = datetime.now(UTC)
        lat, lon, speed, course = self.wearer.position(now)
        await self.send([Report(now, lat, lon, speed, course, round(self.wearer.battery),
                                self.wearer.charging)])  # fmt: skip

    async def send(self, reports: list[Report]) -> None:
        if self.writer is None or self.writer.is_closing():
            await self.close()
            await self.open()
            self.stats.connections += 1
        assert self.writer is not None
        for report in reports:
            for frame in self._frames(report):
                self.writer.write(frame)
            self.stats.sent += 1
        await self.writer.drain()

    def _frames(self, report: Report) -> list[bytes]:
        if self.protocol == "queclink":  # numbered: the unit counts its messages
            frames = queclink_frames(self.identifier, report, self.count)
            self.count = (self.count + len(frames)) % 0x10000
            return frames
        return _TEXT_ENCODERS[self.protocol](self.identifier, report)

    def _next_count(self) -> int:
        self.count = (self.count + 1) % 0x10000
        return self.count

    async def close(self) -> None:
        if self.listener is not None:
            self.listener.cancel()
        if self.writer is not None:
            self.writer.close()


class _OsmandLink(_Link):
    def __init__(self, identifier: str, host: str, port: int, stats: SimulatorStats) -> None:
        self.identifier, self.host, self.port, self.stats = identifier, host, port, stats
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def send(self, reports: list[Report]) -> None:
        for report in reports:
            self.stats.sent += 1
            head = await self._exchange(osmand_request(self.identifier, report, self.host))
            if head.split(b" ", 2)[1] == b"200":
                self.stats.acked += 1
            else:
                self.stats.errors += 1
            if b"connection: close" in head.lower():
                await self.close()

    def _readable(self) -> bool:
        return self.reader is not None and not self.reader.at_eof()

    async def _exchange(self, request: bytes) -> bytes:
        """Send one request and read the head of its answer. A keep-alive connection the
        gateway closed while it was idle (after ``handshake_timeout``, shorter than a slow
        report interval) is opened again, and a request that met such a close on its way is
        sent once more on a new connection, as HTTP clients do with a stale connection."""
        retried = False
        while True:
            if self.writer is None or self.writer.is_closing() or not self._readable():
                await self.open()
            assert self.reader is not None
            assert self.writer is not None
            self.writer.write(request)
            try:
                return await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 60)
            except (asyncio.IncompleteReadError, ConnectionError) as error:
                answered = isinstance(error, asyncio.IncompleteReadError) and error.partial
                if retried or answered:
                    raise
                retried = True
                self.writer.close()

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class _MqttLink(_Link):
    """Publishes through one shared paho client (the broker sees one topic per device)."""

    def __init__(self, identifier: str, client: Any, stats: SimulatorStats) -> None:
        self.topic = mqtt_json.topic_for(identifier)
        self.client, self.stats = client, stats
        self.published: list[Any] = []  # paho's MQTTMessageInfo of each publish

    async def open(self) -> None:
        return None

    async def send(self, reports: list[Report]) -> None:
        for start in range(0, len(reports), 100):
            chunk = reports[start : start + 100]
            self.published.append(self.client.publish(self.topic, mqtt_payload(chunk), qos=1))
            self.stats.sent += len(chunk)

    def flush(self, deadline: float) -> None:
        """Wait (until ``deadline``) for the broker to acknowledge what was published: a
        message published before the broker accepted the connection goes out only once it
        has, and stopping the client's network loop first would lose it."""
        for message in self.published:
            with contextlib.suppress(ValueError, RuntimeError):
                message.wait_for_publish(timeout=max(0.0, deadline - time.monotonic()))


async def _device(wearer: Wearer, link: _Link, options: SimulatorOptions, deadline: float,
                  stats: SimulatorStats) -> None:  # fmt: skip
    await asyncio.sleep(wearer.rng.uniform(0, min(options.rate, 5.0)))
    while time.monotonic() < deadline:
        try:
            await link.open()
            stats.connections += 1
            last = datetime.now(UTC) - timedelta(seconds=options.rate)
            while time.monotonic() < deadline:
                now = datetime.now(UTC)
                reports = wearer.step(now, (now - last).total_seconds())
                last = now
                if reports:
                    await link.send(reports)
                await _sleep_until(options.rate * wearer.rng.uniform(0.9, 1.1), deadline)
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as error:
            stats.errors += 1
            logger.info("device link failed", extra={"device": wearer.identifier,
                                                     "error": str(error)[:120]})  # fmt: skip
            await _sleep_until(min(options.rate, 10.0), deadline)
        finally:
            await link.close()


async def _sleep_until(seconds: float, deadline: float) -> None:
    """Sleep ``seconds``, or only until ``deadline``: a run of 2 s at one fix every 30 s
    ends after 2 s, not after the next fix's wait."""
    await asyncio.sleep(max(0.0, min(seconds, deadline - time.monotonic())))


def registered_identifiers(protocol: str) -> list[tuple[str, str]]:
    """(identifier, simulator protocol) of registered devices for ``protocol`` (or all)."""
    from ontrack.tracking.services.directory import device_directory

    wanted = {name: key for key, name in _PROTOCOL_NAMES.items()}
    found = []
    for identifier, info in sorted(device_directory().items()):
        key = wanted.get(info.protocol)
        if key is not None and (protocol == "all" or key == protocol):
            found.append((identifier, key))
    return found


def office_place(latitude: float | None, longitude: float | None, time_zone: str) -> Place | None:
    """An office's place, where its coordinates are known."""
    return None if latitude is None or longitude is None else (latitude, longitude, time_zone)


def wearer_places() -> dict[str, Place]:
    """Identifier -> the place of the office of the person wearing the device now: a wearer
    lives and works around their office, so that an office's live map shows its own
    caseload where it is (a random city put Newark's wearers in Los Angeles)."""
    from ontrack.tracking.models import DeviceAssignment

    rows = DeviceAssignment.objects.filter(ended_at__isnull=True).values_list(
        "device__identifier",
        "participant__office__latitude",
        "participant__office__longitude",
        "participant__office__time_zone",
    )
    return {
        identifier: place
        for identifier, lat, lon, zone in rows
        if (place := office_place(lat, lon, zone)) is not None
    }


async def simulate(
    options: SimulatorOptions,
    devices: list[tuple[str, str]],
    places: Mapping[str, Place] | None = None,
) -> SimulatorStats:
    """Run the wearers (each around its place in ``places``, if any) until
    ``options.duration`` is over (or forever)."""
    stats = SimulatorStats()
    deadline = time.monotonic() + (options.duration if options.duration else float("inf"))
    mqtt_client: Any = None
    if options.mqtt_host is None:
        devices = [(i, p) for i, p in devices if p != "mqtt"]
    if any(protocol == "mqtt" for _, protocol in devices):
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        # A client id of its own: a broker disconnects the older of two clients with one id,
        # so two simulators with the same seed (a demo and a test, say) would take turns.
        mqtt_client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"ontrack-sim-{os.getpid()}-{time.time_ns()}"
        )
        mqtt_client.max_queued_messages_set(0)
        mqtt_client.on_publish = lambda *args: setattr(stats, "acked", stats.acked + 1)
        try:
            mqtt_client.connect(options.mqtt_host, options.mqtt_port)
        except OSError as error:
            logger.warning("no MQTT broker; MQTT devices left out", extra={"error": str(error)})
            devices = [(i, p) for i, p in devices if p != "mqtt"]
            mqtt_client = None
        else:
            mqtt_client.loop_start()
    tasks = []
    mqtt_links: list[_MqttLink] = []
    for identifier, protocol in devices:
        wearer = Wearer.create(identifier, options.seed, (places or {}).get(identifier))
        port = options.port or options.ports.get(protocol) or DEFAULT_PORTS[protocol]
        link: _Link
        if protocol == "gt06":
            link = _Gt06Link(wearer, options.host, port, stats)
        elif protocol == "teltonika":
            link = _TeltonikaLink(identifier, options.host, port, stats, wearer)
        elif protocol == "osmand":
            link = _OsmandLink(identifier, options.host, port, stats)
        elif protocol in (*_TEXT_ENCODERS, "queclink"):
            link = _TextLink(protocol, wearer, options.host, port, stats)
        else:
            link = _MqttLink(identifier, mqtt_client, stats)
            mqtt_links.append(link)
        tasks.append(asyncio.create_task(_device(wearer, link, options, deadline, stats)))
    reporter = asyncio.create_task(_report(stats))
    try:
        await asyncio.gather(*tasks)
    finally:
        reporter.cancel()
        if mqtt_client is not None:
            flushed_by = time.monotonic() + 10
            for mqtt_link in mqtt_links:
                mqtt_link.flush(flushed_by)
            mqtt_client.disconnect()
            mqtt_client.loop_stop()
    return stats


async def _report(stats: SimulatorStats) -> None:
    while True:
        await asyncio.sleep(30)
        logger.info("simulator stats", extra={"sent": stats.sent, "acked": stats.acked,
                                              "errors": stats.errors})  # fmt: skip


def run_simulator(options: SimulatorOptions) -> int:
    """The ``ontrack simulate`` command: pick registered devices, then run them."""
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    devices = registered_identifiers(options.protocol)
    if not devices:
        logger.error(
            "no registered devices for this protocol", extra={"protocol": options.protocol}
        )
        return 2
    if len(devices) < options.devices:
        logger.warning(
            "fewer registered devices than asked for; simulating those",
            extra={"asked": options.devices, "registered": len(devices)},
        )
    devices = devices[: options.devices]
    logger.info("simulating", extra={"devices": len(devices), "protocol": options.protocol,
                                     "rate_s": options.rate, "seed": options.seed})  # fmt: skip
    # SIGTERM (how ``ontrack demo`` stops its children) ends the run like Ctrl-C: the links
    # close and one line says so, rather than the process vanishing mid-frame.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it
    try:
        stats = asyncio.run(simulate(options, devices, wearer_places()))
    except KeyboardInterrupt:
        logger.info("simulator stopped")
        return 0
    logger.info("simulator done", extra={"sent": stats.sent, "acked": stats.acked,
                                         "errors": stats.errors})  # fmt: skip
    return 0
