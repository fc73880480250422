"""Every decoder, fed garbage, raises ``DecodeError`` and nothing else.

Two layers:

- hypothesis property tests (random bytes, and the splitter's no-byte-lost invariant) with a
  modest number of examples, because hypothesis spends most of its time generating and
  shrinking and would need minutes to reach 10^5 inputs per decoder;
- a seeded, structure-aware mutation loop that feeds each decoder 100,000 inputs in a few
  seconds (GT06: ``ONTRACK_GT06_FUZZ_INPUTS``, 5,000 by default, its corpus including every
  real frame of ``frames/gt06_real.txt``): valid frames from real devices, mutated (bit
  flips, byte swaps, insertions, deletions, truncation, splicing, "interesting" values), and
  for the binary protocols half of them repaired afterwards (length fields and CRC
  recomputed) so the mutation reaches the record parsers instead of stopping at the checksum.

Whatever decodes must still satisfy the record invariants (UTC times, coordinates in range).
Teltonika packets are fuzzed in ``test_teltonika_fuzz`` from the real-packet fixture.
The seed is fixed so a failure reproduces; set ``ONTRACK_FUZZ_SEED`` to explore others.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ontrack.tracking.protocols import gt06, mqtt_json, osmand, teltonika
from ontrack.tracking.protocols.records import DecodeError, DeviceEvent, Fix, Record

INPUTS_PER_DECODER = 100_000
# GT06 has its own budget: the suite runs 5,000; set ONTRACK_GT06_FUZZ_INPUTS=100000 (or more)
# for a deeper run before touching the decoder.
GT06_INPUTS = int(os.environ.get("ONTRACK_GT06_FUZZ_INPUTS", "5000"))
SEED = int(os.environ.get("ONTRACK_FUZZ_SEED", "20240501"))
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
IMEI = "864717003283581"

GT06_CLEAN_CORPUS = [
    bytes.fromhex(frame)
    for frame in (
        "78780D01086471700328358100093F040D0A",
        "787811010863586038760942a0010000010aa4000d0a",
        "787822220F0C1D023305C9027AC8180C46586000140001CC00287D001F71000001000820860D0A",
        "78781f120f0a140e150bc505e51e780293a9e800540000f601006e0055da00035f240d0a",
        "787825160F0C1D0A2B21C8027AC8040C46581000146F0901CC00287D001F714804040301001C84CF0D0A",
        "7878251613020C12141AC5027951430C2A16F60014000900000000001A00007C550300020002F1E70D0A",
        "7878252612030C063816C3026C10540C38C9700144030901CC002866000EEE0C06040302000DA2DB0D0A",
        "78780a13c40604000201298f5b0d0a",
        "78780B23C00122040001000818720D0A",
        "7878058A000688290D0A",
        "7878281520000000003c49434349443a38393838323339303030303039373330323635303e00020d446f260d0a",
        "797900262100000000020043006f006d006d0061006e00640020006500720072006f0072002100236e850d0a",
    )
]
# Mutated from the frames above and every real frame of the GT06 fixture (Traccar's tests,
# the Concox manual; some of them cut short or miscounted, as their firmware sends them).
GT06_CORPUS = GT06_CLEAN_CORPUS + [
    bytes.fromhex(line.partition("  #")[0].strip())
    for line in (Path(__file__).parent / "frames" / "gt06_real.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]
TELTONIKA_CORPUS = [
    bytes.fromhex(packet)
    for packet in (
        "000000000000003608010000016B40D8EA30010000000000000000000000000000000105021503010101425E0F"
        "01F10000601A014E0000000000000000010000C7CF",
        "000000000000004A8E010000016B412CEE00010000000000000000000000000000000001000500010001010001"
        "0011001D00010010015E2C880002000B000000003544C87A000E000000001DD7E06A00000100002994",
        "000000000000004c08010000016818d500580009c28d9f1cb3757a00be00c60f0053000f06f0011503c8000101"
        "1d00fc0007423799180053cdf80dce426f430f88190bb8560bb802f100005aa110002887e000010000ee8d",
        "00000000000000818e0100000166e368a510000f0d8b5b20961c35008d010308000000000014000900ef0000f0"
        "0100500100150400c800004501001e00002500002900000a00b5000800b60007004230dc0018000000430fcb00"
        "44005f001103de001200e50013001200240000000000000001010000113141314a43353434345237323532333637"
        "0100005e99",
        "000000000000004f0c01060000004755555555777730362e343b30342e323b30302e303b30302e303b30302e30"
        "3b30302e303b30302e303b30302e303b30312e333b30302e303b31302e373b30302e303b5353530d0a010000e371",
    )
]
HANDSHAKE_CORPUS = [bytes.fromhex("000F333536333037303432343431303133")]
QUERY_CORPUS = [
    b"id=123456789012345&timestamp=1504763810&lat=40.7232948571&lon=-74.0061408571"
    b"&bearing=7.19889788244&speed=40&ignition=true&rpm=933&fuel=24",
    b"id=902064&lat=42.06288&lon=-88.23412&timestamp=2016-01-27T18%3A55%3A47Z&hdop=6.0",
    b"lat=49.60688&lon=6.15788&timestamp=2014-06-04+09%3A10%3A11&altitude=384.7&id=35",
    b"id=1&timestamp=1377177267&location=60.0,30.0&batt=87&charge=true&alarm=sos,tampering",
]
JSON_CORPUS = [
    b'{"location":{"event":"motionchange","is_moving":false,"timestamp":"2021-07-21T08:06:34.444Z",'
    b'"odometer":0,"coords":{"latitude":-6.1148096,"longitude":106.6837015,"accuracy":3.8,'
    b'"speed":18.67,"heading":63,"altitude":35.7},"activity":{"type":"still","confidence":100},'
    b'"battery":{"is_charging":false,"level":0.79},"extras":{}},"device_id":"8737767034"}',
    b'{"device_id":"9","location":[{"timestamp":"2024-01-01T00:00:00Z",'
    b'"coords":{"latitude":1,"longitude":2,"speed":-1}}]}',
]
MQTT_CORPUS = [
    b'{"time":"2025-03-01T12:00:00Z","lat":52.37,"lon":4.89,"accuracy":8.5,"speed_kmh":4.2,'
    b'"course":270,"altitude":3,"battery":81,"charging":false,"events":["tamper"]}',
    b'[{"time":1700000000,"lat":1,"lon":2,"satellites":7},{"time":1700000000500,"events":["sos"]}]',
]
INTERESTING_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFF, 0x78, 0x79, 0x0D, 0x0A, 0x8E, 0x08, 0x0C)
TEXT_TOKENS = (
    b"null", b"-1", b"1e999", b"-0", b'"x"', b"[", b"]", b"{", b"}", b",", b":", b"true",
    b"%ff", b"%", b"&", b"=", b"T", b"99999999999999999999", b"nan", b"\xc3", b"\x00",
)  # fmt: skip


def mutate(rng: random.Random, data: bytes, corpus: list[bytes], *, text: bool = False) -> bytes:
    """One to four random mutations of ``data``."""
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        operation = rng.randrange(9)
        position = rng.randrange(len(buffer) + 1)
        if operation == 0 and buffer:  # flip a bit
            index = min(position, len(buffer) - 1)
            buffer[index] ^= 1 << rng.randrange(8)
        elif operation == 1 and buffer:  # overwrite a byte
            index = min(position, len(buffer) - 1)
            buffer[index] = (
                rng.choice(INTERESTING_BYTES) if rng.random() < 0.5 else rng.randrange(256)
            )
        elif operation == 2:  # insert bytes or a token
            chunk = rng.choice(TEXT_TOKENS) if text else rng.randbytes(rng.randint(1, 8))
            buffer[position:position] = chunk
        elif operation == 3:  # delete a range
            del buffer[position : position + rng.randint(1, 8)]
        elif operation == 4:  # truncate
            del buffer[position:]
        elif operation == 5 and buffer:  # duplicate a slice
            start = rng.randrange(len(buffer))
            buffer[position:position] = buffer[start : start + rng.randint(1, 16)]
        elif operation == 6:  # splice with another corpus entry
            other = rng.choice(corpus)
            cut = rng.randrange(len(other) + 1)
            buffer = buffer[:position] + bytearray(other[cut:])
        elif operation == 7:  # swap two bytes
            if len(buffer) > 1:
                i, j = rng.randrange(len(buffer)), rng.randrange(len(buffer))
                buffer[i], buffer[j] = buffer[j], buffer[i]
        else:  # replace everything with random bytes
            buffer = bytearray(rng.randbytes(rng.randint(0, 64)))
    return bytes(buffer)


def repair_gt06(frame: bytes) -> bytes:
    """Fix length and CRC so the mutation reaches the message parsers."""
    if len(frame) < 10 or frame[:2] not in (gt06.SHORT_START, gt06.EXTENDED_START):
        return frame
    extended = frame[:2] == gt06.EXTENDED_START
    header = 4 if extended else 3
    body = frame[header:-4]
    length = len(body) + 2
    if length > (0xFFFF if extended else 0xFF):
        return frame
    prefix = frame[:2] + length.to_bytes(header - 2, "big")
    crc = gt06.crc_itu(prefix[2:] + body)
    return prefix + body + crc.to_bytes(2, "big") + gt06.STOP


def repair_teltonika(packet: bytes) -> bytes:
    if len(packet) < 15:
        return packet
    data = packet[8:-4]
    data = data[:-1] + data[1:2]  # make the two record counts agree
    return (
        b"\x00\x00\x00\x00"
        + len(data).to_bytes(4, "big")
        + data
        + teltonika.crc16_ibm(data).to_bytes(4, "big")
    )


def check_records(records: list[Record]) -> None:
    for record in records:
        assert isinstance(record, Fix | DeviceEvent)
        assert record.time.tzinfo is not None
        assert record.time.utcoffset() == timedelta(0)
        if isinstance(record, Fix):  # lat and lon are None in a report with no position
            assert record.lat is None or -90 <= record.lat <= 90
            assert record.lon is None or -180 <= record.lon <= 180


def run_gt06(data: bytes) -> None:
    frames, rest, skipped = gt06.split_frames(data)
    assert sum(map(len, frames)) + len(rest) + skipped == len(data)
    imei = IMEI if data[-1:] != b"\x00" else None
    flushed = gt06.split_frames(data, flush=True)
    assert sum(map(len, flushed.frames)) + len(flushed.rest) + flushed.skipped == len(data)
    for frame in frames + flushed.frames:  # what the splitter cuts, stop-bit fallbacks too
        with contextlib.suppress(DecodeError):
            check_result(gt06.decode(frame, imei=imei, now=NOW))
    check_result(gt06.decode(data, imei=imei, now=NOW))


def check_result(result: gt06.Gt06Result) -> None:
    check_records(result.records)
    if result.reply is not None:  # every reply is itself a well-formed frame
        assert gt06.split_frames(result.reply).frames == [result.reply]


def run_teltonika(data: bytes) -> None:
    teltonika.packet_length(data)
    check_records(teltonika.decode_packet(data, imei=IMEI).records)


def run_handshake(data: bytes) -> None:
    teltonika.parse_handshake(data)


def run_query(data: bytes) -> None:
    check_records(osmand.decode_query(osmand.parse_query(data), received_at=NOW))


def run_json(data: bytes) -> None:
    check_records(osmand.decode_json(data, received_at=NOW))


def run_mqtt(data: bytes) -> None:
    check_records(mqtt_json.decode("ontrack/devices/d1/telemetry", data))


def fuzz(
    run: Callable[[bytes], None],
    corpus: list[bytes],
    *,
    repair: Callable[[bytes], bytes] | None = None,
    text: bool = False,
    inputs: int = INPUTS_PER_DECODER,
) -> tuple[int, int]:
    """Feed ``inputs`` inputs; return (inputs, how many decoded cleanly)."""
    rng = random.Random(SEED)
    decoded = 0
    for iteration in range(inputs):
        data = mutate(rng, rng.choice(corpus), corpus, text=text)
        if repair is not None and iteration % 2:
            data = repair(data)
        try:
            run(data)
        except DecodeError:
            continue
        except Exception as error:  # pragma: no cover - the failure message is the point
            raise AssertionError(
                f"{type(error).__name__}: {error} for input {data.hex()}"
            ) from error
        decoded += 1
    return inputs, decoded


def report(name: str, started: float, inputs: int, decoded: int) -> None:
    elapsed = time.perf_counter() - started
    print(f"{name}: {inputs} inputs, {decoded} decoded, {inputs / elapsed:,.0f}/s")


def test_corpora_decode_cleanly() -> None:
    for frame in GT06_CLEAN_CORPUS:
        run_gt06(frame)
    for packet in TELTONIKA_CORPUS:
        run_teltonika(packet)
    for query in QUERY_CORPUS:
        run_query(query)
    for body in JSON_CORPUS:
        run_json(body)
    for body in MQTT_CORPUS:
        run_mqtt(body)
    run_handshake(HANDSHAKE_CORPUS[0])


def test_gt06_mutations_raise_only_decode_errors() -> None:
    started = time.perf_counter()
    inputs, decoded = fuzz(run_gt06, GT06_CORPUS, repair=repair_gt06, inputs=GT06_INPUTS)
    report("gt06", started, inputs, decoded)
    assert decoded > inputs // 20, "mutations should still reach the message parsers"


def test_teltonika_handshake_mutations_raise_only_decode_errors() -> None:
    started = time.perf_counter()
    report("teltonika handshake", started, *fuzz(run_handshake, HANDSHAKE_CORPUS))


def test_osmand_query_mutations_raise_only_decode_errors() -> None:
    started = time.perf_counter()
    report("osmand query", started, *fuzz(run_query, QUERY_CORPUS, text=True))


def test_osmand_json_mutations_raise_only_decode_errors() -> None:
    started = time.perf_counter()
    report("osmand json", started, *fuzz(run_json, JSON_CORPUS, text=True))


def test_mqtt_json_mutations_raise_only_decode_errors() -> None:
    started = time.perf_counter()
    report("mqtt json", started, *fuzz(run_mqtt, MQTT_CORPUS, text=True))


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_decode_errors(data: bytes) -> None:
    for run in (run_gt06, run_teltonika, run_handshake, run_query, run_json, run_mqtt):
        with contextlib.suppress(DecodeError):
            run(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(GT06_CORPUS) | st.binary(max_size=20), max_size=12), st.data())
def test_splitter_finds_every_frame_however_the_stream_is_cut(
    pieces: list[bytes], data: st.DataObject
) -> None:
    stream = b"".join(pieces)
    cut = data.draw(st.integers(0, len(stream)))
    first = gt06.split_frames(stream[:cut])
    second = gt06.split_frames(first.rest + stream[cut:])
    whole = gt06.split_frames(stream)

    assert sum(map(len, whole.frames)) + whole.skipped + len(whole.rest) == len(stream)
    assert first.frames + second.frames == whole.frames
    assert first.skipped + second.skipped == whole.skipped


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["id", "lat", "lon", "timestamp", "speed", "batt", "alarm", "x"]),
        st.text(max_size=12),
    )
)
def test_query_parameters_raise_only_decode_errors(params: dict[str, str]) -> None:
    with contextlib.suppress(DecodeError):
        check_records(osmand.decode_query(params, received_at=NOW))


def test_json_documents_of_any_shape_raise_only_decode_errors() -> None:
    rng = random.Random(SEED)
    leaves: list[object] = [None, True, -1, 0, 1.5, 1e308, "x", "2024-01-01T00:00:00Z", [], {}]
    keys = ["device_id", "location", "coords", "latitude", "longitude", "timestamp", "time",
            "lat", "lon", "battery", "events", "speed", "level"]  # fmt: skip

    def document(depth: int) -> object:
        if depth == 0 or rng.random() < 0.3:
            return rng.choice(leaves)
        if rng.random() < 0.3:
            return [document(depth - 1) for _ in range(rng.randint(0, 3))]
        return {rng.choice(keys): document(depth - 1) for _ in range(rng.randint(0, 4))}

    for _ in range(5_000):
        body = json.dumps(document(5)).encode()
        for run in (run_json, run_mqtt):
            with contextlib.suppress(DecodeError):
                run(body)
