"""A worker killed with SIGKILL in the middle of a bulk send, then restarted: every
recipient gets exactly one message. The console provider records each send durably (one
fsynced line per idempotency key), so the count is what a provider would have billed."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path

from tests.support import cli_environment, migrated

RECIPIENTS = 300

CREATE_BULK = """
import django
django.setup()
from ontrack.accounts.models import User
from ontrack.messaging.broadcasts import broadcast_create, broadcast_expand, broadcast_preview
from ontrack.messaging.models import Template
from ontrack.messaging.broadcasts import AudienceFilter
user = User.objects.get(username="supervisor")
template = Template.objects.get(key="contact_update")
shown = dict(user=user, f=AudienceFilter(), template=template, context={})
b = broadcast_create(**shown, purpose="check", preview_token=broadcast_preview(**shown).token)
broadcast_expand(b.pk)
b.refresh_from_db()
print(b.pk, b.expanded)
"""


def ontrack(*args: str, env: dict[str, str], **kw: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "ontrack.cli", *args], env=env, **kw)  # type: ignore[call-overload]


def lines(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def broadcast_rows(db: Path, broadcast_id: int) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT idempotency_key, status FROM messaging_message WHERE broadcast_id = ?",
            (broadcast_id,),
        ).fetchall()


def wait_for(condition: Callable[[], object], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def bulk_ready(home: Path, env: dict[str, str]) -> tuple[int, int]:
    """Seed a caseload and expand one bulk message to it; (broadcast id, rows written)."""
    migrated(home)
    seed = ontrack(
        "seed",
        "--participants",
        str(RECIPIENTS),
        "--offices",
        "1",
        env=env,
        stdout=subprocess.DEVNULL,
    )
    assert seed.wait(timeout=300) == 0
    out = subprocess.run(
        [sys.executable, "-c", CREATE_BULK],
        env={**env, "DJANGO_SETTINGS_MODULE": "ontrack.settings"},
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    broadcast_id, expanded = (int(v) for v in out.stdout.split()[-2:])
    assert expanded > 50
    return broadcast_id, expanded


def test_worker_killed_mid_bulk_then_restarted_sends_each_message_exactly_once(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    log = tmp_path / "sent.jsonl"
    env = {
        **cli_environment(home),
        "ONTRACK_MESSAGING_CONSOLE_LOG": str(log),
        "ONTRACK_MESSAGING_SENDING_LEASE_S": "2",
        "ONTRACK_CONSOLE_RATE": "100",
        "ONTRACK_MESSAGING_QUIET_HOURS": "",
    }
    broadcast_id, expanded = bulk_ready(home, env)
    db = home / "ontrack.sqlite3"

    worker = ontrack("worker", "--no-jobs", env=env, stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(lines(log)) >= 40, "the first sends")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    killed_at = len(lines(log))
    assert killed_at < expanded, "the worker finished before it could be killed"

    worker = ontrack("worker", "--no-jobs", env=env, stdout=subprocess.DEVNULL)
    try:
        wait_for(
            lambda: all(status == "sent" for _, status in broadcast_rows(db, broadcast_id)),
            "every message to be recorded as sent",
        )
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0, "the worker did not stop cleanly on SIGTERM"
    finally:
        if worker.poll() is None:
            worker.kill()

    keys = [key for key, _ in broadcast_rows(db, broadcast_id)]
    sends = Counter(entry["key"] for entry in lines(log))
    assert len(keys) == expanded
    assert all(sends[key] == 1 for key in keys), {k: sends[k] for k in keys if sends[k] != 1}
    assert os.path.getsize(log) > 0


def test_a_killed_worker_leaves_in_doubt_only_the_message_it_was_handing_over(
    tmp_path: Path,
) -> None:
    """With a provider that cannot be asked what it received (SMTP, SMPP; here the console
    provider without its log), a kill may leave one message in doubt: the one being handed
    over. Every other message of the claimed batch must still go, once."""
    home = tmp_path / "home"
    env = {
        **cli_environment(home),
        "ONTRACK_MESSAGING_SENDING_LEASE_S": "2",
        "ONTRACK_CONSOLE_RATE": "100",
        "ONTRACK_MESSAGING_QUIET_HOURS": "",
    }
    broadcast_id, expanded = bulk_ready(home, env)
    db = home / "ontrack.sqlite3"
    printed = tmp_path / "printed.txt"

    def sends() -> list[str]:
        text = printed.read_text() if printed.exists() else ""
        return [line for line in text.splitlines() if line.startswith("[sms to ")]

    def sent_at_least(count: int) -> bool:
        return len(sends()) >= count

    kills = 3
    with printed.open("ab") as out:
        for _ in range(kills):
            before = len(sends())
            worker = ontrack("worker", "--no-jobs", env=env, stdout=out)
            try:
                wait_for(partial(sent_at_least, before + 20), "sends after a restart")
                worker.send_signal(signal.SIGKILL)
                worker.wait(timeout=30)
            finally:
                if worker.poll() is None:
                    worker.kill()
        worker = ontrack("worker", "--no-jobs", env=env, stdout=out)
        try:
            wait_for(
                lambda: all(
                    status in {"sent", "failed"} for _, status in broadcast_rows(db, broadcast_id)
                ),
                "every message to be settled",
            )
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)

    statuses = Counter(status for _, status in broadcast_rows(db, broadcast_id))
    assert statuses["failed"] <= kills, statuses
    assert statuses["sent"] + statuses["failed"] == expanded
    # Numbers repeat among demo participants, and the worker also sends the seed's own
    # notices: each bulk row is matched by its number and text.
    with sqlite3.connect(db) as conn:
        bulk = conn.execute(
            'SELECT "to", body, status FROM messaging_message WHERE broadcast_id = ?',
            (broadcast_id,),
        ).fetchall()
    printed_as = Counter(tuple(line.removeprefix("[sms to ").split("] ", 1)) for line in sends())
    groups: dict[tuple[str, str], Counter[str]] = {}
    for to, body, status in bulk:
        groups.setdefault((to, " ".join(body.split())), Counter())[status] += 1
    for key, counted in groups.items():
        assert counted["sent"] <= printed_as[key] <= counted["sent"] + counted["failed"], key


QUEUE_ONE = """
import django
django.setup()
from ontrack.messaging.services.notices import message_queue
from ontrack.participants.models import Participant
p = Participant.objects.filter(phones__isnull=False).order_by("pk").first()
m = message_queue(participant=p, template_key="checkin_received", context={"reference": "R1"},
                  purpose="receipt")
print(m.idempotency_key)
"""


def test_worker_runs_jobs_and_sender_together_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    home = tmp_path / "home"
    log = tmp_path / "sent.jsonl"
    env = {**cli_environment(home), "ONTRACK_MESSAGING_CONSOLE_LOG": str(log)}
    migrated(home)
    seed = ontrack(
        "seed", "--participants", "5", "--offices", "1", env=env, stdout=subprocess.DEVNULL
    )
    assert seed.wait(timeout=300) == 0
    key = subprocess.run(
        [sys.executable, "-c", QUEUE_ONE],
        env={**env, "DJANGO_SETTINGS_MODULE": "ontrack.settings"},
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout.split()[-1]  # fmt: skip
    worker = ontrack("worker", "--workers", "1", env=env, stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: any(entry["key"] == key for entry in lines(log)), "the message to be sent")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
