"""Per-sender rate limits and the share between bulk and one-to-one traffic (pure).

A provider account allows so many messages (or segments) per second; the sender takes a
token per message (or per segment) from a ``TokenBucket`` and waits when it is empty. Within
what the bucket allows, ``fair_split`` decides how many one-to-one and how many bulk rows a
sender claims next, so a sign-in code never waits behind a 100,000-person bulk send and a
bulk send is never starved either.

Several sender processes share one bucket per provider account (a database row, see
``outbox.claim``): each claim ``reserve``s the tokens of the rows it takes, and each row
goes at its reserved time, so N workers together send at the contracted rate, not N times
it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass
class TokenBucket:
    """``rate`` tokens per second, holding at most ``burst``. Time is passed in (seconds,
    any monotonic origin) so the arithmetic is testable without sleeping."""

    rate: float
    burst: float
    tokens: float = field(init=False)
    updated: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst <= 0:
            raise ValueError("rate and burst must be positive")
        self.tokens = self.burst

    def _refill(self, now: float) -> None:
        if self.updated is not None and now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        if self.updated is None or now > self.updated:
            self.updated = now

    def take(self, amount: float, now: float) -> float:
        """Take ``amount`` tokens; return how many seconds the caller must wait before the
        tokens it took are really available (0.0 when they were). Debt is allowed so that
        a message costing more than ``burst`` segments still goes out, only later."""
        self._refill(now)
        self.tokens -= amount
        if self.tokens >= 0:
            return 0.0
        return -self.tokens / self.rate


def reserve(
    bucket: TokenBucket, costs: Sequence[float], *, now: float, horizon: float
) -> list[float]:
    """Reserve tokens in ``bucket`` for the leading ``costs`` whose turn comes within
    ``horizon`` seconds of ``now``; return, for each one reserved, how many seconds after
    ``now`` it may go. The first is always reserved when the bucket is not in debt (a message
    costing more than the horizon allows still goes, only later); none is when the debt
    already reaches past the horizon. Several senders sharing one bucket (saved between
    calls) therefore get consecutive, non-overlapping turns: together they keep the rate."""
    delays: list[float] = []
    bucket._refill(now)
    for cost in costs:
        after = bucket.tokens - cost
        delay = max(0.0, -after / bucket.rate)
        if delay > horizon and (delays or bucket.tokens < 0):
            break
        bucket.tokens = after
        delays.append(delay)
    return delays


def interleave(first: Sequence[T], second: Sequence[T]) -> list[T]:
    """Both sequences merged so that every prefix holds them in about the proportion of
    the whole (what ``fair_split`` gave each class survives a cut at any point)."""
    total = len(first) + len(second)
    out: list[T] = []
    i = j = 0
    for n in range(1, total + 1):
        # Take from ``first`` while it is behind its share of the first n.
        if j >= len(second) or (i < len(first) and i * total < n * len(first)):
            out.append(first[i])
            i += 1
        else:
            out.append(second[j])
            j += 1
    return out


def fair_split(
    capacity: int, direct_waiting: int, bulk_waiting: int, direct_share: float
) -> tuple[int, int]:
    """How many (direct, bulk) rows to take of ``capacity``: each class gets at least its
    share while it has rows waiting, and whatever one class leaves unused goes to the other."""
    if capacity <= 0:
        return 0, 0
    direct_quota = min(direct_waiting, math.ceil(capacity * direct_share))
    bulk = min(bulk_waiting, capacity - direct_quota)
    direct = min(direct_waiting, capacity - bulk)
    return direct, bulk
