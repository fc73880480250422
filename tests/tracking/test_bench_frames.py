"""The frames ``bench/ingest.py --protocol`` sends decode to the positions it counts as sent.

The bench compares positions sent with positions stored; if a profile's frames carried an
event besides each fix, or fewer fixes than ``per_frame``, its rate would be wrong without
any error. Each profile's frame goes through its protocol's decoder here, as the gateway
would take it.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

import pytest

from ontrack.tracking.protocols import Fix, gt06, h02, osmand, teltonika, watch
from ontrack.tracking.protocols.records import Record
from ontrack.tracking.simulator.wearers import Report, osmand_request
from tests.support import fix_position

BENCH = Path(__file__).resolve().parents[2] / "bench" / "ingest.py"
BASE = datetime(2026, 1, 1, tzinfo=UTC)
IMEI = "860000000000042"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_ingest", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


def _decode(protocol: str, frame: bytes) -> list[Record]:
    """Records from one frame, as the protocol's gateway server decodes it."""
    now = BASE + timedelta(hours=1)
    if protocol == "gt06":
        (cut,) = gt06.split_frames(frame).frames
        return gt06.decode(cut, imei=IMEI, now=now).records
    if protocol == "teltonika":
        return teltonika.decode_packet(frame, imei=IMEI).records
    if protocol == "osmand":
        target = frame.split(b" ", 2)[1].decode()
        return osmand.decode_query(osmand.parse_query(urlsplit(target).query), received_at=now)
    module = h02 if protocol == "h02" else watch
    (cut,) = module.split_frames(frame).frames
    return module.decode(cut, now=now).records


@pytest.mark.parametrize("protocol", ["gt06", "teltonika", "osmand", "h02", "watch"])
def test_each_profile_frame_holds_exactly_its_positions(protocol: str) -> None:
    bench = _bench()
    profile = bench._profiles()[protocol]
    reports = [
        Report(BASE + timedelta(seconds=k), 40.0 + k * 1e-5, -74.0, 0.0, 0.0, 90, False)
        for k in range(profile.per_frame)
    ]
    records = _decode(protocol, profile.encode(IMEI, reports, 7))
    assert all(isinstance(record, Fix) for record in records), records
    decoded = [(r.time, *fix_position(r)) for r in records]
    assert [(time, round(lat, 4), round(lon, 4)) for time, lat, lon in decoded] == [
        (r.time, round(r.lat, 4), r.lon) for r in reports
    ]
    assert all(record.device_id == IMEI for record in records)


def test_osmand_request_round_trips_through_the_query_decoder() -> None:
    report = Report(BASE, 40.123456, -74.654321, 36.0, 270.0, 55, True, ("tamper",))
    request = osmand_request(IMEI, report, "gateway.example")
    head, _, rest = request.partition(b"\r\n")
    assert head.startswith(b"GET /?")
    assert head.endswith(b" HTTP/1.1")
    assert rest.endswith(b"\r\n\r\n")
    assert b"Host: gateway.example\r\n" in rest
    records = _decode("osmand", request)
    fix = next(r for r in records if isinstance(r, Fix))
    assert (fix.time, fix.lat, fix.lon, fix.battery_pct) == (BASE, 40.123456, -74.654321, 55)
    assert fix.speed_kmh == pytest.approx(36.0, abs=0.01)
    assert [r.kind.value for r in records if not isinstance(r, Fix)] == ["tamper"]
