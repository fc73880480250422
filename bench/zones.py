"""Fix-zone checks per second by the zone engine, against a naive per-fix shapely loop.

    uv run python bench/zones.py            # 50,000 participants x 3 zones, 20 batches
    uv run python bench/zones.py --quick    # same data, 5 batches (under a minute)

One more batch than timed is run first, untimed: a running gateway's engine is warm.
    uv run python bench/zones.py --postgres postgresql://postgres@127.0.0.1:5432/postgres

Data (in memory, deterministic): 50,000 participants in six US cities, each with three
zones: home (inclusion circle of 80-200 m with a weekday 20:00-06:00 curfew in the city's
time zone) and two exclusion polygons of 20-200 vertices (one 1-4 km from work, one
anywhere in town). Batches of 10,000 fixes from random participants,
each walking from where their last fix was (see ``batches``; accuracy 5-60 m), one
minute apart. A "check" is one fix against one of its participant's zones.

- engine: ``ontrack.zones.engine.evaluate`` on the batch, everything included (expansion
  to pairs, projection, ``contains_xy``, the accuracy rule, schedules, the state machine
  and the transitions it emits);
- naive baseline (same run): for each fix, for each of its zones, an unprepared shapely
  ``Polygon.contains(Point)`` in lon/lat (a haversine test for circles), no accuracy rule;
- limit (informational): one element-wise ``shapely.contains_xy`` over the same pairs;
- PostGIS (when ``--postgres`` is given or a local server answers and the postgis
  extension can be created): ``ST_Contains`` joined on participant, the same zones and
  fixes, in a scratch database ``ontrack_bench_zones``; skipped with a printed reason.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from ontrack.zones import engine  # noqa: E402

CITIES = [
    (40.7128, -74.0060, "America/New_York"),
    (41.8781, -87.6298, "America/Chicago"),
    (29.7604, -95.3698, "America/Chicago"),
    (34.0522, -118.2437, "America/Los_Angeles"),
    (25.7617, -80.1918, "America/New_York"),
    (39.7392, -104.9903, "America/Denver"),
]
WEEKDAYS = frozenset(range(5))
CURFEW = (engine.Interval(WEEKDAYS, 20 * 60, 6 * 60),)
BATCH = 10_000
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class Data:
    assignments: list[engine.Assignment]
    home: np.ndarray  # (n, 2) lat, lon
    work: np.ndarray
    city: np.ndarray  # (n, 2)


def _offset(lat: np.ndarray, lon: np.ndarray, north: np.ndarray, east: np.ndarray):
    return (
        lat + north / engine.M_PER_DEG,
        lon + east / (engine.M_PER_DEG * np.cos(np.radians(lat))),
    )


def _star_polygon(rng: np.random.Generator, lat: float, lon: float, radius: float) -> dict:
    """A valid star-shaped polygon of 20-200 vertices around (lat, lon)."""
    n = int(rng.integers(20, 201))
    angles = np.sort(rng.uniform(0, 2 * math.pi, n))
    radii = radius * rng.uniform(0.6, 1.0, n)
    plat, plon = _offset(
        np.full(n, lat), np.full(n, lon), radii * np.cos(angles), radii * np.sin(angles)
    )
    ring = np.column_stack((plon, plat))
    # Kept as an array (the engine reads any sequence of [lon, lat]); lists of 20,000,000
    # Python floats would take most of the set-up time.
    return {"type": "Polygon", "coordinates": [np.vstack((ring, ring[:1]))]}


def build(participants: int, seed: int = 7) -> Data:
    rng = np.random.default_rng(seed)
    city_idx = rng.integers(0, len(CITIES), participants)
    city = np.array([CITIES[i][:2] for i in city_idx])

    def near_city() -> tuple[np.ndarray, np.ndarray]:
        d = 15_000 * np.sqrt(rng.random(participants))
        a = rng.uniform(0, 2 * math.pi, participants)
        return _offset(city[:, 0], city[:, 1], d * np.cos(a), d * np.sin(a))

    home = np.column_stack(near_city())
    work = np.column_stack(near_city())
    away = np.column_stack(near_city())
    assignments: list[engine.Assignment] = []
    for p in range(participants):
        tz = CITIES[city_idx[p]][2]
        zid = p * 3
        home_zone = engine.ZoneSpec(
            zid + 1,
            1,
            engine.INCLUSION,
            {
                "type": "Circle",
                "center": [home[p, 1], home[p, 0]],
                "radius_m": float(rng.uniform(80, 200)),
            },
            buffer_m=25.0,
            schedule=CURFEW,
        )
        shift = rng.uniform(1_000, 3_000)
        near_lat, near_lon = _offset(work[p, 0], work[p, 1], shift, shift)
        near_work = engine.ZoneSpec(
            zid + 2,
            1,
            engine.EXCLUSION,
            _star_polygon(rng, float(near_lat), float(near_lon), float(rng.uniform(100, 400))),
            buffer_m=25.0,
        )
        exclusion = engine.ZoneSpec(
            zid + 3,
            1,
            engine.EXCLUSION,
            _star_polygon(rng, away[p, 0], away[p, 1], float(rng.uniform(150, 600))),
            buffer_m=50.0,
        )
        assignments += [engine.Assignment(p + 1, z, tz) for z in (home_zone, near_work, exclusion)]
    return Data(assignments, home, work, city)


def batches(data: Data, count: int, seed: int = 11) -> list[engine.FixArrays]:
    """Like the simulator's wearers: each participant is at home (half), at work (a
    quarter) or somewhere in town; four in five stay where they are (fixes scattered by
    GPS noise, sigma 8 m), one in five is on the move (up to 150 m between fixes), so zones
    are entered and left the way people do (a random point per fix would cross a boundary
    at nearly every fix)."""
    rng = np.random.default_rng(seed)
    n = len(data.home)
    pick = rng.random(n)
    anywhere_d = 15_000 * np.sqrt(rng.random(n))
    anywhere_a = rng.uniform(0, 2 * math.pi, n)
    anywhere = np.column_stack(
        _offset(
            data.city[:, 0],
            data.city[:, 1],
            anywhere_d * np.cos(anywhere_a),
            anywhere_d * np.sin(anywhere_a),
        )
    )
    moving = rng.random(n) < 0.2
    where = np.where(
        (pick < 0.5)[:, None], data.home, np.where((pick < 0.75)[:, None], data.work, anywhere)
    )
    start = datetime(2026, 3, 6, 18, 0, tzinfo=UTC).timestamp()  # Friday, US daytime
    out = []
    for b in range(count):
        who = rng.choice(n, BATCH, replace=False)
        step = rng.uniform(0, 150, BATCH)
        heading = rng.uniform(0, 2 * math.pi, BATCH)
        walked = _offset(
            where[who, 0], where[who, 1], step * np.cos(heading), step * np.sin(heading)
        )
        mover = moving[who]
        where[who[mover], 0], where[who[mover], 1] = walked[0][mover], walked[1][mover]
        noise = rng.normal(0, 8, (2, BATCH))
        lat, lon = _offset(where[who, 0], where[who, 1], noise[0], noise[1])
        out.append(
            engine.FixArrays(
                participant_id=(who + 1).astype(np.int64),
                t=start + b * 60.0 + rng.uniform(0, 60, BATCH),
                lat=lat,
                lon=lon,
                accuracy_m=rng.uniform(5, 60, BATCH),
            )
        )
    return out


def _checks(zones: engine.ZoneSet, batch: engine.FixArrays) -> int:
    idx = np.searchsorted(zones.participants, batch.participant_id)
    return int((zones.offsets[idx + 1] - zones.offsets[idx]).sum())


def run_engine(zones: engine.ZoneSet, fixes: list[engine.FixArrays]) -> tuple[int, float, int]:
    engine.evaluate(zones, fixes[0], consecutive=3)  # warm-up: a running gateway is warm
    checks = sum(_checks(zones, batch) for batch in fixes[1:])
    transitions = 0
    began = time.perf_counter()
    for batch in fixes[1:]:
        transitions += len(engine.evaluate(zones, batch, consecutive=3))
    return checks, time.perf_counter() - began, transitions


def run_naive(data: Data, batch: engine.FixArrays, limit: int) -> tuple[int, float]:
    """Per fix, per zone: unprepared lon/lat shapely contains (haversine for circles)."""
    by_participant: dict[int, list[object]] = {}
    for a in data.assignments:
        g = a.zone.geometry
        shape: object = (
            (g["center"][1], g["center"][0], g["radius_m"])
            if g["type"] == "Circle"
            else shapely.Polygon(g["coordinates"][0])
        )
        by_participant.setdefault(a.participant_id, []).append(shape)
    checks = 0
    began = time.perf_counter()
    for i in range(limit):
        pid = int(batch.participant_id[i])
        lat, lon = float(batch.lat[i]), float(batch.lon[i])
        point = shapely.Point(lon, lat)
        for shape in by_participant[pid]:
            if isinstance(shape, tuple):
                clat, clon, r = shape
                dlat, dlon = math.radians(lat - clat), math.radians(lon - clon)
                h = (
                    math.sin(dlat / 2) ** 2
                    + math.cos(math.radians(clat))
                    * math.cos(math.radians(lat))
                    * math.sin(dlon / 2) ** 2
                )
                _ = 2 * engine.EARTH_M * math.asin(math.sqrt(h)) <= r
            else:
                _ = shape.contains(point)  # type: ignore[attr-defined]
            checks += 1
    return checks, time.perf_counter() - began


def run_limit(zones: engine.ZoneSet, batch: engine.FixArrays) -> tuple[int, float]:
    pair_fix, pair_slot = engine._pairs(zones, batch)
    poly = ~zones.slot_circle[pair_slot]
    pair_fix, pair_slot = pair_fix[poly], pair_slot[poly]
    x = (batch.lon[pair_fix] - zones.slot_lon0[pair_slot]) * zones.slot_kx[pair_slot]
    y = (batch.lat[pair_fix] - zones.slot_lat0[pair_slot]) * engine.M_PER_DEG
    geoms = zones.slot_polygon[pair_slot]
    began = time.perf_counter()
    shapely.contains_xy(geoms, x, y)
    return len(pair_fix), time.perf_counter() - began


def run_postgis(url: str, data: Data, fixes: list[engine.FixArrays]) -> str:
    """ST_Contains checks/s, or the reason it was skipped."""
    try:
        import psycopg
    except ImportError:
        return "skipped: psycopg not installed"
    try:
        admin = psycopg.connect(url, autocommit=True, connect_timeout=3)
    except Exception as exc:
        return f"skipped: cannot connect to {url}: {exc}".splitlines()[0]
    with admin:
        admin.execute("DROP DATABASE IF EXISTS ontrack_bench_zones")
        admin.execute("CREATE DATABASE ontrack_bench_zones")
    scratch = psycopg.conninfo.make_conninfo(url, dbname="ontrack_bench_zones")
    try:
        with psycopg.connect(scratch, autocommit=True) as conn:
            try:
                conn.execute("CREATE EXTENSION postgis")
            except Exception as exc:
                return f"skipped: postgis extension unavailable: {exc}".splitlines()[0]
            conn.execute("CREATE TABLE zones (participant_id int, geom geometry(Polygon, 4326))")
            polygons = [a for a in data.assignments if a.zone.geometry["type"] == "Polygon"]
            circles = [
                (a.participant_id, *a.zone.geometry["center"], a.zone.geometry["radius_m"])
                for a in data.assignments
                if a.zone.geometry["type"] == "Circle"
            ]
            with conn.cursor().copy("COPY zones (participant_id, geom) FROM STDIN") as copy:
                for a in polygons:
                    ring = ",".join(
                        f"{x} {y}" for x, y in a.zone.geometry["coordinates"][0].tolist()
                    )
                    copy.write_row((a.participant_id, f"SRID=4326;POLYGON(({ring}))"))
            conn.execute(
                "CREATE TEMP TABLE c (participant_id int, lon float8, lat float8, r float8)"
            )
            with conn.cursor().copy("COPY c FROM STDIN") as copy:
                for row in circles:
                    copy.write_row(row)
            conn.execute(
                "INSERT INTO zones SELECT participant_id, ST_Buffer("
                "ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography, r, 16)::geometry FROM c"
            )
            conn.execute("CREATE INDEX ON zones (participant_id)")
            conn.execute("ANALYZE zones")
            conn.execute("CREATE TABLE fixes (participant_id int, geom geometry(Point, 4326))")
            checks = 0
            elapsed = 0.0
            for batch in fixes:
                conn.execute("TRUNCATE fixes")
                with conn.cursor().copy("COPY fixes FROM STDIN") as copy:
                    for p, lat, lon in zip(
                        batch.participant_id.tolist(),
                        batch.lat.tolist(),
                        batch.lon.tolist(),
                        strict=True,
                    ):
                        copy.write_row((p, f"SRID=4326;POINT({lon} {lat})"))
                conn.execute("ANALYZE fixes")
                began = time.perf_counter()
                row = conn.execute(
                    "SELECT count(*), count(*) FILTER (WHERE ST_Contains(z.geom, f.geom)) "
                    "FROM fixes f JOIN zones z USING (participant_id)"
                ).fetchone()
                elapsed += time.perf_counter() - began
                checks += int(row[0]) if row else 0
            return f"{checks / elapsed:,.0f} checks/s ({checks:,} checks in {elapsed:.2f} s)"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS ontrack_bench_zones")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 timed batches instead of 20")
    parser.add_argument("--participants", type=int, default=50_000)
    parser.add_argument("--batches", type=int, default=None)
    parser.add_argument("--naive-fixes", type=int, default=None, help="fixes for the baseline")
    parser.add_argument("--postgres", default=os.environ.get("ONTRACK_BENCH_POSTGRES", DEFAULT_PG))
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    count = args.batches or (6 if args.quick else 21)
    naive_fixes = args.naive_fixes or BATCH

    print(
        f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} "
        f"python {platform.python_version()} shapely {shapely.__version__} "
        f"GEOS {shapely.geos_version_string}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    began = time.perf_counter()
    data = build(args.participants)
    fixes = batches(data, count)
    print(
        f"data: {args.participants:,} participants x 3 zones, {count} batches of {BATCH:,} "
        f"fixes, built in {time.perf_counter() - began:.1f} s"
    )

    began = time.perf_counter()
    zones = engine.compile_zones(data.assignments, engine.GeometryCache())
    print(
        f"engine: compiled {len(zones):,} zone slots in {time.perf_counter() - began:.1f} s "
        "(once per process; later batches reuse prepared geometry per zone version)"
    )
    checks, elapsed, transitions = run_engine(zones, fixes)
    engine_rate = checks / elapsed
    print(
        f"engine: {checks:,} checks in {elapsed:.2f} s = {engine_rate:,.0f} checks/s "
        f"({elapsed / (count - 1) * 1000:.1f} ms per batch of {BATCH:,} fixes; "
        f"{transitions:,} transitions)"
    )

    naive_checks, naive_elapsed = run_naive(data, fixes[0], naive_fixes)
    naive_rate = naive_checks / naive_elapsed
    print(
        f"naive: {naive_checks:,} checks in {naive_elapsed:.2f} s = {naive_rate:,.0f} checks/s "
        "(per-fix unprepared shapely contains)"
    )
    limit_checks, limit_elapsed = run_limit(zones, fixes[0])
    print(
        f"limit: element-wise contains_xy alone on the polygon pairs: "
        f"{limit_checks / limit_elapsed:,.0f} checks/s"
    )
    if args.no_postgres:
        print("postgis: skipped: --no-postgres")
    else:
        pg_batches = fixes[: 2 if args.quick else 5]
        print(f"postgis: ST_Contains {run_postgis(args.postgres, data, pg_batches)}")
    print(
        f"RESULT zone_checks_per_s={engine_rate:.0f} checks/s baseline={naive_rate:.0f} "
        f"ratio={engine_rate / naive_rate:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
