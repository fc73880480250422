"""Positions stored per second through the real gateway, against raw executemany inserts.

    uv run python bench/ingest.py            # 10,000 GT06 devices, 60 s of load
    uv run python bench/ingest.py --quick    # 10,000 devices, 15 s
    uv run python bench/ingest.py --quick --workers 1   # one gateway process, not one per core
    uv run python bench/ingest.py --postgres postgresql://postgres@127.0.0.1:5432/ontrack_bench

A fresh ontrack home (SQLite unless --postgres) gets 10,000 registered GT06 devices; the
gateway runs as its own processes (`ontrack gateway --workers N`, default one per core);
one client process opens 10,000 TCP connections on loopback, logs every device in, then
sends 0x12 location frames at a fixed total rate. The main process polls the positions
table; positions/s is measured over the steady part of the run, and the delay from "frame
sent" to "position durable" matches the k-th frame sent with the moment the k-th position
was counted as stored (frames are sent and stored in nearly FIFO order, so this is a close
upper estimate). The baseline inserts the same rows with one sqlite3 executemany per 5,000
rows into a copy of the table in the same file.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import os
import platform
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _imei(n: int) -> str:
    return f"86{n:013d}"


async def _client(port: int, devices: int, rate: float, duration: float) -> None:
    """Client process: connect and log in every device, then send at ``rate`` frames/s."""
    sys.path.insert(0, str(ROOT / "src"))
    from ontrack.tracking.protocols import gt06

    # Every frame is encoded before the load starts, so that sending costs one
    # transport.write and the load generator (on the same cores) leaves the CPU to the gateway.
    base = datetime(2026, 1, 1, tzinfo=UTC)
    total = int(rate * duration) + 1
    frames = [
        gt06.encode_gps_lbs(
            time=base + timedelta(seconds=k // devices),
            lat=40.0 + (k % devices) * 1e-5,
            lon=-74.0,
            serial=k & 0xFFFF,
        )
        for k in range(total)
    ]
    writers: list[asyncio.StreamWriter] = []
    for start in range(0, devices, 500):
        opened = await asyncio.gather(
            *(
                asyncio.open_connection("127.0.0.1", port)
                for _ in range(start, min(start + 500, devices))
            )
        )
        for offset, (reader, writer) in enumerate(opened):
            imei = _imei(start + offset)
            writer.write(gt06.encode_frame(gt06.MSG_LOGIN, bytes.fromhex("0" + imei), 1))
            writers.append(writer)
            asyncio.get_running_loop().create_task(_drain(reader))
    print(json.dumps({"connected": len(writers)}), flush=True)
    await asyncio.sleep(1)  # let the gateway finish the logins before the clock starts
    sent_marks: list[tuple[float, int]] = []
    sent = 0
    started = time.monotonic()
    tick = 0.05
    while time.monotonic() - started < duration:
        due = min(int((time.monotonic() - started) * rate), total)
        while sent < due:
            writers[sent % devices].write(frames[sent])
            sent += 1
        sent_marks.append((time.time(), sent))
        await asyncio.sleep(tick)
    print(json.dumps({"sent": sent, "marks": sent_marks}), flush=True)
    await asyncio.sleep(3)


async def _drain(reader: asyncio.StreamReader) -> None:
    while await reader.read(4096):
        pass


def _raise_limit() -> None:
    import resource

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
    parser.add_argument("--client", nargs=4, metavar=("PORT", "DEVICES", "RATE", "DURATION"))
    args = parser.parse_args()
    _raise_limit()
    if args.client:
        port, devices, rate, duration = args.client
        asyncio.run(_client(int(port), int(devices), float(rate), float(duration)))
        return
    duration = args.duration or (15.0 if args.quick else 60.0)
    home = HERE / "var" / "ingest"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = {**os.environ, "ONTRACK_HOME": str(home), "ONTRACK_LOG_LEVEL": "INFO"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    if args.postgres:
        env["ONTRACK_DATABASE_URL"] = args.postgres
    else:
        env.pop("ONTRACK_DATABASE_URL", None)
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "ontrack.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from ontrack.tracking.models import Device, Position

    call_command("migrate", verbosity=0)
    Position.objects.all().delete()
    Device.objects.all().delete()
    Device.objects.bulk_create(
        [Device(identifier=_imei(n), kind="ankle", protocol="gt06") for n in range(args.devices)],
        batch_size=2000,
    )
    connection.close()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway = subprocess.Popen(
        [sys.executable, "-m", "ontrack.cli", "gateway", "--host", "127.0.0.1",
         "--gt06-port", str(port), "--teltonika-port", "off", "--osmand-port", "off",
         "--mqtt-host", "off", "--stats-interval", "5", "--workers", str(args.workers)],
        env=env, stderr=open(home / "gateway.log", "w"),  # noqa: SIM115 - lives as long as the gateway
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    client = subprocess.Popen(
        [sys.executable, __file__, "--client", str(port), str(args.devices), str(args.rate),
         str(duration)],
        env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert client.stdout is not None
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

    def counted() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM tracking_position")
            return int(cursor.fetchone()[0])

    while client.poll() is None:
        stored_marks.append((time.time(), stored()))
        connection.close()
        time.sleep(0.2)
    output = client.stdout.read()
    report = json.loads(output.strip().splitlines()[0])
    sent_total = report["sent"]
    sent_marks = [tuple(mark) for mark in report["marks"]]
    for _ in range(100):
        stored_marks.append((time.time(), stored()))
        if stored_marks[-1][1] >= sent_total:
            break
        time.sleep(0.2)
    gateway.terminate()
    gateway.wait(timeout=60)
    total = counted()
    # steady state: from 20 % to 90 % of the load period
    t0, t1 = sent_marks[0][0], sent_marks[-1][0]
    window = [(t, n) for t, n in stored_marks if t0 + 0.2 * (t1 - t0) <= t <= t0 + 0.9 * (t1 - t0)]
    rate = (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0]) if len(window) > 1 else 0
    stored_times = [t for t, _ in stored_marks]
    stored_counts = [n for _, n in stored_marks]
    delays = []
    for t_sent, k in sent_marks[:: max(1, len(sent_marks) // 200)]:
        index = bisect.bisect_left(stored_counts, k)
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
    print(f"devices connected: {connected}, frames sent: {sent_total}, positions stored: {total}")
    print(f"offered rate: {args.rate:.0f}/s over {duration:.0f} s; gateway workers: {args.workers}")
    print(f"sustained stored rate: {rate:.0f} positions/s; p99 sent->durable: {p99:.0f} ms")
    print(f"baseline raw executemany: {baseline:.0f} rows/s")
    print(
        f"RESULT ingest_positions_per_s={rate:.0f} positions/s baseline={baseline:.0f} "
        f"ratio={rate / baseline if baseline else 0:.2f}"
    )


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
