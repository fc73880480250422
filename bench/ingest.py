"""Positions stored per second through the real gateway, against raw executemany inserts.

    uv run python bench/ingest.py            # 10,000 GT06 devices, 60 s of load
    uv run python bench/ingest.py --quick    # 10,000 devices, 15 s
    uv run python bench/ingest.py --quick --workers 1   # one gateway process, not one per core
    uv run python bench/ingest.py --postgres postgresql://postgres@127.0.0.1:5432/ontrack_bench
    uv run python bench/ingest.py --quick --zones   # the same run without, then with zones
    uv run python bench/ingest.py --quick --protocol teltonika   # or osmand, h02, watch

A fresh ontrack home (SQLite unless --postgres) gets 10,000 registered GT06 devices; the
gateway runs as its own processes (`ontrack gateway --workers N`, default one per core);
one client process opens 10,000 TCP connections on loopback, logs every device in, then
sends 0x12 location frames at a fixed total rate. Positions are counted as stored when the
gateway acknowledges them (it does so once they are durable): the client records how many
it has sent and how many were acknowledged every 50 ms, and the database is counted only
before and after the load (an acknowledged position it lacks is an error). A protocol
without acknowledgements (H02, Watch) is counted by polling the positions table instead.
Positions/s is measured over the steady part of the run, and the delay from "frame sent"
to "acknowledged" (or "counted as stored") matches the k-th frame sent with the moment the
k-th position was acknowledged (frames are sent and stored in nearly FIFO order, so this
is a close upper estimate). The baseline inserts the same rows with one sqlite3
executemany per 5,000 rows into a copy of the table in the same file.

``--protocol`` (default gt06): the devices are registered for, and the client speaks, another
protocol through its own gateway server, with its real handshake and acknowledgements:
Teltonika sends its IMEI, waits for the accept byte, then Codec 8 AVL packets of
``TELTONIKA_RECORDS`` records, each waiting for the record-count ack before the next; OsmAnd
sends one HTTP GET per position on a keep-alive connection and waits for each 200; H02
(``V1``) and Watch (``UD``, after an ``LK`` answered by the gateway) write text frames and
move on, as those units do. The offered rate is in positions (a Teltonika packet carries
several), so the stored rate compares across protocols: what differs is the decoder, the
framing and how much waiting on acknowledgements the protocol imposes on a connection.

``--zones``: every device is worn by a participant, and the load runs twice on the same
fleet, first with no zones, then with three zones per participant as in ``bench/zones.py``
(a home circle with a weekday curfew around where the device reports, an exclusion polygon
of 20-200 vertices 1-4 km away, one anywhere in town; a few of the latter cover the device,
so violations are raised too). The gateway's hand-off then runs the zone engine on every
stored batch, as in production; the slowdown is the stored rate with zones against without.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import math
import os
import platform
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _imei(n: int) -> str:
    return f"86{n:013d}"


# --- per-protocol device behaviour -------------------------------------------------------
#
# The client speaks each protocol as its devices do, with the project's own frame builders
# (``protocols.*`` encoders and the simulator's ``*_frames``/``*_packet``/``osmand_request``),
# so the bench exercises the same bytes, handshakes and acknowledgements as the field. What
# differs between protocols is only this table; the load loop is one.


async def _read_byte(reader: asyncio.StreamReader) -> bytes:
    return await reader.readexactly(1)


async def _read_bracketed(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"]")


async def _read_count(reader: asyncio.StreamReader) -> bytes:
    """A Teltonika acknowledgement: the record count, four bytes; zero refuses the packet
    (its positions were not stored, so the bench must not go on counting them as sent)."""
    ack = await reader.readexactly(4)
    if ack == bytes(4):
        raise ConnectionError("packet refused")
    return ack


async def _read_http(reader: asyncio.StreamReader) -> bytes:
    """One HTTP response (head and body); a status other than 200 ends the connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    if head.split(b" ", 2)[1] != b"200":
        raise ConnectionError(head.split(b"\r\n", 1)[0].decode("latin-1"))
    return head


Encode = Callable[[str, list[Any], int], bytes]


def _gt06_acks(buffer: bytearray) -> int:
    """Location acknowledgements (protocol 0x12) among the whole frames at the head of
    ``buffer``, which are consumed; a frame cut by the read stays for the next one. The
    gateway answers a bench device only with short (0x78 0x78) frames: its login and
    location acknowledgements."""
    acked = 0
    while len(buffer) >= 5:
        end = buffer[2] + 5
        if len(buffer) < end:
            break
        acked += buffer[3] == 0x12
        del buffer[:end]
    return acked


@dataclass(frozen=True, slots=True)
class Profile:
    """How one protocol's devices talk: ``per_frame`` positions go into one frame built by
    ``encode(identifier, reports, serial)``; ``hello`` (if any) is sent on connecting and,
    with ``hello_answer``, answered before the load; with ``ack`` the device waits for that
    answer to each frame before sending its next one (Teltonika's record count, an HTTP
    response), otherwise it writes and moves on, and ``acks`` (if any) counts the positions
    acknowledged among the gateway's answers (GT06 echoes each location frame once stored).
    """

    name: str  # Device.protocol, and the gateway's --<name>-port option
    per_frame: int
    encode: Encode
    hello: Callable[[str], bytes] | None = None
    hello_answer: Callable[[asyncio.StreamReader], Awaitable[bytes]] | None = None
    ack: Callable[[asyncio.StreamReader], Awaitable[bytes]] | None = None
    acks: Callable[[bytearray], int] | None = None


def _profiles() -> dict[str, Profile]:
    """The protocols the bench can drive (imported late: the client process sets the path)."""
    from ontrack.tracking.protocols import gt06, watch
    from ontrack.tracking.simulator import wearers as simulator

    def gt06_frame(_identifier: str, reports: list[Any], serial: int) -> bytes:
        # The frame the bench always sent (0x12 GPS+LBS, no cell): GT06 figures stay comparable.
        (report,) = reports
        return gt06.encode_gps_lbs(time=report.time, lat=report.lat, lon=report.lon, serial=serial)

    def one(build: Callable[[str, Any], list[bytes]]) -> Encode:
        return lambda identifier, reports, _serial: b"".join(build(identifier, reports[0]))

    return {
        "gt06": Profile(
            "gt06", 1, gt06_frame,
            hello=lambda imei: simulator.gt06_login(imei, 1), acks=_gt06_acks,
        ),
        "teltonika": Profile(
            "teltonika", TELTONIKA_RECORDS,
            lambda _identifier, reports, _serial: simulator.teltonika_packet(reports),
            hello=lambda imei: len(imei).to_bytes(2, "big") + imei.encode(),
            hello_answer=_read_byte, ack=_read_count,
        ),
        "osmand": Profile(
            "osmand", 1,
            lambda identifier, reports, _serial: simulator.osmand_request(
                identifier, reports[0], "127.0.0.1"
            ),
            ack=_read_http,
        ),
        "h02": Profile("h02", 1, one(simulator.h02_frames)),
        "watch": Profile(
            "watch", 1, one(simulator.watch_frames),
            hello=lambda imei: watch.encode_frame("3G", imei, "LK,0,0,90"),
            hello_answer=_read_bracketed,
        ),
    }  # fmt: skip


PROTOCOLS = ("gt06", "teltonika", "osmand", "h02", "watch")
TELTONIKA_RECORDS = 5  # records per AVL packet: a unit sends what it buffered since the last


class _Device:
    """One device's connection over streams. Without an ``ack`` a frame is written at once
    and the answers are drained; with one, frames queue and a pump sends the next only when
    the previous is answered, so the client waits as a real device does (and the bench
    counts a position as sent when it goes on the wire). ``counter``: positions sent,
    failed devices, positions acknowledged."""

    def __init__(
        self, profile: Profile, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
        counter: list[int],
    ) -> None:  # fmt: skip
        self.profile, self.reader, self.writer, self.counter = profile, reader, writer, counter
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        self.task = loop.create_task(
            self._pump() if profile.ack else _drain(reader, profile.acks, counter)
        )

    def offer(self, frame: bytes) -> None:
        if self.profile.ack is None:
            self.writer.write(frame)
            self.counter[0] += self.profile.per_frame
        else:
            self.queue.put_nowait(frame)

    async def _pump(self) -> None:
        """Send queued frames one at a time, each once the previous one is answered. A
        refusal or a closed connection ends the device and is counted (``counter[1]``):
        the main process prints it, since a silent failure would only lower the rate."""
        assert self.profile.ack is not None
        try:
            while True:
                frame = await self.queue.get()
                self.writer.write(frame)
                self.counter[0] += self.profile.per_frame
                await self.profile.ack(self.reader)
                self.counter[2] += self.profile.per_frame
        except (ConnectionError, asyncio.IncompleteReadError):
            self.counter[1] += 1


class _Writing(asyncio.Protocol):
    """A device that writes its frames and moves on (GT06, H02), as a Protocol: its answers
    are counted where they arrive, with no stream, task or wake-up per answer. The load
    generator shares the gateway's cores, so what it spends per answer is taken from the
    system under test (``bench/RESULTS.md``, "Counting by acknowledgements, and a cheaper
    load client")."""

    def __init__(self, profile: Profile, counter: list[int]) -> None:
        self.profile, self.counter = profile, counter
        self.transport: asyncio.Transport | None = None
        self.answers = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.profile.acks is not None:
            self.answers += data
            self.counter[2] += self.profile.acks(self.answers)

    def offer(self, frame: bytes) -> None:
        assert self.transport is not None
        self.transport.write(frame)
        self.counter[0] += self.profile.per_frame


async def _connect(
    profile: Profile, port: int, identifier: str, counter: list[int]
) -> _Device | _Writing:
    if profile.ack is None and profile.hello_answer is None:
        transport, device = await asyncio.get_running_loop().create_connection(
            lambda: _Writing(profile, counter), "127.0.0.1", port
        )
        if profile.hello is not None:
            transport.write(profile.hello(identifier))
        return device
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if profile.hello is not None:
        writer.write(profile.hello(identifier))
        if profile.hello_answer is not None:
            await asyncio.wait_for(profile.hello_answer(reader), 60)
    return _Device(profile, reader, writer, counter)


async def _client(
    port: int, devices: int, rate: float, duration: float, warm: bool, protocol: str = "gt06"
) -> None:
    """Client process: connect every device (with its protocol's handshake), then send at
    ``rate`` positions/s, frame ``k`` to device ``k % devices``. ``warm``: first one
    position per device (a minute before the load's fixes), then wait for a line on stdin
    (the main process sends it once those are stored)."""
    sys.path.insert(0, str(ROOT / "src"))
    from ontrack.tracking.simulator.wearers import Report

    profile = _profiles()[protocol]
    per = profile.per_frame

    def report(when: datetime, n: int) -> Report:
        return Report(when, 40.0 + n * 1e-5, -74.0, 0.0, 0.0, 90, False)

    # Every frame is encoded before the load starts, so that sending costs one
    # transport.write and the load generator (on the same cores) leaves the CPU to the gateway.
    base = datetime(2026, 1, 1, tzinfo=UTC)
    total = int(rate * duration) // per + 1
    frames = []
    for k in range(total):
        n, round_ = k % devices, k // devices
        reports = [report(base + timedelta(seconds=round_ * per + i), n) for i in range(per)]
        frames.append(profile.encode(_imei(n), reports, k & 0xFFFF))
    counter = [0, 0, 0]  # positions on the wire, devices whose connection failed, acknowledged
    links: list[_Device | _Writing] = []
    for start in range(0, devices, 500):
        links += await asyncio.gather(
            *(
                _connect(profile, port, _imei(n), counter)
                for n in range(start, min(start + 500, devices))
            )
        )
    print(json.dumps({"connected": len(links)}), flush=True)
    await asyncio.sleep(1)  # let the gateway finish the logins before the clock starts
    if warm:
        for n, link in enumerate(links):
            link.offer(profile.encode(_imei(n), [report(base - timedelta(minutes=1), n)], 1))
        print(json.dumps({"warm": len(links)}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    counter[0] = 0
    marks: list[tuple[float, int, int]] = []  # (time, positions sent, acknowledged)
    offered = 0
    started = time.monotonic()
    tick = 0.05
    while time.monotonic() - started < duration:
        due = min(int((time.monotonic() - started) * rate) // per, total)
        while offered < due:
            links[offered % devices].offer(frames[offered])
            offered += 1
        marks.append((time.time(), counter[0], counter[2]))
        await asyncio.sleep(tick)
    if _acknowledged(profile):
        # The backlog of a saturated gateway is acknowledged after the load: wait for it
        # (while it moves), so that every stored position has its mark.
        moved = time.monotonic()
        expected = counter[0] + (len(links) if warm else 0)
        while counter[2] < expected and time.monotonic() - moved < 5:
            acked = counter[2]
            await asyncio.sleep(tick)
            marks.append((time.time(), counter[0], counter[2]))
            if counter[2] != acked:
                moved = time.monotonic()
    else:
        await asyncio.sleep(3)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    report_ = {"sent": counter[0], "marks": marks, "cpu": cpu, "failed": counter[1]}
    print(json.dumps(report_), flush=True)


def _acknowledged(profile: Profile) -> bool:
    """Whether the gateway's answers say which positions are durable (GT06 echoes each
    location frame, Teltonika its record count, OsmAnd its 200): then the bench counts
    what is stored from the acknowledgements, as a device would, and not by polling the
    database during the load."""
    return profile.acks is not None or profile.ack is not None


async def _drain(
    reader: asyncio.StreamReader, acks: Callable[[bytearray], int] | None, counter: list[int]
) -> None:
    """Read the gateway's answers to a device that does not wait for them, counting the
    acknowledged positions in ``counter[2]`` when the protocol's answers say so."""
    buffer = bytearray()
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(4096):
            if acks is not None:
                buffer += chunk
                counter[2] += acks(buffer)


def _tree_cpu(pid: int) -> float:
    """CPU seconds used so far by process ``pid`` and its direct children (the gateway and
    its workers), from /proc."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def _raise_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=25_000, help="frames/s offered")
    parser.add_argument("--duration", type=float)
    parser.add_argument("--postgres")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="gateway processes (one per core)"
    )
    parser.add_argument(
        "--zones", action="store_true", help="run without, then with 3 zones per wearer"
    )
    parser.add_argument(
        "--protocol", choices=PROTOCOLS, default="gt06", help="what the devices speak (gt06)"
    )
    parser.add_argument(
        "--client", nargs=6, metavar=("PORT", "DEVICES", "RATE", "DURATION", "WARM", "PROTOCOL")
    )
    args = parser.parse_args()
    _raise_limit()
    if args.client:
        port, devices, rate, duration, warm, protocol = args.client
        asyncio.run(
            _client(int(port), int(devices), float(rate), float(duration), warm == "1", protocol)
        )
        return
    duration = args.duration or (15.0 if args.quick else 60.0)
    home, env = home_setup("ingest", args.postgres)
    from django.db import connection

    fleet_register(args.devices, args.protocol)
    if args.zones:
        wearers(args.devices)
    connection.close()
    runs = [False, True] if args.zones else [False]
    figures = {}
    for with_zones in runs:
        if with_zones:
            zones_made = zones(args.devices)
            print(f"\nzones: {zones_made:,} zones on {args.devices:,} participants", flush=True)
        _positions_empty(connection)
        figures[with_zones] = _run(args, env, home, duration, with_zones)
    rate, baseline, cpu = figures[runs[-1]]
    if args.zones:
        without, _, cpu_without = figures[False]
        slowdown = (1 - rate / without) * 100 if without else float("nan")
        print(
            f"zones: stored {without:.0f}/s without zones, {rate:.0f}/s with zones: "
            f"slowdown {slowdown:.1f} %; gateway CPU per position during the load "
            f"{cpu_without * 1e6:.1f} us without, {cpu * 1e6:.1f} us with zones: "
            f"{(cpu / cpu_without - 1) * 100:+.1f} %"
        )
    # GT06 keeps the metric's old name, so earlier results stay comparable.
    metric = "ingest_positions_per_s"
    if args.protocol != "gt06":
        metric = f"ingest_{args.protocol}_positions_per_s"
    print(
        f"RESULT {metric}={rate:.0f} positions/s baseline={baseline:.0f} "
        f"ratio={rate / baseline if baseline else 0:.2f}"
    )


def home_setup(name: str, database_url: str | None) -> tuple[Path, dict[str, str]]:
    """A fresh ``bench/var/<name>`` home on ``database_url`` (SQLite in the home if None),
    migrated, with Django set up in this process; returns the home and the environment the
    ontrack processes are started with."""
    home = HERE / "var" / name
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = {**os.environ, "ONTRACK_HOME": str(home), "ONTRACK_LOG_LEVEL": "INFO"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    if database_url:
        env["ONTRACK_DATABASE_URL"] = database_url
    else:
        env.pop("ONTRACK_DATABASE_URL", None)
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "ontrack.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return home, env


def fleet_register(devices: int, protocol: str) -> None:
    """``devices`` registered devices of ``protocol`` and nothing else tracked (a PostgreSQL
    database is reused between runs)."""
    from ontrack.tracking.models import Device, Position

    Position.objects.all().delete()
    _wearers_delete()
    Device.objects.all().delete()
    Device.objects.bulk_create(
        [Device(identifier=_imei(n), kind="ankle", protocol=protocol) for n in range(devices)],
        batch_size=2000,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def gateway_argv(protocol: str, port: int, workers: int, stats_interval: float) -> list[str]:
    """``ontrack gateway`` with only ``protocol`` listening (on ``port``), MQTT off."""
    ports = [
        argument
        for name in (*PROTOCOLS, "tk103", "queclink", "meitrack", "suntech")
        for argument in (f"--{name}-port", str(port) if name == protocol else "off")
    ]
    return [
        sys.executable, "-m", "ontrack.cli", "gateway", "--host", "127.0.0.1", *ports,
        "--mqtt-host", "off", "--stats-interval", str(stats_interval), "--workers", str(workers),
    ]  # fmt: skip


def wearers(devices: int) -> None:
    """One enrolled participant per device, wearing it (bulk rows: the bench measures the
    gateway, not enrolment)."""
    from django.utils import timezone

    from ontrack.accounts.models import Office, Program
    from ontrack.participants.models import Participant
    from ontrack.tracking.models import Device, DeviceAssignment

    program = Program.objects.create(name="Bench program")
    office = Office.objects.create(program=program, name="Bench office")
    now = timezone.now()
    people = Participant.objects.bulk_create(
        [
            Participant(
                program=program,
                office=office,
                case_number=f"B-{n:06d}",
                given_name="Bench",
                family_name=f"Wearer {n}",
                date_of_birth=date(1990, 1, 1),
                time_zone="America/New_York",
                enrolled_at=now,
            )
            for n in range(devices)
        ],
        batch_size=2000,
    )
    by_identifier = dict(Device.objects.values_list("identifier", "pk"))
    DeviceAssignment.objects.bulk_create(
        [
            DeviceAssignment(device_id=by_identifier[_imei(n)], participant=p, started_at=now)
            for n, p in enumerate(people)
        ],
        batch_size=2000,
    )
    Device.objects.update(status="assigned")


def _positions_empty(connection: Any) -> None:
    """Start each run from an empty positions table. On PostgreSQL a DELETE leaves the last
    run's rows as dead tuples (autovacuum may be off, as on the development server), and the
    bench's own ``count(*)`` poll then scans them every 0.2 s on the gateway's cores: the
    second run (with zones) would pay for the first. TRUNCATE and VACUUM ANALYZE give both
    runs the same clean start."""
    from ontrack.tracking.models import Position

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE tracking_position")
            cursor.execute("VACUUM ANALYZE")
    else:
        Position.objects.all().delete()
    connection.close()


def _wearers_delete() -> None:
    from ontrack.accounts.models import Office, Program
    from ontrack.participants.models import Participant
    from ontrack.tracking.models import DeviceAssignment
    from ontrack.zones.models import Zone

    Zone.objects.filter(program__name="Bench program").delete()
    DeviceAssignment.objects.filter(participant__program__name="Bench program").delete()
    Participant.objects.filter(program__name="Bench program").delete()
    Office.objects.filter(program__name="Bench program").delete()
    Program.objects.filter(name="Bench program").delete()


def wearers_by_device() -> dict[str, tuple[int, int, int]]:
    """Each worn device's identifier: its wearer's (participant, program, office)."""
    from ontrack.tracking.models import DeviceAssignment

    return {
        identifier: (pid, program_id, office_id)
        for identifier, pid, program_id, office_id in DeviceAssignment.objects.values_list(
            "device__identifier",
            "participant_id",
            "participant__program_id",
            "participant__office_id",
        )
    }


def zones(devices: int, seed: int = 7) -> int:
    """Three zones per wearer around the line the client's devices report along (device n
    at 40.0 + n * 1e-5 N, 74.0 W), made as rows with what ``zone_create`` would store."""
    import random

    from ontrack.zones.engine import M_PER_DEG
    from ontrack.zones.models import Zone

    rng = random.Random(seed)
    wearer = wearers_by_device()
    curfew = [{"days": [0, 1, 2, 3, 4], "start": "20:00", "end": "06:00"}]

    def offset(lat: float, lon: float, north: float, east: float) -> tuple[float, float]:
        return lat + north / M_PER_DEG, lon + east / (M_PER_DEG * math.cos(math.radians(lat)))

    def star(lat: float, lon: float, radius: float) -> dict:
        n = rng.randint(20, 200)
        angles = sorted(rng.uniform(0, 2 * math.pi) for _ in range(n))
        ring = []
        for a in angles:
            r = radius * rng.uniform(0.6, 1.0)
            plat, plon = offset(lat, lon, r * math.cos(a), r * math.sin(a))
            ring.append([plon, plat])
        return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}

    rows = []
    for n in range(devices):
        lat, lon = 40.0 + n * 1e-5, -74.0
        shift = rng.uniform(1_000, 3_000)
        d, a = 8_000 * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        geometries = [
            ("Home", "inclusion", 25.0, curfew,
             {"type": "Circle", "center": [lon, lat], "radius_m": rng.uniform(80, 200)}),
            ("Near work", "exclusion", 25.0, [],
             star(*offset(lat, lon, shift, shift), rng.uniform(100, 400))),
            ("Elsewhere", "exclusion", 50.0, [],
             star(*offset(lat, lon, d * math.cos(a), d * math.sin(a)), rng.uniform(150, 600))),
        ]  # fmt: skip
        rows += [zone_row(wearer[_imei(n)], *zone) for zone in geometries]
    Zone.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def zone_row(
    wearer: tuple[int, int, int],
    name: str,
    kind: str,
    buffer_m: float,
    schedule: list,
    geometry: dict,
) -> Any:
    """A participant's zone as ``zone_create`` would store it; ``wearer`` is (participant,
    program, office)."""
    from ontrack.zones.models import Zone
    from ontrack.zones.services import geometry_bbox

    pid, program_id, office_id = wearer
    min_lon, min_lat, max_lon, max_lat = geometry_bbox(geometry)
    return Zone(
        program_id=program_id,
        office_id=office_id,
        participant_id=pid,
        name=name,
        kind=kind,
        geometry=geometry,
        min_lon=min_lon,
        min_lat=min_lat,
        max_lon=max_lon,
        max_lat=max_lat,
        buffer_m=buffer_m,
        schedule=schedule,
    )


def _run(
    args: argparse.Namespace, env: dict[str, str], home: Path, duration: float, with_zones: bool
) -> tuple[float, float, float]:
    """One load run against a fresh gateway; prints its figures, returns (stored/s,
    baseline rows/s, gateway CPU seconds per stored position)."""
    from django.db import connection

    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    port = free_port()
    gateway = subprocess.Popen(
        gateway_argv(args.protocol, port, args.workers, 5),
        env=env, stderr=open(home / "gateway.log", "w"),  # noqa: SIM115 - lives as long as the gateway
    )  # fmt: skip
    port_wait(port)
    client = subprocess.Popen(
        [sys.executable, __file__, "--client", str(port), str(args.devices), str(args.rate),
         str(duration), "1" if args.zones else "0", args.protocol],
        env=env, stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert client.stdout is not None
    assert client.stdin is not None
    connected = json.loads(client.stdout.readline())["connected"]
    stored_marks: list[tuple[float, int]] = []

    first_rowid: list[int] = []

    def stored() -> int:
        """Rows stored so far. count(*) scans the table (tens of ms at a million rows, on the
        gateway's cores); on SQLite the bench stores every frame once into a fresh table, so
        rowids are dense and max(rowid) - min(rowid) + 1 is the count from two b-tree seeks."""
        if args.postgres:
            return counted()
        with connection.cursor() as cursor:
            if not first_rowid:
                cursor.execute("SELECT min(rowid) FROM tracking_position")
                low = cursor.fetchone()[0]
                if low is None:
                    return 0
                first_rowid.append(int(low))
            cursor.execute("SELECT max(rowid) FROM tracking_position")
            return int(cursor.fetchone()[0]) - first_rowid[0] + 1

    def zone_wearers() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(DISTINCT participant_id) FROM zones_zonestate")
            return int(cursor.fetchone()[0])

    def counted() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM tracking_position")
            return int(cursor.fetchone()[0])

    warm = 0
    if args.zones:
        # One fix per device first, untimed (as bench/zones.py warms its engine): a running
        # gateway has its zones' geometry and state loaded; a fresh one loads them on each
        # device's first fix, which is timed here separately.
        warm = json.loads(client.stdout.readline())["warm"]
        began = time.monotonic()
        while stored() < warm and time.monotonic() - began < 300:
            connection.close()
            time.sleep(0.2)
        print(f"warm-up: first fix of {warm:,} devices stored in {time.monotonic() - began:.1f} s")
        # Positions are committed before the hand-off, which then compiles every wearer's
        # zones: the load starts once each wearer has zone state, or it would be timed
        # against a writer still busy warming up (minutes on a loaded machine).
        while with_zones and zone_wearers() < warm and time.monotonic() - began < 600:
            connection.close()
            time.sleep(0.2)
        if with_zones:
            print(f"warm-up: zones of {warm:,} wearers in {time.monotonic() - began:.1f} s")
    # A count(*) of a million PostgreSQL rows every 0.2 s took about a third of a 2-core
    # machine from the gateway: where the protocol acknowledges durable positions, the
    # client's marks of acknowledgements count them instead, and the database is counted
    # before and after.
    acknowledged = _acknowledged(_profiles()[args.protocol])
    load_cpu = _tree_cpu(gateway.pid)
    load_stored = stored()
    client.stdin.write("go\n")
    client.stdin.flush()
    while client.poll() is None:
        if not acknowledged:
            stored_marks.append((time.time(), stored()))
            connection.close()
        time.sleep(0.2)
    output = client.stdout.read()
    report = json.loads(output.strip().splitlines()[0])
    sent_total = report["sent"]
    sent_marks = [(t, sent) for t, sent, _acked in report["marks"]]
    if acknowledged:
        stored_marks = [(t, acked) for t, _sent, acked in report["marks"]]
    else:
        for _ in range(100):
            stored_marks.append((time.time(), stored()))
            if stored_marks[-1][1] >= sent_total + warm:
                break
            time.sleep(0.2)
    load_cpu = _tree_cpu(gateway.pid) - load_cpu
    load_stored = stored_marks[-1][1] - load_stored
    gateway.terminate()
    gateway.wait(timeout=60)
    total = counted()
    # CPU of the gateway's processes (the main one reaps its workers): all children's
    # time during the run less the client's own. Less sensitive than stored/s to other
    # work on the machine.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    gateway_cpu = (
        children.ru_utime
        + children.ru_stime
        - children_before.ru_utime
        - children_before.ru_stime
        - report["cpu"]
    )
    # steady state: from 20 % to 90 % of the load period
    t0, t1 = sent_marks[0][0], sent_marks[-1][0]
    window = [(t, n) for t, n in stored_marks if t0 + 0.2 * (t1 - t0) <= t <= t0 + 0.9 * (t1 - t0)]
    rate = (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0]) if len(window) > 1 else 0
    stored_times = [t for t, _ in stored_marks]
    stored_counts = [n for _, n in stored_marks]
    delays = []
    for t_sent, k in sent_marks[:: max(1, len(sent_marks) // 200)]:
        index = bisect.bisect_left(stored_counts, k + warm)
        if index < len(stored_times):
            delays.append(max(0.0, stored_times[index] - t_sent))
    delays.sort()
    p99 = delays[int(len(delays) * 0.99) - 1] * 1000 if delays else float("nan")

    baseline = _baseline(connection, args.postgres is not None)
    print(
        f"\nmachine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"database: {'PostgreSQL' if args.postgres else 'SQLite'}"
    )
    print(
        f"devices connected: {connected}, positions sent: {sent_total + warm} "
        f"({warm} warm-up), positions stored: {total}"
        + (f", acknowledged: {stored_marks[-1][1]}" if acknowledged else "")
    )
    if acknowledged and stored_marks[-1][1] > total:
        print(f"ERROR: {stored_marks[-1][1] - total} acknowledged positions are not stored")
    print(
        f"protocol: {args.protocol}; offered rate: {args.rate:.0f} positions/s over "
        f"{duration:.0f} s; gateway workers: {args.workers}; client CPU: {report['cpu']:.1f} s; "
        f"devices whose connection failed: {report['failed']}"
    )
    durable = "acknowledged" if acknowledged else "durable"
    print(f"sustained stored rate: {rate:.0f} positions/s; p99 sent->{durable}: {p99:.0f} ms")
    print(f"baseline raw executemany: {baseline:.0f} rows/s")
    # A gateway that stored nothing during the load (a saturated machine) has no CPU per
    # position: NaN, not a ZeroDivisionError that loses the run's other figures.
    per_position = load_cpu / load_stored if load_stored else float("nan")
    print(
        f"gateway CPU: {gateway_cpu:.1f} s for {total:,} positions = "
        f"{gateway_cpu / total * 1e6:.1f} us per position (whole run); during the load "
        f"(after the warm-up): {load_cpu:.1f} s for {load_stored:,} = "
        f"{per_position * 1e6:.1f} us per position"
    )
    return rate, baseline, per_position


def port_wait(port: int, timeout: float = 60) -> None:
    """Until something listens on ``port`` (a process starting), at most ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)


def _baseline(connection: object, postgres: bool) -> float:
    """Insert the stored rows again with executemany, 5,000 per transaction."""
    from django.db import connection as db

    with db.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_position_copy")
        if postgres:
            cursor.execute(
                "CREATE TABLE bench_position_copy (LIKE tracking_position INCLUDING ALL)"
            )
        else:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'tracking_position'")
            sql = cursor.fetchone()[0].replace('"tracking_position"', '"bench_position_copy"', 1)
            cursor.execute(sql)
        cursor.execute("SELECT * FROM tracking_position")
        rows = cursor.fetchall()
        columns = len(rows[0]) if rows else 0
    if not rows:
        return 0.0
    marker = "%s" if postgres else "?"
    statement = f"INSERT INTO bench_position_copy VALUES ({', '.join([marker] * columns)})"
    raw = db.connection
    started = time.perf_counter()
    for start in range(0, len(rows), 5000):
        chunk = rows[start : start + 5000]
        cursor = raw.cursor()
        cursor.executemany(statement, chunk)
        raw.commit()
    elapsed = time.perf_counter() - started
    return len(rows) / elapsed


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
