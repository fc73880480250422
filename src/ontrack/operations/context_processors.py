"""The banner administrators and operators see on every page when no job worker has run
for a while: without it, alerts stay in their grace period and watchdogs stay silent, and
nothing else on a page would say so."""

from __future__ import annotations

import time
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest
from django.utils import timezone

from ontrack.operations.status import worker_banner_after, worker_last_beat

_CACHE_S = 10.0
_cached: tuple[float, Any] = (0.0, None)


def _worker_last_beat_cached() -> Any:
    global _cached
    expires, value = _cached
    if time.monotonic() < expires:
        return value
    try:
        value = worker_last_beat() or False
    except DatabaseError:
        return None
    _cached = (time.monotonic() + _CACHE_S, value)
    return value


def system_banner(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "sees_system_status", False):
        return {}
    last = _worker_last_beat_cached()
    if last is None:
        return {}
    if last is False:
        return {"worker_banner": {"never": True}}
    if timezone.now() - last > worker_banner_after():
        return {"worker_banner": {"never": False, "since": last}}
    return {}
