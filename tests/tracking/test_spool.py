"""The spool keeps acknowledged batches across crashes and detects a torn last record."""

from datetime import UTC, datetime

from ontrack.tracking.protocols.records import DeviceEvent, EventKind, Fix
from ontrack.tracking.spool import Spool, read_segment

DEVICE = {"id": 1, "identifier": "359710049095095", "kind": "ankle", "protocol": "gt06",
          "participant_id": 7, "time_offset_minutes": 0}  # fmt: skip
WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _fix(n: int) -> Fix:
    return Fix("359710049095095", WHEN, 40.7 + n / 1000, -74.0, speed_kmh=4.0,
               attributes={"io": {"21": 3}})  # fmt: skip


def test_batches_come_back_in_order_with_their_records(tmp_path):
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


def test_a_torn_last_record_is_skipped_and_the_rest_is_kept(tmp_path):
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


def test_a_flipped_byte_fails_the_crc(tmp_path):
    spool = Spool(tmp_path)
    spool.append([(DEVICE, _fix(1))], received_at=WHEN)
    spool.seal()
    [segment] = spool.sealed_segments()
    data = bytearray(segment.read_bytes())
    data[20] ^= 0x01
    segment.write_bytes(bytes(data))
    read = read_segment(segment)
    assert read.torn and read.batches == []


def test_a_new_spool_continues_after_the_segments_a_crashed_one_left(tmp_path):
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
