"""Pure decode rate of every protocol decoder: frames/s and records/s, against a floor pass.

    uv run python bench/decode.py            # 10 s of timing per protocol and side
    uv run python bench/decode.py --quick    # 2 s each, under a minute in all

No sockets, no database: each decoder in ``ontrack.tracking.protocols`` is called on a
corpus of real-shaped frames, as the gateway calls it on a frame its splitter cut (splitting
and framing are not timed). The corpus per protocol is the real frames kept for the tests
(``tests/tracking/protocols/frames/*.txt``, those that decode without error; GT06 lines are
split as the gateway splits them) plus what the project's own encoders send for 200
simulated reports (``ontrack.tracking.simulator.wearers``: location frames, with an alarm frame for
the reports that carry an event). OsmAnd and MQTT JSON have no fixture file: their corpus is
the simulator's requests and payloads, plus for OsmAnd the query forms pinned in
``test_osmand.py`` (Traccar Client, OsmAnd, the legacy ``deviceid`` form).

Baseline, measured in the same run on the same bytes: a *floor pass* that cuts each frame
into its smallest pieces and nothing more: ``bytes.split`` on the field separator for the
text protocols (H02, Watch; ``&`` then ``=`` for an OsmAnd query), one ``struct.unpack`` of
every byte for the binary ones (GT06, Teltonika), ``json.loads`` for MQTT JSON. It is the
least any Python decoder must spend to look at the bytes once, so decode/floor says how much
the decoder adds for what makes its output trustworthy (CRC, range checks, times, records).
The GT06 decoder is also shown as a reference column (the protocol most units speak, and the
one ``bench/ingest.py`` has measured since the start).

Timing: per protocol and side, the corpus is decoded in passes for ``budget / 5`` s, five
times; the best of the five is kept (the machine may be shared: the best round is the one
least disturbed). The last line is ``RESULT decode_frames_per_s=...``: every protocol's
corpus decoded once, frames over seconds (a gateway serving that mix), against the floor
pass over the same frames.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FRAMES = ROOT / "tests" / "tracking" / "protocols" / "frames"
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
IMEI = "864717003283581"
REPORTS = 200

# OsmAnd query forms real apps send (as pinned in tests/tracking/protocols/test_osmand.py).
OSMAND_REAL = (
    "id=123456789012345&timestamp=1504763810&lat=40.7232948571&lon=-74.0061408571",
    "id=902064&lat=42.06288&lon=-88.23412&timestamp=1442068686579&hdop=6.0",
    "id=902064&lat=42.06288&lon=-88.23412&timestamp=2016-01-27T18%3A55%3A47Z",
    "lat=49.60688&lon=6.15788&timestamp=2014-06-04+09%3A10%3A11&altitude=384.7&id=35",
    "lat=60.0&lon=30.0&speed=0.0&heading=0.0&altitude=0&deviceid=123456",
    "id=1&timestamp=1377177267&location=60.0,30.0&batt=87&charge=true",
    "id=7&timestamp=1377177267&lat=1.5&lon=2.5&alarm=sos",
)


@dataclass(frozen=True, slots=True)
class Protocol:
    """One decoder under test: ``decode(frame)`` returns its records, ``floor(frame)`` is
    the baseline pass over the same input; ``real`` frames came from devices, ``encoded``
    from the project's encoders."""

    name: str
    decode: Callable[[Any], list[Any]]
    floor: Callable[[Any], object]
    real: list[Any]
    encoded: list[Any]

    @property
    def corpus(self) -> list[Any]:
        return self.real + self.encoded


def _reports() -> list[Any]:
    """Simulated reports around a city, every tenth with an event (an alarm frame too)."""
    from ontrack.tracking.simulator.wearers import Report

    events = ((), ("tamper",), ("low_battery",))
    return [
        Report(
            NOW - timedelta(seconds=30 * k), 40.7 + k * 1e-4, -74.0 - k * 1e-4,
            float(k % 60), float(k * 7 % 360), 90 - k % 80, k % 5 == 0,
            events[(k // 10) % 3] if k % 10 == 0 else (),
        )
        for k in range(REPORTS)
    ]  # fmt: skip


def _fixture_lines(name: str) -> list[str]:
    """Non-comment lines of a fixture file, without their trailing ``  # source``."""
    lines = []
    for text in (FRAMES / name).read_text().splitlines():
        if text.strip() and not text.startswith("#"):
            lines.append(text.partition("  #")[0].strip())
    return lines


def _decodable(decode: Callable[[Any], list[Any]], frames: list[Any]) -> list[Any]:
    """The frames that decode without error: a rejected frame costs little and is rare in
    the field, so the bench times what a gateway spends on traffic it keeps."""
    from ontrack.tracking.protocols import DecodeError

    kept = []
    for frame in frames:
        try:
            decode(frame)
        except DecodeError:
            continue
        kept.append(frame)
    return kept


def _unpack_all(frame: bytes) -> tuple[int, ...]:
    return struct.unpack(f">{len(frame)}B", frame)


def _protocols() -> list[Protocol]:
    from ontrack.tracking.protocols import gt06, h02, mqtt_json, osmand, teltonika, watch
    from ontrack.tracking.simulator import wearers as simulator

    reports = _reports()
    text_split: Callable[[bytes], object] = lambda frame: frame.split(b",")  # noqa: E731

    def gt06_decode(frame: bytes) -> list[Any]:
        return gt06.decode(frame, imei=IMEI, now=NOW).records

    def teltonika_decode(packet: bytes) -> list[Any]:
        return teltonika.decode_packet(packet, imei=IMEI).records

    def h02_decode(frame: bytes) -> list[Any]:
        return h02.decode(frame, now=NOW).records

    def watch_decode(frame: bytes) -> list[Any]:
        return watch.decode(frame, now=NOW).records

    def osmand_decode(query: str) -> list[Any]:
        return osmand.decode_query(osmand.parse_query(query), received_at=NOW)

    def osmand_floor(query: str) -> object:
        return [pair.partition("=") for pair in query.split("&")]

    topic = mqtt_json.topic_for(IMEI)

    def mqtt_decode(payload: bytes) -> list[Any]:
        return mqtt_json.decode(topic, payload)

    gt06_real = [
        frame
        for line in _fixture_lines("gt06_real.txt")
        for frame in gt06.split_frames(bytes.fromhex(line), flush=True).frames
    ]
    teltonika_real = [
        bytes.fromhex(line.split()[0])
        for line in (FRAMES / "teltonika_real.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#") and "expect:" not in line
    ]

    def text_frames(name: str) -> list[bytes]:
        return [
            bytes.fromhex(line[4:]) if line.startswith("hex:") else line.encode("ascii")
            for line in _fixture_lines(name)
        ]

    def batches(size: int) -> list[list[Any]]:
        return [reports[k : k + size] for k in range(0, len(reports), size)]

    protocols = [
        Protocol(
            "gt06", gt06_decode, _unpack_all, gt06_real,
            [f for k, r in enumerate(reports) for f in simulator.gt06_frames(r, k + 1)],
        ),
        Protocol(
            "teltonika", teltonika_decode, _unpack_all, teltonika_real,
            [simulator.teltonika_packet(chunk) for chunk in batches(5)],
        ),
        Protocol(
            "osmand", osmand_decode, osmand_floor, list(OSMAND_REAL),
            [simulator.osmand_query(IMEI, r) for r in reports],
        ),
        Protocol(
            "mqtt_json", mqtt_decode, json.loads, [],
            [simulator.mqtt_payload(chunk) for chunk in batches(1)]
            + [simulator.mqtt_payload(chunk) for chunk in batches(10)],
        ),
        Protocol(
            "h02", h02_decode, text_split, text_frames("h02.txt"),
            [f for r in reports for f in simulator.h02_frames(IMEI[:10], r)],
        ),
        Protocol(
            "watch", watch_decode, text_split, text_frames("watch.txt"),
            [f for r in reports for f in simulator.watch_frames(IMEI[:10], r)],
        ),
    ]  # fmt: skip
    # Real frames a decoder refuses are left out; every encoded one must decode (the
    # records count in main() would raise otherwise: an encoder and its decoder disagree).
    return [
        Protocol(p.name, p.decode, p.floor, _decodable(p.decode, p.real), p.encoded)
        for p in protocols
    ]


def _best_pass(work: Callable[[Any], object], corpus: list[Any], budget: float) -> float:
    """Seconds for one pass over ``corpus``: best of five rounds of ``budget / 5`` s."""
    best = float("inf")
    for _ in range(5):
        passes, started = 0, time.perf_counter()
        while True:
            for frame in corpus:
                work(frame)
            passes += 1
            elapsed = time.perf_counter() - started
            if elapsed >= budget / 5:
                break
        best = min(best, elapsed / passes)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 s per protocol and side")
    parser.add_argument("--budget", type=float, help="seconds of timing per protocol and side")
    args = parser.parse_args()
    budget = args.budget or (2.0 if args.quick else 10.0)
    sys.path.insert(0, str(ROOT / "src"))
    protocols = _protocols()
    rows = []
    for protocol in protocols:
        corpus = protocol.corpus
        records = sum(len(protocol.decode(frame)) for frame in corpus)
        decode_s = _best_pass(protocol.decode, corpus, budget)
        floor_s = _best_pass(protocol.floor, corpus, budget)
        rows.append((protocol, len(corpus), records, decode_s, floor_s))
    gt06_rate = rows[0][1] / rows[0][3]
    print(
        f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; best of 5 rounds of {budget / 5:.1f} s each\n"
    )
    print(
        "| protocol | frames (real + encoded) | records | frames/s | records/s | us/frame "
        "| floor frames/s | decode/floor | vs GT06 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for protocol, frames, records, decode_s, floor_s in rows:
        rate = frames / decode_s
        print(
            f"| {protocol.name} | {frames} ({len(protocol.real)} + {len(protocol.encoded)}) "
            f"| {records} | {rate:,.0f} | {records / decode_s:,.0f} "
            f"| {decode_s / frames * 1e6:.1f} "
            f"| {frames / floor_s:,.0f} | {floor_s / decode_s:.3f} | {rate / gt06_rate:.2f} |"
        )
    frames_all = sum(row[1] for row in rows)
    decode_all = sum(row[3] for row in rows)
    floor_all = sum(row[4] for row in rows)
    print(
        f"\nall protocols' corpora once: {frames_all} frames, "
        f"{sum(row[2] for row in rows)} records in {decode_all * 1e3:.2f} ms "
        f"(floor {floor_all * 1e3:.3f} ms)"
    )
    rate, baseline = frames_all / decode_all, frames_all / floor_all
    print(
        f"RESULT decode_frames_per_s={rate:.0f} frames/s baseline={baseline:.0f} "
        f"ratio={rate / baseline:.3f}"
    )


if __name__ == "__main__":
    main()
