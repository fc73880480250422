"""Caseload imports through the console, run by the worker.

A request never reads a caseload file row by row: the page stores the upload and returns,
``ontrack worker`` checks it (``importer.caseload_import`` as a dry run) and, once the
uploader has read the report and confirmed, imports it. The page polls the import's row for
its progress. The importer itself works in short transactions; this module adds the
lifecycle (``models.IMPORT_TRANSITIONS``), the file and the clean-up:

- The file lives under ``$ONTRACK_HOME/imports/``, owner-only, from the upload until the
  import ends (or the check finds nothing to import, or fails); a check nobody confirms is
  expired and its file deleted after ``ABANDONED_AFTER``.
- A run that stops without finishing (the worker killed mid-file) is resumed by the hourly
  tidy once its heartbeat is ``STALE_AFTER`` old: a check starts again, an import carries on
  (the case numbers it had enrolled are skipped).
- An import's record, whose report quotes rows of the file, is deleted ``RECORD_KEPT``
  after it ended.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ontrack.accounts.models import Program, User
from ontrack.audit.models import AccessAction
from ontrack.audit.services import access_log_record
from ontrack.participants.importer import ImportReport, caseload_import
from ontrack.participants.models import (
    IMPORT_RUNNING,
    IMPORT_TRANSITIONS,
    CaseloadImport,
    ImportStatus,
)

logger = logging.getLogger(__name__)

KEEP_ERRORS = 1000
ABANDONED_AFTER = dt.timedelta(days=1)
STALE_AFTER = dt.timedelta(minutes=10)
RECORD_KEPT = dt.timedelta(days=30)


def imports_folder() -> Path:
    folder = Path(settings.ONTRACK_HOME) / "imports"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _size_text(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def upload_limit_message(size: int | None = None) -> str:
    limit = _size_text(settings.ONTRACK_IMPORT_MAX_BYTES)
    got = f"This file is {_size_text(size)}; " if size is not None else "This file is larger; "
    return (
        f"{got}the most the console accepts is {limit}. Split the file, or ask an "
        "administrator to run `ontrack import participants` with it."
    )


def _expected_rows(raw: bytes) -> int:
    lines = raw.count(b"\n") + (0 if raw.endswith(b"\n") or not raw else 1)
    return max(lines - 1, 0)


def caseload_import_upload(
    *, actor: User, program: Program, upload: UploadedFile
) -> CaseloadImport:
    """Store an uploaded caseload file (owner-only) and queue its check. Raises
    ``ValidationError`` on the ``file`` field for a file over the limit or not UTF-8."""
    if not actor.manages_caseloads:
        raise PermissionDenied("Only supervisors and administrators import caseloads.")
    size = upload.size or 0
    if size > settings.ONTRACK_IMPORT_MAX_BYTES:
        raise ValidationError({"file": upload_limit_message(size)})
    raw = upload.read(settings.ONTRACK_IMPORT_MAX_BYTES + 1)
    if len(raw) > settings.ONTRACK_IMPORT_MAX_BYTES:
        raise ValidationError({"file": upload_limit_message()})
    try:
        raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(
            {"file": "The file is not UTF-8 text; save it as CSV UTF-8."}
        ) from None
    stored_name = f"{secrets.token_urlsafe(16)}.csv"
    path = imports_folder() / stored_name
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(raw)
    try:
        with transaction.atomic():
            record = CaseloadImport.objects.create(
                program=program,
                created_by=actor,
                file_name=(upload.name or "caseload.csv")[:255],
                stored_name=stored_name,
                size=len(raw),
                rows_total=_expected_rows(raw),
            )
            _enqueue_on_commit(record.pk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    logger.info("caseload import uploaded id=%s bytes=%s by=%s", record.pk, len(raw), actor.pk)
    return record


def caseload_import_confirm(*, actor: User, record: CaseloadImport) -> None:
    """The uploader has read the check's report: queue the import itself. Raises
    ``ValidationError`` when the check is no longer waiting (expired, or already
    confirmed in another tab)."""
    if record.created_by_id != actor.pk or not actor.manages_caseloads:
        raise PermissionDenied("Only the person who uploaded a file may import it.")
    with transaction.atomic():
        moved = _move(
            record.pk,
            ImportStatus.CHECKED,
            ImportStatus.IMPORTING,
            confirmed_at=timezone.now(),
            rows_done=0,
            heartbeat_at=None,
        )
        if not moved:
            raise ValidationError("This check is no longer waiting; upload the file again.")
        _enqueue_on_commit(record.pk)


def _enqueue_on_commit(import_id: int) -> None:
    from ontrack.participants.tasks import caseload_import_task

    transaction.on_commit(lambda: caseload_import_task(import_id))


def _move(import_id: int, source: str, target: str, **fields: object) -> bool:
    """Change an import's status from ``source`` to ``target`` if it is still ``source``
    (so that two workers, or two tabs, cannot both move it); False if it was not."""
    if target not in IMPORT_TRANSITIONS[source]:
        raise ValueError(f"an import cannot go from {source} to {target}")
    return bool(
        CaseloadImport.objects.filter(pk=import_id, status=source).update(status=target, **fields)
    )


def _file_delete(record: CaseloadImport) -> None:
    (imports_folder() / record.stored_name).unlink(missing_ok=True)


def caseload_import_run(import_id: int) -> None:
    """Check or import one uploaded file, whichever its status asks for (the worker's job).
    Runs nothing when another worker has the import in hand (its heartbeat is fresh) or
    it has ended."""
    now = timezone.now()
    claimed = (
        CaseloadImport.objects.filter(pk=import_id, status__in=IMPORT_RUNNING)
        .filter(Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - STALE_AFTER))
        .update(heartbeat_at=now, rows_done=0)
    )
    if not claimed:
        return
    record = CaseloadImport.objects.select_related("program", "created_by").get(pk=import_id)
    source = record.status
    dry_run = source == ImportStatus.CHECKING
    try:
        text = (imports_folder() / record.stored_name).read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        failed = ImportReport(dry_run=dry_run, file_error=f"the stored file cannot be read ({exc})")
        _finish(record, source, ImportStatus.FAILED, failed)
        return

    def progress(rows: int) -> None:
        CaseloadImport.objects.filter(pk=import_id).update(
            rows_done=rows, heartbeat_at=timezone.now()
        )

    try:
        report = caseload_import(
            text,
            program=record.program,
            actor=record.created_by,
            dry_run=dry_run,
            progress=progress,
        )
    except Exception as exc:
        logger.exception("caseload import failed id=%s", import_id)
        failed = ImportReport(
            dry_run=dry_run,
            file_error=f"the {'check' if dry_run else 'import'} stopped on an error "
            f"({type(exc).__name__}); rows imported before it are kept, and importing the "
            "file again skips them",
        )
        _finish(record, source, ImportStatus.FAILED, failed)
        return
    if dry_run:
        ready = report.ok and report.good > 0
        _finish(
            record,
            source,
            ImportStatus.CHECKED if ready else ImportStatus.NOTHING_TO_IMPORT,
            report,
        )
        return
    access_log_record(
        user=record.created_by,
        action=AccessAction.IMPORT,
        what=f"caseload import {record.pk} ({record.file_name}): {report.created} created",
    )
    _finish(record, source, ImportStatus.IMPORTED, report)


def _finish(record: CaseloadImport, source: str, target: str, report: ImportReport) -> None:
    now = timezone.now()
    fields: dict[str, object] = {
        "report": report.as_json(keep_errors=KEEP_ERRORS),
        "rows_done": report.rows,
        "heartbeat_at": now,
    }
    fields["checked_at" if source == ImportStatus.CHECKING else "finished_at"] = now
    if target != ImportStatus.CHECKED:
        fields["finished_at"] = now
    _move(record.pk, source, target, **fields)
    if target != ImportStatus.CHECKED:
        _file_delete(record)
    logger.info(
        "caseload import %s id=%s rows=%s good=%s created=%s errors=%s",
        target,
        record.pk,
        report.rows,
        report.good,
        report.created,
        report.error_count,
    )


def caseload_imports_tidy(*, now: dt.datetime) -> dict[str, int]:
    """Expire checks nobody confirmed within ``ABANDONED_AFTER`` (deleting their files),
    resume runs a stopped worker left, delete files no import waits for (a crash between
    storing and recording) and records ended more than ``RECORD_KEPT`` ago."""
    expired = 0
    for record in CaseloadImport.objects.filter(
        status=ImportStatus.CHECKED, checked_at__lt=now - ABANDONED_AFTER
    ):
        if _move(record.pk, ImportStatus.CHECKED, ImportStatus.EXPIRED, finished_at=now):
            _file_delete(record)
            expired += 1
    resumed = 0
    stale = now - STALE_AFTER
    from ontrack.participants.tasks import caseload_import_task

    for pk in (
        CaseloadImport.objects.filter(status__in=IMPORT_RUNNING)
        .filter(
            Q(heartbeat_at__lt=stale)
            | Q(heartbeat_at__isnull=True, confirmed_at__lt=stale)
            | Q(heartbeat_at__isnull=True, confirmed_at__isnull=True, created_at__lt=stale)
        )
        .values_list("pk", flat=True)
    ):
        caseload_import_task(pk)
        resumed += 1
    waiting = set(
        CaseloadImport.objects.filter(
            status__in=[*IMPORT_RUNNING, ImportStatus.CHECKED]
        ).values_list("stored_name", flat=True)
    )
    orphans = 0
    for path in imports_folder().iterdir():
        modified = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
        if path.name not in waiting and modified < now - ABANDONED_AFTER:
            path.unlink(missing_ok=True)
            orphans += 1
    records, _ = CaseloadImport.objects.filter(
        status__in=[s for s, after in IMPORT_TRANSITIONS.items() if not after],
        finished_at__lt=now - RECORD_KEPT,
    ).delete()
    return {"expired": expired, "resumed": resumed, "orphan_files": orphans, "records": records}
