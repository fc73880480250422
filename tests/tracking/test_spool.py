"""The spool keeps acknowledged batches across crashes and detects a torn last record."""

from datetime import UTC, datetime
from pathlib import Path

from ontrack.tracking.gateway.spool import Spool, read_segment
from ontrack.tracking.protocols.records import DeviceEvent, EventKind, Fix
from tests.support import fix_position

DEVICE = {"id": 1, "identifier": "359710049095095", "kind": "ankle", "protocol": "gt06",
          "participant_id": 7, "time_offset_minutes": 0}  # fmt: skip
WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _fix(n: int) -> Fix:
    return Fix("359710049095095", WHEN, 40.7 + n / 1000, -74.0, speed_kmh=4.0,
               attributes={"io": {"21": 3}})  # fmt: skip


def test_batches_come_back_in_order_with_their_records(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    event = DeviceEvent("359710049095095", WHEN, EventKind.TAMPER, "gt06:alarm:0x05")
    spool.append([(DEVICE, _fix(1)), (DEVICE, event)], received_at=WHEN)
    spool.append([(DEVICE, _fix(2))], received_at=WHEN)
    spool.seal()
    [segment] = spool.sealed_segments()
    read = read_segment(segment)
    assert not read.torn
    assert [len(batch.items) for batch in read.batches] == [2, 1]
    assert read.batches[0].items[0] == (DEVICE, _fix(1))
    assert read.batches[0].items[1] == (DEVICE, event)
    assert read.batches[1].received_at == WHEN


def test_a_torn_last_record_is_skipped_and_the_rest_is_kept(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append([(DEVICE, _fix(1))], received_at=WHEN)
    spool.append([(DEVICE, _fix(2))], received_at=WHEN)
    spool.seal()
    [segment] = spool.sealed_segments()
    data = segment.read_bytes()
    segment.write_bytes(data[:-7])  # the crash came in the middle of the second append
    read = read_segment(segment)
    assert read.torn
    assert [batch.items[0][1] for batch in read.batches] == [_fix(1)]


def test_a_flipped_byte_fails_the_crc(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append([(DEVICE, _fix(1))], received_at=WHEN)
    spool.seal()
    [segment] = spool.sealed_segments()
    data = bytearray(segment.read_bytes())
    data[20] ^= 0x01
    segment.write_bytes(bytes(data))
    read = read_segment(segment)
    assert read.torn
    assert read.batches == []


def test_a_new_spool_continues_after_the_segments_a_crashed_one_left(tmp_path: Path) -> None:
    first = Spool(tmp_path)
    first.append([(DEVICE, _fix(1))], received_at=WHEN)  # never sealed: killed
    second = Spool(tmp_path)
    assert second.has_data()
    second.append([(DEVICE, _fix(2))], received_at=WHEN)
    second.seal()
    segments = second.sealed_segments()
    assert len(segments) == 2
    assert [read_segment(path).batches[0].items[0][1] for path in segments] == [_fix(1), _fix(2)]
    for path in segments:
        second.remove(path)
    assert not second.has_data()


def test_records_after_a_tear_in_the_middle_are_still_read(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append([(DEVICE, _fix(1))], received_at=WHEN)
    spool.seal()
    [segment] = spool.sealed_segments()
    good = segment.read_bytes()
    third = Spool(tmp_path / "other")
    third.append([(DEVICE, _fix(3))], received_at=WHEN)
    third.seal()
    after = third.sealed_segments()[0].read_bytes()
    # What an interrupted append leaves: the start of a record, then the next appends.
    segment.write_bytes(good + good[:-9] + after)
    read = read_segment(segment)
    assert read.torn_stretches == 1
    assert [batch.items[0][1] for batch in read.batches] == [_fix(1), _fix(3)]


FULL_DISK_SCRIPT = """
import datetime as dt, resource, signal, sys
from pathlib import Path
from ontrack.tracking.gateway.spool import Spool
from ontrack.tracking.protocols.records import Fix

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a full file fails the write (EFBIG)
when = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
spool = Spool(Path(sys.argv[1]))
acknowledged, refused = [], 0
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (3000, hard))
for n in range(60):
    if n == 40:  # the disk has room again
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    try:
        spool.append([({"id": 1}, Fix("359710049095095", when, 40.0 + n / 1000, -74.0))],
                     received_at=when)
    except OSError:
        refused += 1
        continue
    acknowledged.append(n)
print(refused, " ".join(map(str, acknowledged)))
"""


def test_a_write_that_fills_the_disk_loses_no_acknowledged_batch(tmp_path: Path) -> None:
    """The spool's file-size limit stands in for a full disk: the append that crosses it
    is written in part and then refused, as with ENOSPC; later appends, once there is room,
    must not be lost behind the part left over."""
    import subprocess
    import sys

    ran = subprocess.run(
        [sys.executable, "-c", FULL_DISK_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    refused, acknowledged = ran.stdout.split(" ", 1)
    assert int(refused) > 0, "the size limit never refused a write"
    spool = Spool(tmp_path)
    spool.seal()
    read = [
        round((fix_position(batch.items[0][1])[0] - 40.0) * 1000)
        for path in spool.sealed_segments()
        for batch in read_segment(path).batches
    ]
    assert read == [int(n) for n in acknowledged.split()]
