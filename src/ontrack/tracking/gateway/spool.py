"""The gateway's local spool: where acknowledged batches wait while the database is away.

A device is told "stored" only once its data is durable. When the database cannot take a
batch, the gateway appends the batch here, fsyncs, and only then acknowledges; when the
database is back it replays the spool in order and deletes what it replayed. A kill -9 at
any moment therefore loses nothing that was acknowledged: on start, the gateway replays
whatever the spool holds before it writes anything new.

File layout
-----------
``<directory>/segment-<sequence:012d>.spool`` files, replayed in sequence order. Each is a
run of records::

    offset  size  field
    0       4     payload length N, big-endian
    4       4     CRC-32 (zlib) of the payload, big-endian
    8       N     payload: UTF-8 JSON {"received_at": ISO-8601, "items": [[device, record]...]}

A crash in the middle of an append leaves a torn last record; its length or CRC does not
check out, so it is skipped and counted (it was never acknowledged: the fsync that precedes
an ack had not returned). An append that fails while the process lives on (a full disk:
ENOSPC after part of the record went out) is cut off again with ``ftruncate`` before the
error is raised, so the next append does not land behind a tear; if even that fails the
segment is sealed and the next append starts a new one. Reading never gives up at a tear:
it looks for the next intact record (a header whose length and CRC-32 check out over a JSON
payload) and carries on, so a tear can cost only the unacknowledged record itself.

A replay interrupted by a crash starts that segment again, so a few positions may be stored
twice; delivery is at least once and the duplicate filter downstream removes them.

This module is plain Python: devices travel as the dict of their dataclass fields, and the
caller turns them back into its own type.
"""

from __future__ import annotations

import dataclasses
import json
import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ontrack.tracking.protocols.records import DeviceEvent, EventKind, Fix, Record

_HEADER = 8
_MAX_RECORD = 256 * 1024 * 1024
_PREFIX = "segment-"
_SUFFIX = ".spool"


@dataclass(slots=True)
class SpooledBatch:
    """One batch as it was acknowledged: devices (as dicts), records and arrival time."""

    received_at: datetime
    items: list[tuple[dict[str, Any], Record]]


def encode_record(record: Record) -> dict[str, Any]:
    """A JSON-ready dict for a fix or an event (times as ISO-8601, the kind by value)."""
    data = {field.name: getattr(record, field.name) for field in dataclasses.fields(record)}
    data["time"] = record.time.isoformat()
    if isinstance(record, DeviceEvent):
        data["kind"] = record.kind.value
        data["_type"] = "event"
    else:
        data["_type"] = "fix"
    return data


def decode_record(data: dict[str, Any]) -> Record:
    """The inverse of ``encode_record``."""
    fields = dict(data)
    kind = fields.pop("_type")
    fields["time"] = datetime.fromisoformat(fields["time"])
    if kind == "event":
        fields["kind"] = EventKind(fields["kind"])
        return DeviceEvent(**fields)
    return Fix(**fields)


def encode_batch(items: Sequence[tuple[dict[str, Any], Record]], *, received_at: datetime) -> bytes:
    """One length-prefixed, CRC-checked spool record holding a whole batch."""
    payload = json.dumps(
        {
            "received_at": received_at.isoformat(),
            "items": [[device, encode_record(record)] for device, record in items],
        },
        separators=(",", ":"),
        default=str,
    ).encode()
    return len(payload).to_bytes(4, "big") + zlib.crc32(payload).to_bytes(4, "big") + payload


@dataclass(slots=True)
class SegmentRead:
    """What reading one segment found: the batches, and how many torn stretches of bytes
    were skipped to find them."""

    batches: list[SpooledBatch]
    torn_stretches: int = 0

    @property
    def torn(self) -> bool:
        return self.torn_stretches > 0


_PAYLOAD_START = b'{"received_at":'


def _batch_at(data: bytes, position: int) -> tuple[SpooledBatch, int] | None:
    """The intact record starting at ``position`` and where the next one starts, or
    ``None`` when the bytes there are not one."""
    if len(data) - position < _HEADER:
        return None
    length = int.from_bytes(data[position : position + 4], "big")
    crc = int.from_bytes(data[position + 4 : position + 8], "big")
    payload = data[position + _HEADER : position + _HEADER + length]
    if length > _MAX_RECORD or len(payload) != length or zlib.crc32(payload) != crc:
        return None
    try:
        document = json.loads(payload)
        batch = SpooledBatch(
            received_at=datetime.fromisoformat(document["received_at"]),
            items=[(device, decode_record(record)) for device, record in document["items"]],
        )
    except (ValueError, KeyError, TypeError):
        return None
    return batch, position + _HEADER + length


def _next_intact(data: bytes, after: int) -> int | None:
    """The start of the first intact record after a tear at ``after``: candidates are found
    by their payload's opening bytes, each confirmed by its length and CRC."""
    start = after + _HEADER + 1
    while (found := data.find(_PAYLOAD_START, start)) != -1:
        if _batch_at(data, found - _HEADER) is not None:
            return found - _HEADER
        start = found + 1
    return None


def read_segment(path: Path) -> SegmentRead:
    """Every intact batch of a segment, in order, skipping over torn or corrupt stretches."""
    data = path.read_bytes()
    read = SegmentRead([])
    position = 0
    while position < len(data):
        found = _batch_at(data, position)
        if found is None:
            read.torn_stretches += 1
            resume = _next_intact(data, position)
            if resume is None:
                break
            position = resume
            continue
        batch, position = found
        read.batches.append(batch)
    return read


class Spool:
    """Append-only segments under one directory; not thread-safe (the gateway's database
    thread is its only user)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        existing = self.segments()
        self._next_sequence = (self._sequence(existing[-1]) + 1) if existing else 1
        self._current: Path | None = None
        self._fd: int | None = None

    @staticmethod
    def _sequence(path: Path) -> int:
        return int(path.name[len(_PREFIX) : -len(_SUFFIX)])

    def segments(self) -> list[Path]:
        """Segment files, oldest first (including the one being appended to)."""
        return sorted(self.directory.glob(f"{_PREFIX}*{_SUFFIX}"), key=self._sequence)

    def has_data(self) -> bool:
        return any(path.stat().st_size > 0 for path in self.segments())

    def append(
        self, items: Sequence[tuple[dict[str, Any], Record]], *, received_at: datetime
    ) -> None:
        """Write one batch and fsync it; when this returns the batch survives a crash."""
        if self._fd is None:
            self._current = self.directory / f"{_PREFIX}{self._next_sequence:012d}{_SUFFIX}"
            self._next_sequence += 1
            self._fd = os.open(self._current, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._fsync_directory()
        record = encode_batch(items, received_at=received_at)
        size_before = os.fstat(self._fd).st_size
        try:
            written = 0
            while written < len(record):
                written += os.write(self._fd, record[written:])
            os.fsync(self._fd)
        except OSError:
            self._cut_back(size_before)
            raise

    def _cut_back(self, size: int) -> None:
        """Remove what a failed append left behind; seal the segment if that fails too."""
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, size)
            os.fsync(self._fd)
        except OSError:
            self.seal()

    def seal(self) -> None:
        """Close the segment being appended to, so replay can take it whole; the next append
        opens a new one."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self._current = None

    def sealed_segments(self) -> list[Path]:
        return [path for path in self.segments() if path != self._current]

    def remove(self, path: Path) -> None:
        """Delete a segment once every batch in it is stored."""
        path.unlink(missing_ok=True)
        self._fsync_directory()

    def close(self) -> None:
        self.seal()

    def _fsync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def iter_batches(spool: Spool) -> Iterator[tuple[Path, SegmentRead]]:
    """Sealed segments with their contents, oldest first."""
    for path in spool.sealed_segments():
        yield path, read_segment(path)
