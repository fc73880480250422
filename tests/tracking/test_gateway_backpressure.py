"""The gateway's back-pressure: connections held while the writer's queue is full are
resumed in turn once it drains, as far as the queue has room, and keep their place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ontrack.tracking.gateway.core import Counters, Directory, Writer
from tests.tracking.gateway_helpers import gateway_config

# A frame's records as the writer counts them (it only queues them here, never stores them).
ONE_RECORD: Any = [("device", "record")]


class HeldConnection:
    """What the writer sees of a held connection (``Gt06Connection.resume``): resumed, it
    queues its held frames, one record each, until the queue is full, and is held again
    with the rest."""

    def __init__(self, writer: Writer, frames: int) -> None:
        self.writer = writer
        self.frames = frames
        self.resumed = 0
        self.resumed_without_room = 0

    def resume(self) -> None:
        self.resumed += 1
        if not self.writer._room.is_set():
            self.resumed_without_room += 1
        while self.frames and self.writer._room.is_set():
            self.writer.submit(ONE_RECORD, wait=False)
            self.frames -= 1
        if self.frames:
            self.writer.hold(self)


def _drained(writer: Writer) -> None:
    """The database thread stored everything queued (``Writer._flush``)."""
    writer._frames.clear()
    writer._pending = 0
    writer._room.set()
    writer._resume_held()


def test_held_connections_resume_in_turn_until_the_queue_is_full_and_the_rest_keep_their_place(
    tmp_path: Path,
) -> None:
    writer = Writer(
        gateway_config(tmp_path, max_pending=4, batch_size=2),
        Counters(),
        Directory(tmp_path / "directory.json"),
    )
    writer.submit(ONE_RECORD * 4, wait=False)
    assert not writer._room.is_set(), "a full queue stops the reading"
    connections = [HeldConnection(writer, frames=3) for _ in range(10)]
    for connection in connections:
        writer.hold(connection)

    _drained(writer)

    assert [c.resumed for c in connections] == [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert writer._held == [*connections[2:], connections[1]], (
        "those not yet resumed go first next time, then the one held again"
    )
    turns = 1
    while writer._held:
        _drained(writer)
        turns += 1
    assert sum(c.frames for c in connections) == 0, "every held frame was queued in the end"
    assert turns == 8  # 30 frames, 4 a turn
    assert all(c.resumed_without_room == 0 for c in connections), (
        "no connection resumed only to be held again before reading a frame"
    )
    assert max(c.resumed for c in connections) == 2
