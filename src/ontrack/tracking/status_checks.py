"""The gateway's lines on the status page, read from its processes' heartbeats: when a
batch of positions was last stored, and how much waits in the spool for the database."""

from __future__ import annotations

import datetime as dt

from ontrack.operations.models import Heartbeat, ProcessKind
from ontrack.operations.status import StatusCheck, ago, stale_after

# Spooled data means the database was away; some is normal during a blip, this much is not.
SPOOL_LATE_BYTES = 1_000_000


def _running_gateways(now: dt.datetime) -> list[Heartbeat]:
    return list(
        Heartbeat.objects.filter(
            kind=ProcessKind.GATEWAY, stopped_at__isnull=True, beat_at__gte=now - stale_after()
        )
    )


def gateway_last_stored(now: dt.datetime) -> StatusCheck:
    gateways = _running_gateways(now)
    if not gateways:
        return StatusCheck("gateway", "Gateway: last stored batch", "no gateway running", ok=True)
    stored = [
        dt.datetime.fromisoformat(beat.details["last_stored_at"])
        for beat in gateways
        if beat.details.get("last_stored_at")
    ]
    last = max(stored, default=None)
    return StatusCheck(
        "gateway",
        "Gateway: last stored batch",
        ago(now, last),
        ok=True,
        detail=f"{len(gateways)} gateway process(es)",
    )


def gateway_spool(now: dt.datetime) -> StatusCheck:
    gateways = _running_gateways(now)
    spooled = sum(int(beat.details.get("spool_bytes", 0)) for beat in gateways)
    return StatusCheck(
        "spool",
        "Gateway: spooled while the database was away",
        f"{spooled:,} bytes",
        ok=spooled < SPOOL_LATE_BYTES,
    )
