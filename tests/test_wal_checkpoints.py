"""The web process checkpoints SQLite's write-ahead log in the background, so that no
request's commit pays for copying the log into the database."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.db import connection

from ontrack.wal_checkpoints import WalCheckpointThread

BLOB = 64 * 1024
WRITES = 40


def _write_blobs() -> None:
    for _ in range(WRITES):
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO wal_probe VALUES (randomblob(%s))", [BLOB])
        time.sleep(0.02)


@pytest.mark.django_db(transaction=True)
def test_the_write_ahead_log_stays_short_while_the_checkpoint_thread_runs() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL has no write-ahead log for ontrack to checkpoint")
    name = Path(str(connection.settings_dict["NAME"]))
    wal = name.with_name(name.name + "-wal")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint=0")  # only the thread checkpoints
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.execute("CREATE TABLE wal_probe (data BLOB)")
    try:
        thread = WalCheckpointThread(interval=0.05)
        thread.start()
        try:
            _write_blobs()
        finally:
            thread.stop()
        with_thread = wal.stat().st_size
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _write_blobs()
        without = wal.stat().st_size
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE wal_probe")
            cursor.execute("PRAGMA wal_autocheckpoint=20000")
    assert without > WRITES * BLOB, "without checkpoints the log holds every write"
    assert with_thread < without / 4, (with_thread, without)
