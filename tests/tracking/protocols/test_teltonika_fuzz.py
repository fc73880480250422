"""Teltonika decoder fuzzing: whatever the bytes, only ``DecodeError`` may escape.

Inputs are the real packets of ``frames/teltonika_real.txt`` (every codec), mutated by the
shared mutator of ``test_fuzz_decoders``; every other input is repaired afterwards (lengths,
counts and CRC recomputed) so that mutations reach the record and message parsers instead of
stopping at the CRC, and one in eight is a packet of random records under a random codec
byte. Whatever decodes must keep the decoder's promises: records in UTC with coordinates in
range, an acknowledgement for exactly the announced count, drops only of announced records.

``ONTRACK_TELTONIKA_FUZZ_INPUTS`` sets the number of inputs (default 5,000, about a second);
``ONTRACK_FUZZ_SEED`` the seed, fixed by default so that a failure reproduces.
"""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta

from ontrack.tracking.protocols import teltonika
from ontrack.tracking.protocols.records import DecodeError
from tests.tracking.protocols.test_fuzz_decoders import check_records, mutate, repair_teltonika
from tests.tracking.protocols.test_teltonika_real import PACKETS

INPUTS = int(os.environ.get("ONTRACK_TELTONIKA_FUZZ_INPUTS", "5000"))
SEED = int(os.environ.get("ONTRACK_FUZZ_SEED", "20240501"))
IMEI = "352093081452251"
CORPUS = [real.data for real in PACKETS]
CODECS = (teltonika.CODEC_GH3000, teltonika.CODEC_8, teltonika.CODEC_8_EXTENDED,
          teltonika.CODEC_16, teltonika.CODEC_12, teltonika.CODEC_13, teltonika.CODEC_14,
          teltonika.CODEC_15)  # fmt: skip


def random_packet(rng: random.Random) -> bytes:
    """Random but well-formed records (random times, places, IO), under any codec byte."""
    extended = rng.random() < 0.5
    count = rng.randint(0, 4)
    records = b"".join(
        teltonika.encode_record(
            time=datetime(1990, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(4_000_000_000)),
            lat=rng.uniform(-90, 90),
            lon=rng.uniform(-180, 180),
            satellites=rng.randrange(256),
            event_io_id=rng.choice((0, 66, 69, 113, 236, 247, 252, 255)),
            io={rng.choice((21, 66, 69, 113, 236, 247, 252, 255)): rng.randrange(2**16)},
            extended=extended,
        )
        for _ in range(count)
    )
    codec = rng.choice(CODECS) if rng.random() < 0.3 else (0x8E if extended else 0x08)
    return teltonika.encode_packet(codec, count, records)


def check_result(result: teltonika.TeltonikaResult) -> None:
    check_records(result.records)
    if result.reply is not None:
        assert result.reply == result.record_count.to_bytes(4, "big")
    assert all(0 <= dropped.position < result.record_count for dropped in result.dropped)


def test_fuzzed_packets_raise_only_decode_errors() -> None:
    rng = random.Random(SEED)
    decoded = 0
    for iteration in range(INPUTS):
        if iteration % 8 == 7:
            data = random_packet(rng)
        else:
            data = mutate(rng, rng.choice(CORPUS), CORPUS)
            if iteration % 2:
                data = repair_teltonika(data)
        try:
            result = teltonika.decode_packet(data, imei=IMEI)
        except DecodeError:
            continue
        except Exception as error:  # pragma: no cover - the failure message is the point
            raise AssertionError(f"{type(error).__name__}: {error} for {data.hex()}") from error
        check_result(result)
        decoded += 1
    print(f"teltonika: {INPUTS} inputs, {decoded} decoded")
    assert decoded > INPUTS // 20, "mutations should still reach the record parsers"
