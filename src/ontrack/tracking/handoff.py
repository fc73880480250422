"""The one call that passes each stored batch down to zones and alerts.

Tracking sits above zones and alerts in the import stack, but what it hands them must not
depend on their models, and it must work before they exist. So the hand-off is a tiny
registry of plain callbacks fed with plain dataclasses: zones and alerts register at start-up
(``AppConfig.ready``), tracking calls :func:`dispatch` after every committed batch.

``dispatch`` runs after the positions are durable. A callback that raises is logged and the
next callback still runs: the data is stored either way, and an engine bug must never make
the gateway think the batch failed (it would spool and replay it for nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoredFix:
    device_id: int
    participant_id: int | None
    time: datetime
    lat: float
    lon: float
    accuracy_m: float | None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    device_id: int
    participant_id: int | None
    time: datetime
    kind: str
    raw_code: str


@dataclass(frozen=True, slots=True)
class DeviceLevel:
    """A device's latest reported battery level and charging flag in a batch (from its
    fixes; either may be None when the protocol does not report it)."""

    device_id: int
    participant_id: int | None
    time: datetime
    battery_pct: int | None
    charging: bool | None


@dataclass(frozen=True, slots=True)
class StoredBatch:
    fixes: list[StoredFix]
    events: list[StoredEvent]
    levels: list[DeviceLevel] = field(default_factory=list)


Callback = Callable[[StoredBatch], None]

_callbacks: list[Callback] = []


def register(callback: Callback) -> None:
    """Ask for every stored batch from now on. Registering the same callback twice is a
    no-op, so an app whose ``ready()`` runs twice (tests, autoreload) is not called twice."""
    if callback not in _callbacks:
        _callbacks.append(callback)


def unregister(callback: Callback) -> None:
    """Stop calling ``callback`` (for tests and for shutting a consumer down)."""
    if callback in _callbacks:
        _callbacks.remove(callback)


def dispatch(batch: StoredBatch) -> None:
    """Hand ``batch`` to every registered callback, in registration order."""
    if not batch.fixes and not batch.events:
        return
    for callback in tuple(_callbacks):
        try:
            callback(batch)
        except Exception:
            logger.exception(
                "hand-off callback %r failed on a batch of %d fixes and %d events; "
                "the batch is stored regardless",
                callback,
                len(batch.fixes),
                len(batch.events),
            )
