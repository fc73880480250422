"""Each long-running process says, every few seconds, that it is alive and how it is doing.

A process starts a :class:`HeartbeatThread` with a function returning its details (the
gateway: its last stored batch and spool size; the sender: what it last sent). The thread
upserts the process's ``Heartbeat`` row every ``ONTRACK_HEARTBEAT_S`` seconds (10) on its own
database connection, and marks the row stopped when the process stops cleanly. While the
database is away it logs once and keeps trying; a heartbeat never stops its process.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from ontrack.operations.models import Heartbeat, ProcessKind

logger = logging.getLogger("ontrack.heartbeat")

Details = Callable[[], dict[str, Any]]


def heartbeat_interval_s() -> float:
    return float(os.environ.get("ONTRACK_HEARTBEAT_S", "10"))


def heartbeat_write(
    kind: ProcessKind, instance: str, *, details: dict[str, Any], stopped: bool = False
) -> None:
    now = timezone.now()
    updated = Heartbeat.objects.filter(kind=kind, instance=instance).update(
        beat_at=now, details=details, stopped_at=now if stopped else None
    )
    if not updated:
        Heartbeat.objects.create(
            kind=kind,
            instance=instance,
            started_at=now,
            beat_at=now,
            details=details,
            stopped_at=now if stopped else None,
        )


class HeartbeatThread(threading.Thread):
    """Beats for one process until :meth:`stop`; use as a context manager."""

    def __init__(
        self,
        kind: ProcessKind,
        instance: str,
        *,
        details: Details | None = None,
        interval: float | None = None,
    ) -> None:
        super().__init__(name=f"heartbeat-{kind}", daemon=True)
        self.kind = kind
        self.instance = instance
        self.details = details or dict
        self.interval = interval if interval is not None else heartbeat_interval_s()
        self._stop_event = threading.Event()
        self._failing = False

    def _beat(self, *, stopped: bool = False) -> None:
        try:
            details = self.details()
        except Exception:
            logger.exception("heartbeat details failed", extra={"process_kind": self.kind})
            details = {}
        try:
            close_old_connections()
            heartbeat_write(self.kind, self.instance, details=details, stopped=stopped)
        except DatabaseError as exc:
            if not self._failing:
                logger.warning(
                    "heartbeat not recorded: database unavailable",
                    extra={"process_kind": self.kind, "error": str(exc).splitlines()[0]},
                )
            self._failing = True
            connection.close()
        else:
            if self._failing:
                logger.info("heartbeat recorded again", extra={"process_kind": self.kind})
            self._failing = False

    def run(self) -> None:
        try:
            self._beat()
            while not self._stop_event.wait(self.interval):
                self._beat()
            self._beat(stopped=True)
        finally:
            connection.close()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)

    def __enter__(self) -> HeartbeatThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
