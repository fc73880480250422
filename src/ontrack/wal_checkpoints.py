"""The web process's SQLite checkpoints, off the requests' path.

On SQLite (WAL mode, ``settings.database_config``) the commit that takes the write-ahead
log past ``wal_autocheckpoint`` pages copies the log into the database file before it
returns. Every page a console request reads is access-logged, and a list's entry is
indexed by each person it showed: at 100,000 participants a supervisor's live map writes
some 1,300 index pages a poll, so every tenth or so request paid 80-100 ms for a
checkpoint (the pages' p95, where their median was 60-75 ms). This thread checkpoints
every second instead, ``PASSIVE`` (it waits for no reader or writer), so the log rarely
reaches the automatic checkpoint's size; that stays as the fallback while no web process
runs. On PostgreSQL it does nothing.
"""

from __future__ import annotations

import logging
import threading

from django.db import DatabaseError, connection

logger = logging.getLogger("ontrack.web")

CHECKPOINT_EVERY_S = 1.0


class WalCheckpointThread(threading.Thread):
    """``PRAGMA wal_checkpoint(PASSIVE)`` every ``interval`` seconds until :meth:`stop`."""

    def __init__(self, interval: float = CHECKPOINT_EVERY_S) -> None:
        super().__init__(name="wal-checkpoint", daemon=True)
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        if connection.vendor != "sqlite":
            return
        failing = False
        try:
            while not self._stop_event.wait(self.interval):
                try:
                    with connection.cursor() as cursor:
                        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except DatabaseError as error:
                    if not failing:
                        logger.warning("checkpoint failed", extra={"error": str(error)[:200]})
                    failing = True
                    connection.close()
                else:
                    failing = False
        finally:
            connection.close()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)
