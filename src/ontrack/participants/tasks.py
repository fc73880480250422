"""Background jobs of participants (Huey): caseload imports uploaded in the console."""

from __future__ import annotations

from django.utils import timezone

from ontrack.operations.jobs import job, periodic_job
from ontrack.participants import caseload_imports


@job
def caseload_import_task(import_id: int) -> None:
    """Check or import an uploaded caseload file, in short transactions, with progress."""
    caseload_imports.caseload_import_run(import_id)


@periodic_job(minute="23")
def caseload_imports_tidy() -> dict[str, int]:
    """Delete uploads whose check nobody confirmed within a day, resume imports a stopped
    worker left, and forget finished imports after 30 days."""
    return caseload_imports.caseload_imports_tidy(now=timezone.now())
