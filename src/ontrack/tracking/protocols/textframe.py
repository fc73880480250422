"""What the text-framed protocols (H02, Watch) share: the result of one frame and the split.

Both are line-free ASCII streams where every frame names its device (there is no login
frame as in GT06), so the gateway runs one server for both (``tracking.gateway.text``) and needs
the same four things from each decoder: who sent the frame, what it said, what to answer,
and whether that answer must wait until the records are durable (an alarm the device
resends until it is acknowledged) or may go at once (a keep-alive).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from .records import DecodeError, Record, checked_time


class SplitResult(NamedTuple):
    """``frames`` complete frames, ``rest`` an incomplete tail, ``skipped`` garbage bytes.

    Invariant: ``sum(map(len, frames)) + skipped + len(rest) == len(buffer)``.
    """

    frames: list[bytes]
    rest: bytes
    skipped: int


@dataclass(frozen=True, slots=True)
class FrameResult:
    """What one frame said and what to answer.

    ``reply`` is ``None`` when the device expects nothing; when ``reply_when_durable`` is
    set it goes out only once ``records`` are stored or spooled (the device resends an
    unanswered alarm). ``header`` is what a command to this device must be framed with
    (the Watch vendor code and optional index; empty for H02). ``crc_mismatch``: the frame
    carried a checksum that did not match and was decoded anyway (the gateway counts it).
    """

    identifier: str
    message: str
    records: list[Record] = field(default_factory=list)
    reply: bytes | None = None
    reply_when_durable: bool = False
    command_response: str | None = None
    supported: bool = True
    battery_pct: int | None = None
    header: tuple[str, ...] = ()
    crc_mismatch: bool = False


def device_time(
    date: tuple[int, int, int], clock: tuple[int, int, int], offset_minutes: int
) -> datetime:
    """UTC from a two-digit-year date and a clock the unit reports ``offset_minutes`` ahead
    of UTC (many units run on GMT+8). Impossible values raise ``bad_time``."""
    day, month, year = date
    hour, minute, second = clock
    if not -16 * 60 <= offset_minutes <= 16 * 60:
        raise ValueError("time_offset_minutes must be within ±16 h")
    try:
        local = datetime(2000 + year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as error:
        raise DecodeError("bad_time", f"{date} {clock}") from error
    return checked_time(local - timedelta(minutes=offset_minutes))


def six_digits(text: str) -> tuple[int, int, int]:
    """``"220414"`` -> ``(22, 4, 14)``; anything but six ASCII digits raises ``bad_time``."""
    if len(text) != 6 or not text.isascii() or not text.isdigit():
        raise DecodeError("bad_time", text[:20])
    return int(text[0:2]), int(text[2:4]), int(text[4:6])


def number(text: str, reason: str) -> float:
    """A finite decimal number (spaces around it allowed, as some firmware pads fields)."""
    try:
        value = float(text.strip())
    except ValueError as error:
        raise DecodeError(reason, text[:20]) from error
    if not math.isfinite(value):
        raise DecodeError(reason, text[:20])
    return value
