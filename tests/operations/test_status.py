"""What administrators and load balancers are told about the running system."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from ontrack.accounts.models import Role, User
from ontrack.operations.heartbeats import HeartbeatThread, heartbeat_write
from ontrack.operations.models import Heartbeat, ProcessKind
from ontrack.operations.status import system_status
from tests.staff_sign_in import verify_session


def test_healthz_answers_without_a_database() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


@pytest.mark.django_db
def test_readyz_says_ready_when_the_database_answers_and_is_migrated() -> None:
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"ready": True, "database": "ok", "migrations": "ok"}


@pytest.mark.django_db(transaction=True)
def test_a_heartbeat_thread_records_its_process_and_marks_it_stopped() -> None:
    beats = 0

    def details() -> dict[str, int]:
        nonlocal beats
        beats += 1
        return {"jobs": 15}

    with HeartbeatThread(ProcessKind.WORKER, "host:1", details=details, interval=0.05):
        # The thread has its own connection; SQLite's shared in-memory test database would
        # refuse a read here while it writes, so the test only waits.
        deadline = time.monotonic() + 10
        while beats < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    beat = Heartbeat.objects.get(instance="host:1")
    assert beat.details == {"jobs": 15}
    assert beat.stopped_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_heartbeat_the_database_refuses_is_logged_and_the_next_one_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The warning names the process kind under a key of its own: ``process`` is one of
    ``LogRecord``'s own attributes, and logging it raised KeyError in the beating thread
    exactly when the database had gone away."""
    beat = HeartbeatThread(ProcessKind.WORKER, "host:9", interval=60)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE operations_heartbeat RENAME TO operations_heartbeat_away")
    try:
        beat._beat()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE operations_heartbeat_away RENAME TO operations_heartbeat")
    beat._beat()
    messages = [(r.getMessage(), getattr(r, "process_kind", None)) for r in caplog.records]
    assert ("heartbeat not recorded: database unavailable", ProcessKind.WORKER) in messages
    assert ("heartbeat recorded again", ProcessKind.WORKER) in messages
    assert Heartbeat.objects.filter(instance="host:9").exists()


@pytest.mark.django_db
def test_a_process_that_stopped_beating_is_shown_silent() -> None:
    heartbeat_write(ProcessKind.GATEWAY, "host:2", details={})
    Heartbeat.objects.filter(instance="host:2").update(
        beat_at=timezone.now() - dt.timedelta(minutes=5)
    )
    heartbeat_write(ProcessKind.WORKER, "host:3", details={})
    states = {p.instance: p.state for p in system_status().processes}
    assert states == {"host:2": "silent", "host:3": "running"}


@pytest.mark.django_db
def test_administrators_see_a_banner_when_no_worker_has_run(
    make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    from ontrack.operations import context_processors

    context_processors._cached = (0.0, None)
    admin = make_user(Role.ADMINISTRATOR, office=None)
    officer = make_user(Role.OFFICER)
    heartbeat_write(ProcessKind.WORKER, "host:4", details={})
    Heartbeat.objects.update(beat_at=timezone.now() - dt.timedelta(minutes=10))
    page = client_for(admin).get("/status/").content.decode()
    assert "The job worker has not reported since" in page
    assert "Not running" in page
    context_processors._cached = (0.0, None)
    assert "job worker" not in client_for(officer).get("/participants/").content.decode()


@pytest.mark.django_db
def test_the_status_page_lists_processes_checks_and_jobs(
    make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    from ontrack.operations import context_processors

    context_processors._cached = (0.0, None)
    heartbeat_write(ProcessKind.WORKER, "host:5", details={"periodic_jobs": 15})
    heartbeat_write(
        ProcessKind.GATEWAY,
        "host:6",
        details={"last_stored_at": timezone.now().isoformat(), "spool_bytes": 0},
    )
    admin = make_user(Role.ADMINISTRATOR, office=None)
    page = client_for(admin).get("/status/").content.decode()
    for text in (
        "host:5",
        "Device gateway",
        "Outbox: oldest message due",
        "Alerts pending past their grace",
        "Gateway: last stored batch",
        "retention_purge_nightly",
        "daily at 03:00 UTC",
    ):
        assert text in page, text
    assert "has not reported" not in page


@pytest.mark.django_db
def test_officers_may_not_open_the_status_page(
    make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    assert client_for(make_user(Role.OFFICER)).get("/status/").status_code == 403


@pytest.mark.django_db
def test_pages_answer_503_not_500_while_the_database_is_away(
    make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database connection (Django's, not ontrack's) is made to fail as a stopped
    server does; the page and the API say to try again instead of a server error."""
    from django.db import OperationalError
    from django.db.backends.base.base import BaseDatabaseWrapper

    admin = make_user(Role.ADMINISTRATOR, office=None)
    client = Client(raise_request_exception=False)
    client.force_login(admin)
    verify_session(client, admin)

    def refuse(self: object, *args: object) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(BaseDatabaseWrapper, "cursor", refuse)
    page = client.get("/participants/")
    api = client.get("/api/participants", HTTP_AUTHORIZATION="Bearer ot_x")
    monkeypatch.undo()
    assert page.status_code == 503
    assert page["Retry-After"] == "30"
    assert "Try again shortly" in page.content.decode()
    assert api.status_code == 503
    assert "not answering" in api.json()["detail"]
