"""With ``ONTRACK_REDIS_URL`` the worker's queue is Redis (production), and its jobs still
run: the worker process is started against the machine's Redis and the jobs' runs appear."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.support import migrated

REDIS = ("127.0.0.1", 6379)


def _redis_answers() -> bool:
    try:
        socket.create_connection(REDIS, timeout=1).close()
    except OSError:
        return False
    return True


def _done_runs(database: Path) -> int:
    with sqlite3.connect(database, timeout=30) as db:
        return int(
            db.execute(
                "select count(*) from operations_jobrun "
                "where job = 'alerts_grace_watchdog' and outcome = 'done'"
            ).fetchone()[0]
        )


@pytest.mark.skipif(not _redis_answers(), reason="no Redis server at 127.0.0.1:6379")
def test_the_worker_runs_its_jobs_through_redis(cli_env: dict[str, str], tmp_path: Path) -> None:
    import redis

    queue = f"ontrack-test-{uuid.uuid4().hex[:8]}"
    env = {
        **cli_env,
        "ONTRACK_REDIS_URL": "redis://127.0.0.1:6379/0",
        "ONTRACK_JOBS_QUEUE": queue,
        "ONTRACK_JOBS_EVERY_S": "1",
    }
    cli = [sys.executable, "-m", "ontrack.cli"]
    migrated(Path(cli_env["ONTRACK_HOME"]))
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen([*cli, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT)
    database = Path(env["ONTRACK_HOME"]) / "ontrack.sqlite3"
    try:
        deadline = time.monotonic() + 60
        while _done_runs(database) < 2:
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "no job ran through Redis:\n" + log.read_text()
            time.sleep(0.5)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
        client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        for key in client.scan_iter(f"*{queue}*"):
            client.delete(key)
    assert not (Path(env["ONTRACK_HOME"]) / "jobs.sqlite3").exists(), "the SQLite queue was used"
