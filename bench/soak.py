"""The soak: every process's memory flat, no error lines, every acknowledged position stored.

    uv run python bench/soak.py                  # 30 min, 5,000 positions/s, 10,000 devices
    uv run python bench/soak.py --quick          # 45 s at 1,000 positions/s
    uv run python bench/soak.py --quick --sqlite # on SQLite in bench/var/soak
    uv run python bench/soak.py --minutes 10 --rate 3000 --postgres postgresql://...

The processes run as a user runs them, each with its log in ``bench/var/soak/logs/``:
``ontrack serve``, ``ontrack worker`` (the periodic jobs, every ``--jobs-every`` seconds
through ``ONTRACK_JOBS_EVERY_S``, and the outbox sender) and ``ontrack gateway --workers 2``.
The database is PostgreSQL: by default a scratch database ``ontrack_bench_soak`` that the
bench creates and drops (it refuses to start if one by that name already exists: it drops
only what it made), or the one ``--postgres`` names (neither created nor dropped), or
SQLite with ``--sqlite``.

The fleet is that of ``bench/ingest.py --zones``: 10,000 GT06 devices, each worn by a
participant with three zones (home with a curfew, two exclusion zones). One device in 100
also makes excursions: every ``half`` period (two minutes, less for short runs) it reports
from inside one more exclusion zone of its wearer's, then from home again, so violations
keep being raised and cleared through the run. The program raises exclusion alerts with no
grace and a notification rule e-mails every one to a fixed address, so the outbox (console
provider: the worker's log) keeps sending.

One client process (``bench/ingest.py``'s devices) opens the 10,000 connections, logs them
in, then sends GT06 location frames at ``--rate`` positions/s, each device's fixes a few
seconds apart at the wall clock's time, and counts the acknowledgements the gateway sends
once a frame is stored. Every 30 s (a tenth of a short run) the bench samples each
process's RSS and CPU (gateway workers included) and asks the web app for ``/readyz``.

At the end, per process: RSS after warm-up (3 minutes in, or 20 % of a shorter run) and at
the end of the load, its growth, average CPU, and the error and traceback lines in its log;
then positions sent, acknowledged and stored, duplicates by device and fix time, alerts
raised and outbox messages sent. The last line's baseline is the issue's target, growth
under 5 %: ``ratio`` under 1 passes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ingest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCRATCH_SERVER = "postgresql://postgres@127.0.0.1:5432"
SCRATCH_NAME = "ontrack_bench_soak"
WANDER_EVERY = 100  # one device in this many makes excursions
EXCURSION_DEG = 0.02  # its excursion zone: this far north of home (2.2 km)
EXCURSION_RADIUS_M = 300.0
TARGET_GROWTH_PCT = 5.0  # the target


def _excursion_half(duration: float) -> float:
    """Seconds out, then seconds home, of an excursion: two minutes, or a sixth of a short
    run, so that even a quick run goes out and comes back a few times."""
    return min(120.0, duration / 6)


def _fix_lat(n: int, fix_s: float, half: float) -> float:
    """Where device ``n`` reports from ``fix_s`` seconds into the load."""
    lat = 40.0 + n * 1e-5
    if n % WANDER_EVERY == 0 and int(fix_s / half) % 2:
        lat += EXCURSION_DEG
    return lat


# --- the client process -------------------------------------------------------------------


async def _client(port: int, devices: int, rate: float, duration: float) -> None:
    """Connect and log in every device, send one fix each and wait until they are
    acknowledged (the gateway has read each wearer's zones, as a running gateway has; at
    most 15 minutes), then send ``rate`` positions/s for ``duration`` s,
    frame ``k`` to device ``k % devices``; each device's fixes are ``devices / rate`` s
    apart, stamped with the wall clock. Frames are encoded as they go (a 30-minute run's
    would not fit in memory). Once sent, wait until every frame is acknowledged or none has
    been for 30 s (at most two minutes: a gateway far behind the offer would take hours),
    then print what was sent, acknowledged, and acknowledged during the load."""
    from ontrack.tracking.simulator.wearers import Report

    profile = ingest._profiles()["gt06"]
    counter = [0, 0, 0]  # sent, failed devices, acknowledged
    links: list[ingest._Device | ingest._Writing] = []
    for start in range(0, devices, 500):
        links += await asyncio.gather(
            *(
                ingest._connect(profile, port, ingest._imei(n), counter)
                for n in range(start, min(start + 500, devices))
            )
        )
    print(json.dumps({"connected": len(links)}), flush=True)
    await asyncio.sleep(1)  # the gateway finishes the logins before the clock starts
    step = devices / rate  # seconds between two fixes of a device; at least 1 (GT06 seconds)
    half = _excursion_half(duration)
    warm_at = datetime.now(UTC).replace(microsecond=0)
    for n, link in enumerate(links):  # the warm-up: one fix each, before the load's
        warm = Report(warm_at, _fix_lat(n, 0, half), -74.0, 0.0, 0.0, 90, False)
        link.offer(profile.encode(ingest._imei(n), [warm], 0))
    waited = time.monotonic()
    while counter[2] < len(links) and time.monotonic() - waited < 900:
        await asyncio.sleep(0.5)
    warmed = counter[2]
    print(json.dumps({"warm": warmed, "seconds": time.monotonic() - waited}), flush=True)
    base = max(warm_at + timedelta(seconds=1), datetime.now(UTC).replace(microsecond=0))
    total = int(rate * duration)
    offered = 0
    started = time.monotonic()
    while time.monotonic() - started < duration:  # a client short of CPU offers less, on time
        due = min(int((time.monotonic() - started) * rate), total)
        while offered < due:
            n, round_ = offered % devices, offered // devices
            fix_s = int(round_ * step)
            report = Report(
                base + timedelta(seconds=fix_s), _fix_lat(n, fix_s, half), -74.0, 0.0, 0.0, 90,
                False,
            )  # fmt: skip
            links[n].offer(profile.encode(ingest._imei(n), [report], round_ & 0xFFFF))
            offered += 1
        await asyncio.sleep(0.05)
    load_acked = counter[2] - warmed
    ended = acked_at = time.monotonic()
    acked = counter[2]
    while counter[2] < counter[0] and time.monotonic() - acked_at < 30:
        if time.monotonic() - ended > 120:
            break  # a gateway that fell behind would take as long again to catch up
        await asyncio.sleep(0.5)
        if counter[2] != acked:
            acked, acked_at = counter[2], time.monotonic()
    counts = {"sent": counter[0], "acked": counter[2], "load_acked": load_acked}
    print(json.dumps(counts), flush=True)  # sent and acked include the warm-up


# --- processes and their figures ----------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (a gateway's workers), oldest first."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) and int(fields[1]) == pid:
            found.append(int(entry))
    return sorted(found)


def _rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _cpu_s(pid: int) -> float | None:
    fields = _stat(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class _Tracked:
    """One process sampled: its label, pid and (seconds into the load, RSS MB, CPU s)."""

    label: str
    pid: int
    samples: list[tuple[float, float, float]] = field(default_factory=list)


class _Processes:
    """The ontrack processes the soak starts, each logging to its own file."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.logs = home / "logs"
        self.logs.mkdir(exist_ok=True)
        self.env = env
        self.started: dict[str, subprocess.Popen[bytes]] = {}
        self.tracked: dict[str, _Tracked] = {}
        self.replaced: list[str] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - lives as long as the process
        self.started[name] = subprocess.Popen(
            argv, env=env or self.env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def sample(self, at: float) -> None:
        """RSS and CPU of each process and of its children (a gateway's workers, labelled
        ``gateway/1``...); a child replaced since the last sample is noted."""
        for name, process in self.started.items():
            pids = [(name, process.pid)] + [
                (f"{name}/{k}", child) for k, child in enumerate(_children(process.pid), 1)
            ]
            for label, pid in pids:
                rss, cpu = _rss_mb(pid), _cpu_s(pid)
                if rss is None or cpu is None:
                    continue
                tracked = self.tracked.setdefault(label, _Tracked(label, pid))
                if tracked.pid != pid:
                    self.replaced.append(
                        f"{label}: pid {tracked.pid} replaced by {pid} at {at:.0f} s"
                    )
                    self.tracked[label] = tracked = _Tracked(label, pid)
                tracked.samples.append((at, rss, cpu))

    def stop(self) -> None:
        """SIGTERM to each (the gateway first: it stops taking frames), then wait."""
        for name in ("gateway", *self.started):
            process = self.started.get(name)
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def error_lines(self, name: str) -> list[str]:
        from ontrack.cli import _ERROR_MARKERS

        text = (self.logs / f"{name}.log").read_text(errors="replace")
        return [line for line in text.splitlines() if any(m in line for m in _ERROR_MARKERS)]


def _scratch_database(create: bool) -> None:
    """Create (or drop) the scratch database on the local server."""
    import psycopg

    with psycopg.connect(f"{SCRATCH_SERVER}/postgres", autocommit=True) as server:
        if create:
            exists = server.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [SCRATCH_NAME]
            ).fetchone()
            if exists:
                sys.exit(
                    f"database {SCRATCH_NAME} already exists (a soak still running, or one "
                    "that was killed): drop it yourself, or pass --postgres URL"
                )
            server.execute(f"CREATE DATABASE {SCRATCH_NAME}")
        else:
            server.execute(f"DROP DATABASE IF EXISTS {SCRATCH_NAME} WITH (FORCE)")


def _fleet(devices: int) -> int:
    """``bench/ingest.py --zones``'s fleet plus one excursion zone per wandering wearer,
    exclusion alerts without grace in the bench program, and every alert e-mailed."""
    from django.utils import timezone

    from ontrack.accounts.models import Office, Program
    from ontrack.alerts.models import (
        AlertKind,
        AlertRuleSetting,
        NotificationRule,
        NotifyChannel,
        NotifyRecipient,
        Priority,
    )
    from ontrack.zones.models import Zone

    ingest.fleet_register(devices, "gt06")
    ingest.wearers(devices)
    made = ingest.zones(devices)
    wearer = ingest.wearers_by_device()
    excursions = [
        ingest.zone_row(
            wearer[ingest._imei(n)], "Excursion", "exclusion", 25.0, [],
            {"type": "Circle", "center": [-74.0, 40.0 + n * 1e-5 + EXCURSION_DEG],
             "radius_m": EXCURSION_RADIUS_M},
        )
        for n in range(0, devices, WANDER_EVERY)
    ]  # fmt: skip
    Zone.objects.bulk_create(excursions)
    program = Program.objects.get(name="Bench program")
    AlertRuleSetting.objects.create(
        program=program,
        kind=AlertKind.EXCLUSION_ZONE_ENTRY,
        grace_minutes=0,
        updated_at=timezone.now(),
    )
    NotificationRule.objects.create(
        office=Office.objects.get(program=program),
        min_priority=Priority.LOW,
        channel=NotifyChannel.EMAIL,
        recipient=NotifyRecipient.ADDRESS,
        address="soak@example.org",
        created_at=timezone.now(),
    )
    return made + len(excursions)


def _outbox() -> dict[str, int]:
    from django.db.models import Count

    from ontrack.messaging.models import Message

    return dict(Message.objects.values_list("status").annotate(n=Count("id")).order_by())


def _ready(url: str) -> str:
    """The web app's answer to /readyz (a request through the whole stack, every sample)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own URL
            return str(response.status)
    except OSError as error:
        return type(error).__name__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="45 s at 1,000 positions/s")
    parser.add_argument("--minutes", type=float, help="load duration (30; --quick 0.75)")
    parser.add_argument("--rate", type=float, help="positions/s offered (5,000; --quick 1,000)")
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--jobs-every", type=int, default=60, help="ONTRACK_JOBS_EVERY_S (60)")
    database = parser.add_mutually_exclusive_group()
    database.add_argument("--postgres", metavar="URL", help="an existing database to use")
    database.add_argument("--sqlite", action="store_true", help="SQLite in bench/var/soak")
    parser.add_argument("--client", nargs=4, metavar=("PORT", "DEVICES", "RATE", "DURATION"))
    args = parser.parse_args()
    ingest._raise_limit()
    if args.client:
        port, devices, rate, duration = args.client
        asyncio.run(_client(int(port), int(devices), float(rate), float(duration)))
        return
    duration = 60 * (args.minutes or (0.75 if args.quick else 30.0))
    rate = args.rate or (1_000.0 if args.quick else 5_000.0)
    if rate > args.devices:
        sys.exit("--rate above --devices: a device would send two fixes in one second")
    scratch = not args.sqlite and not args.postgres
    if scratch:
        _scratch_database(create=True)
    try:
        _soak(
            args,
            duration,
            rate,
            None if args.sqlite else args.postgres or f"{SCRATCH_SERVER}/{SCRATCH_NAME}",
        )
    finally:
        if scratch:
            from django.db import connections

            connections.close_all()
            _scratch_database(create=False)


def _soak(args: argparse.Namespace, duration: float, rate: float, url: str | None) -> None:
    home, env = ingest.home_setup("soak", url)
    started_setup = time.monotonic()
    zones = _fleet(args.devices)
    from django.db import connection

    connection.close()
    print(
        f"fleet: {args.devices:,} devices and wearers, {zones:,} zones "
        f"({time.monotonic() - started_setup:.0f} s)",
        flush=True,
    )
    env = {**env, "ONTRACK_JOBS_EVERY_S": str(args.jobs_every)}
    processes = _Processes(home, env)
    cli = [sys.executable, "-m", "ontrack.cli"]
    web_port, gateway_port = ingest.free_port(), ingest.free_port()
    processes.start("web", [*cli, "serve", "--host", "127.0.0.1", "--port", str(web_port)])
    processes.start("worker", [*cli, "worker"])
    processes.start("gateway", ingest.gateway_argv("gt06", gateway_port, 2, 30))
    ready_url = f"http://127.0.0.1:{web_port}/readyz"
    try:
        ingest.port_wait(web_port)
        ingest.port_wait(gateway_port)
        client = subprocess.Popen(
            [sys.executable, __file__, "--client", str(gateway_port), str(args.devices),
             str(rate), str(duration)],
            env=env, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert client.stdout is not None
        connected = json.loads(client.stdout.readline())["connected"]
        warm = json.loads(client.stdout.readline())
        print(
            f"devices connected: {connected:,}; warm-up: {warm['warm']:,} first fixes "
            f"acknowledged in {warm['seconds']:.0f} s (zones read and compiled); "
            f"load: {rate:,.0f} positions/s for {duration:.0f} s",
            flush=True,
        )
        interval = min(30.0, duration / 10)
        began = time.monotonic()
        next_at = 0.0
        while client.poll() is None:
            at = time.monotonic() - began
            if at >= next_at:
                processes.sample(at)
                figures = ", ".join(
                    f"{t.label} {t.samples[-1][1]:.0f}"
                    for t in processes.tracked.values()
                    if t.samples and t.samples[-1][0] == at
                )
                print(f"{at:6.0f} s  RSS MB: {figures}; readyz {_ready(ready_url)}", flush=True)
                next_at = at + interval
            time.sleep(0.5)
        processes.sample(time.monotonic() - began)  # the end of the load
        lines = client.stdout.read().strip().splitlines()
        if not lines:
            sys.exit(f"the client ended (code {client.returncode}) without its report")
        report = json.loads(lines[-1])
        _outbox_settle()
    finally:
        processes.stop()
    _report(args, processes, report, connected, duration, rate, url)


def _outbox_settle(most: float = 60) -> None:
    """Until the sender has sent what the last alerts queued (at most ``most`` s)."""
    deadline = time.monotonic() + most
    while time.monotonic() < deadline and _outbox().get("queued", 0):
        time.sleep(1)


def _report(
    args: argparse.Namespace, processes: _Processes, report: dict[str, int], connected: int,
    duration: float, rate: float, url: str | None,
) -> None:  # fmt: skip
    from django.db import connection
    from django.db.models import Count

    from ontrack.alerts.models import Alert

    warm_at = min(180.0, 0.2 * duration)
    print(
        f"\nmachine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; database: {connection.vendor}; {args.devices:,} devices, "
        f"{rate:,.0f} positions/s offered for {duration:.0f} s"
    )
    print(f"\n{'process':<11} {'RSS warm':>9} {'RSS end':>8} {'growth':>7} {'CPU':>6}  errors")
    worst = 0.0
    for tracked in processes.tracked.values():
        warm = next((s for s in tracked.samples if s[0] >= warm_at), tracked.samples[-1])
        end = tracked.samples[-1]
        growth = (end[1] / warm[1] - 1) * 100
        worst = max(worst, growth)
        first = tracked.samples[0]
        cpu = (end[2] - first[2]) / (end[0] - first[0]) * 100 if end[0] > first[0] else 0.0
        errors = processes.error_lines(tracked.label.split("/")[0])
        shown = "" if "/" in tracked.label else str(len(errors))
        print(
            f"{tracked.label:<11} {warm[1]:7.0f} MB {end[1]:5.0f} MB {growth:+6.1f}% "
            f"{cpu:5.0f}%  {shown}"
        )
    print(f"(RSS warm: {warm_at:.0f} s into the load; CPU: % of one core over the load)")
    for line in processes.replaced:
        print(f"process replaced: {line}")
    for name in processes.started:
        for line in processes.error_lines(name)[:5]:
            print(f"{name}.log: {line[:200]}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tracking_position")
        stored = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM (SELECT device_id, time FROM tracking_position "
            "GROUP BY device_id, time HAVING count(*) > 1) AS twice"
        )
        duplicates = cursor.fetchone()[0]
    alerts = dict(
        Alert.objects.filter(participant__program__name="Bench program")
        .values_list("kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    outbox = _outbox()
    print(
        f"\npositions: sent {report['sent']:,}, acknowledged {report['acked']:,}, stored "
        f"{stored:,}; acknowledged but not stored: {max(0, report['acked'] - stored):,}; "
        f"stored twice (device + fix time): {duplicates}; devices connected: {connected:,}"
    )
    print(
        f"acknowledged during the load: {report['load_acked'] / duration:,.0f} positions/s "
        f"of {rate:,.0f} offered"
    )
    print(
        f"alerts raised: {sum(alerts.values()):,} "
        f"({', '.join(f'{kind} {n:,}' for kind, n in sorted(alerts.items()))})"
    )
    print(
        f"outbox: {outbox.get('sent', 0):,} sent "
        f"({', '.join(f'{status} {n:,}' for status, n in sorted(outbox.items()))})"
    )
    print(
        f"RESULT soak_memory_growth_max_pct={worst:.1f} % baseline={TARGET_GROWTH_PCT:.0f} "
        f"ratio={worst / TARGET_GROWTH_PCT:.2f}"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
