"""Caseload imports through the console: the upload is stored and checked by a background job
(Huey runs it at once in the tests, at the request's commit), confirmed, imported in short
transactions, and its file does not outlive it."""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks, Settings

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import Office, Program, Role, User
from ontrack.audit.models import AccessAction, AccessLogEntry
from ontrack.participants import caseload_imports, importer
from ontrack.participants.caseload_imports import caseload_imports_tidy, imports_folder
from ontrack.participants.models import CaseloadImport, ImportStatus, Participant
from ontrack.participants.tasks import caseload_import_task

pytestmark = pytest.mark.django_db

HEADER = "case_number,given_name,family_name,date_of_birth,office\n"


def _rows(count: int, *, bad: int = 0) -> str:
    good = [f"K-{n:04d},Rosa,Quispe {n},1988-04-12,Newark" for n in range(count)]
    wrong = [f"X-{n:04d},Jean,Pierre,1979-13-01,Newark" for n in range(bad)]
    return HEADER + "\n".join(good + wrong) + "\n"


def _upload(text: str | bytes, name: str = "caseload.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode() if isinstance(text, str) else text, "text/csv")


@pytest.fixture
def supervisor(make_user: Callable[..., User]) -> User:
    return make_user(Role.SUPERVISOR, username="sam")


def _post_upload(client: Client, text: str | bytes, capture: Any) -> Any:
    with capture(execute=True):
        return client.post("/participants/import/", {"file": _upload(text)})


def test_the_page_checks_the_file_in_the_background_then_imports_it_on_confirmation(
    office: Office,
    supervisor: User,
    client_for: Callable[[User], Client],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    client = client_for(supervisor)
    uploaded = _post_upload(client, _rows(3, bad=1), django_capture_on_commit_callbacks)
    record = CaseloadImport.objects.get()
    assert uploaded.status_code == 302
    assert uploaded["Location"] == f"/participants/import/{record.pk}/"
    page = client.get(uploaded["Location"]).content.decode()
    assert "<strong>3</strong> ready to import" in page
    assert "1979-13-01" in page, "the bad row's reason is shown"
    assert not Participant.objects.exists(), "a check writes nobody"
    assert record.rows_total == 4

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(f"/participants/import/{record.pk}/confirm/")
    assert confirmed.status_code == 302
    page = client.get(f"/participants/import/{record.pk}/").content.decode()
    assert "<strong>3</strong> participants enrolled" in page
    assert Participant.objects.count() == 3
    record.refresh_from_db()
    assert (record.status, record.rows_done) == (ImportStatus.IMPORTED, 4)


def test_progress_is_a_card_that_polls_itself_while_the_worker_has_the_file(
    office: Office, supervisor: User, client_for: Callable[[User], Client]
) -> None:
    client = client_for(supervisor)
    client.post("/participants/import/", {"file": _upload(_rows(2))})  # not committed: queued
    record = CaseloadImport.objects.get()
    card = client.get(f"/participants/import/{record.pk}/", headers={"HX-Request": "true"})
    html = card.content.decode()
    assert "<html" not in html, "htmx gets the card alone"
    assert 'hx-trigger="every 1s"' in html
    assert "Waiting for the worker" in html
    CaseloadImport.objects.filter(pk=record.pk).update(rows_done=1, heartbeat_at=timezone.now())
    html = client.get(f"/participants/import/{record.pk}/").content.decode()
    assert "1 of about 2 rows done" in html


def test_an_upload_larger_than_the_limit_is_refused_with_a_message_and_nothing_is_kept(
    office: Office, supervisor: User, client_for: Callable[[User], Client], settings: Settings
) -> None:
    settings.ONTRACK_IMPORT_MAX_BYTES = 2_000
    client = client_for(supervisor)
    files_before = set(imports_folder().iterdir())
    response = client.post("/participants/import/", {"file": _upload(_rows(2000))})
    assert response.status_code == 413
    assert "the most the console accepts is" in response.content.decode()
    assert not CaseloadImport.objects.exists()
    assert set(imports_folder().iterdir()) == files_before


def test_a_file_that_passes_the_limit_while_it_arrives_is_dropped_unread(
    office: Office, supervisor: User, client_for: Callable[[User], Client], settings: Settings
) -> None:
    """Within the Content-Length allowance for the form's framing, but the file itself is
    over: the upload handler stops taking it in."""
    text = _rows(200)
    settings.ONTRACK_IMPORT_MAX_BYTES = len(text) - 10
    response = client_for(supervisor).post("/participants/import/", {"file": _upload(text)})
    assert response.status_code == 413
    assert "the most the console accepts is" in response.content.decode()
    assert not CaseloadImport.objects.exists()


def test_a_file_that_is_not_utf8_is_refused_on_the_form(
    office: Office, supervisor: User, client_for: Callable[[User], Client]
) -> None:
    response = client_for(supervisor).post(
        "/participants/import/", {"file": _upload("case_number\nJosé\n".encode("latin-1"))}
    )
    assert response.status_code == 200
    assert "not UTF-8" in response.content.decode()
    assert not CaseloadImport.objects.exists()


def test_the_stored_file_is_owner_only_and_gone_once_the_import_ends(
    office: Office,
    supervisor: User,
    client_for: Callable[[User], Client],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    client = client_for(supervisor)
    _post_upload(client, _rows(2), django_capture_on_commit_callbacks)
    record = CaseloadImport.objects.get()
    stored = imports_folder() / record.stored_name
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(imports_folder().stat().st_mode) & 0o077 == 0
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/participants/import/{record.pk}/confirm/")
    assert not stored.exists()


def test_a_check_with_nothing_to_import_deletes_its_file_and_offers_no_button(
    office: Office,
    supervisor: User,
    client_for: Callable[[User], Client],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    client = client_for(supervisor)
    _post_upload(client, _rows(0, bad=2), django_capture_on_commit_callbacks)
    record = CaseloadImport.objects.get()
    assert record.status == ImportStatus.NOTHING_TO_IMPORT
    assert not (imports_folder() / record.stored_name).exists()
    page = client.get(f"/participants/import/{record.pk}/").content.decode()
    assert "confirm" not in page
    assert client.post(f"/participants/import/{record.pk}/confirm/").status_code == 302
    assert not Participant.objects.exists()


def test_an_import_is_its_uploaders_alone(
    office: Office,
    supervisor: User,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    _post_upload(client_for(supervisor), _rows(2), django_capture_on_commit_callbacks)
    record = CaseloadImport.objects.get()
    other = client_for(make_user(Role.SUPERVISOR, username="another"))
    assert other.get(f"/participants/import/{record.pk}/").status_code == 404
    assert other.post(f"/participants/import/{record.pk}/confirm/").status_code == 404
    officer = client_for(make_user(Role.OFFICER, username="officer9"))
    assert officer.get(f"/participants/import/{record.pk}/").status_code == 403
    record.refresh_from_db()
    assert record.status == ImportStatus.CHECKED


def test_the_import_is_access_logged_in_the_uploaders_name(
    office: Office,
    supervisor: User,
    client_for: Callable[[User], Client],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    client = client_for(supervisor)
    _post_upload(client, _rows(2), django_capture_on_commit_callbacks)
    record = CaseloadImport.objects.get()
    assert not AccessLogEntry.objects.filter(action=AccessAction.IMPORT).exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/participants/import/{record.pk}/confirm/")
    entry = AccessLogEntry.objects.get(action=AccessAction.IMPORT)
    assert entry.user == supervisor
    assert "2 created" in entry.what


def _checked_import(program: Program, user: User, text: str) -> CaseloadImport:
    record = caseload_imports.caseload_import_upload(
        actor=user, program=program, upload=_upload(text)
    )
    caseload_import_task(record.pk)
    record.refresh_from_db()
    assert record.status == ImportStatus.CHECKED
    return record


def test_a_check_nobody_confirms_is_expired_and_its_file_deleted_after_a_day(
    program: Program, office: Office, supervisor: User
) -> None:
    record = _checked_import(program, supervisor, _rows(2))
    stored = imports_folder() / record.stored_name
    now = timezone.now()
    assert caseload_imports_tidy(now=now + dt.timedelta(hours=23))["expired"] == 0
    assert stored.exists()
    assert caseload_imports_tidy(now=now + dt.timedelta(hours=25))["expired"] == 1
    record.refresh_from_db()
    assert record.status == ImportStatus.EXPIRED
    assert not stored.exists()


def test_files_no_import_waits_for_are_deleted_after_a_day(
    program: Program, office: Office, supervisor: User
) -> None:
    left_behind = imports_folder() / "left-by-a-crash.csv"
    left_behind.write_text(_rows(1))
    waiting = _checked_import(program, supervisor, _rows(1))
    day_old = (timezone.now() - dt.timedelta(days=2)).timestamp()
    os.utime(left_behind, (day_old, day_old))
    os.utime(imports_folder() / waiting.stored_name, (day_old, day_old))
    assert caseload_imports_tidy(now=timezone.now())["orphan_files"] == 1
    assert not left_behind.exists()
    assert (imports_folder() / waiting.stored_name).exists()


def test_an_import_a_stopped_worker_left_is_resumed_and_skips_what_it_had_enrolled(
    program: Program, office: Office, supervisor: User
) -> None:
    record = _checked_import(program, supervisor, _rows(3))
    caseload_imports.caseload_import_confirm(actor=supervisor, record=record)
    # The worker enrolled one row, then was killed: the heartbeat stops.
    importer.caseload_import(
        _rows(1), program=program, actor=supervisor, dry_run=False, progress=None
    )
    silent = timezone.now() - dt.timedelta(minutes=11)
    CaseloadImport.objects.filter(pk=record.pk).update(heartbeat_at=silent)
    assert caseload_imports_tidy(now=timezone.now())["resumed"] == 1
    record.refresh_from_db()
    assert record.status == ImportStatus.IMPORTED
    assert (record.report["created"], record.report["already_enrolled"]) == (2, 1)
    assert Participant.objects.count() == 3


def test_a_run_whose_heartbeat_is_fresh_is_not_started_twice(
    program: Program, office: Office, supervisor: User
) -> None:
    record = _checked_import(program, supervisor, _rows(2))
    caseload_imports.caseload_import_confirm(actor=supervisor, record=record)
    CaseloadImport.objects.filter(pk=record.pk).update(heartbeat_at=timezone.now())
    caseload_import_task(record.pk)
    assert not Participant.objects.exists()
    assert caseload_imports_tidy(now=timezone.now())["resumed"] == 0


def test_a_stored_report_keeps_the_first_errors_and_counts_the_rest() -> None:
    report = importer.ImportReport(
        dry_run=True, errors=[importer.RowError(n, f"X-{n}", "bad") for n in range(5)]
    )
    stored = importer.ImportReport.from_json(report.as_json(keep_errors=2))
    assert [e.line for e in stored.errors] == [0, 1]
    assert stored.error_count == 5


@pytest.mark.django_db(transaction=True)
def test_rows_are_written_in_batches_with_no_transaction_held_between_them(
    program: Program, office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "BATCH_ROWS", 3)
    monkeypatch.setattr(importer, "SQLITE_PAUSE_S", 0)
    # Only the row bound cuts batches here: on a loaded machine three rows can take longer
    # than the time bound, which would end a batch early.
    monkeypatch.setattr(importer, "BATCH_SECONDS", 3600)
    seen: list[tuple[int, bool, int]] = []

    def progress(rows: int) -> None:
        seen.append((rows, connection.in_atomic_block, Participant.objects.count()))

    report = importer.caseload_import(
        _rows(8), program=program, actor=SYSTEM, dry_run=False, progress=progress
    )
    assert report.created == 8
    assert seen == [(3, False, 3), (6, False, 6), (8, False, 8)], (
        "each batch is committed on its own, and progress is reported after each"
    )
