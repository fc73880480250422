"""Import an existing caseload from CSV.

A dry run reads every row and reports each bad one with its line number and reason; a real
run enrols every good row (each in its own savepoint, so one bad row loses nothing else) and
skips case numbers already enrolled, which makes re-running the same file harmless.

Rows are written in batches, each its own short transaction (at most ``BATCH_ROWS`` rows or
``BATCH_SECONDS``), never one transaction for the file: on SQLite a transaction holds the
one write lock, and every other process's write (a page's access-log entry, the gateway's
positions) waits behind it. Between batches the importer pauses for ``SQLITE_PAUSE_S``: a
writer waiting in SQLite's busy handler retries only every 100 ms, so a loop of
transactions that takes the lock straight back starves the others nearly as one long
transaction does (measured: another process's one-statement write waited up to 3.8 s
behind a loop of one-row transactions, 0.55 s with batches and the pause). A failure part
way leaves the batches before it in place; a second run of the file carries on, since it
skips the case numbers already enrolled.

Columns (header names, any order; * required)::

    case_number*, given_name*, family_name*, date_of_birth* (YYYY-MM-DD or MM/DD/YYYY),
    language (code like "es" or a name like "Spanish"; default the program's),
    phone (several separated by ";"), email, address, city, state, postal_code,
    office* (name), officer (username), level (default standard),
    modalities (any of app;phone;office;gps; default app;office),
    review_date (default in 90 days), conditions
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from ontrack.accounts.actors import Actor
from ontrack.accounts.models import Office, Program, User
from ontrack.csvsafe import looks_like_formula
from ontrack.participants.models import EventKind, Language, Level, Participant
from ontrack.participants.services import AddressData, PlanData, participant_enrol

REQUIRED_COLUMNS = ("case_number", "given_name", "family_name", "date_of_birth", "office")
KNOWN_COLUMNS = (
    *REQUIRED_COLUMNS,
    "language",
    "phone",
    "email",
    "address",
    "city",
    "state",
    "postal_code",
    "officer",
    "level",
    "modalities",
    "review_date",
    "conditions",
)
MODALITIES = {
    "app": "app_checkins",
    "phone": "phone_checkins",
    "office": "office_visits",
    "gps": "gps_device",
}
MAX_ROWS = 200_000
BATCH_ROWS = 200
BATCH_SECONDS = 0.5
# Longer than SQLite's longest busy-handler sleep (100 ms), so that every waiting writer
# wakes while the lock is free.
SQLITE_PAUSE_S = 0.15


@dataclass
class RowError:
    line: int
    case_number: str
    reason: str


@dataclass
class ImportReport:
    dry_run: bool
    rows: int = 0
    good: int = 0
    created: int = 0
    already_enrolled: int = 0
    errors: list[RowError] = field(default_factory=list)
    file_error: str = ""
    # Errors counted but not kept (a stored report keeps the first ``keep_errors``).
    errors_dropped: int = 0

    @property
    def ok(self) -> bool:
        return not self.file_error

    @property
    def error_count(self) -> int:
        return len(self.errors) + self.errors_dropped

    def as_json(self, *, keep_errors: int) -> dict[str, Any]:
        """The report as a JSON object, with at most ``keep_errors`` of its errors: a file
        of 200,000 bad rows would otherwise make a report of tens of megabytes."""
        return {
            "dry_run": self.dry_run,
            "rows": self.rows,
            "good": self.good,
            "created": self.created,
            "already_enrolled": self.already_enrolled,
            "errors": [[e.line, e.case_number, e.reason] for e in self.errors[:keep_errors]],
            "errors_dropped": self.errors_dropped + max(0, len(self.errors) - keep_errors),
            "file_error": self.file_error,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImportReport:
        return cls(
            dry_run=bool(data.get("dry_run", True)),
            rows=int(data.get("rows", 0)),
            good=int(data.get("good", 0)),
            created=int(data.get("created", 0)),
            already_enrolled=int(data.get("already_enrolled", 0)),
            errors=[RowError(int(a), str(b), str(c)) for a, b, c in data.get("errors", [])],
            errors_dropped=int(data.get("errors_dropped", 0)),
            file_error=str(data.get("file_error", "")),
        )


def _parse_date(value: str, column: str) -> dt.date:
    value = value.strip()
    # A calendar date, not an instant: parsed as fields, never through a (naive) datetime.
    for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return dt.date(*time.strptime(value, fmt)[:3])
        except ValueError:
            continue
    raise ValidationError(f"{column} {value!r} is not a date (use YYYY-MM-DD)")


_LANGUAGE_NAMES = {label.lower(): code for code, label in Language.choices}


def _parse_language(value: str, default: str) -> str:
    value = value.strip().lower()
    if not value:
        return default
    if value in Language.values:
        return value
    if value in _LANGUAGE_NAMES:
        return _LANGUAGE_NAMES[value]
    raise ValidationError(f"language {value!r} is not one we know")


def _parse_plan(row: dict[str, str]) -> PlanData:
    level = (row.get("level") or Level.STANDARD).strip().lower()
    if level not in Level.values:
        raise ValidationError(f"level {level!r} is not one of {', '.join(Level.values)}")
    modalities = [m.strip().lower() for m in (row.get("modalities") or "app;office").split(";")]
    unknown = [m for m in modalities if m and m not in MODALITIES]
    if unknown:
        raise ValidationError(f"modality {unknown[0]!r} is not one of app, phone, office, gps")
    review = row.get("review_date", "").strip()
    review_date = (
        _parse_date(review, "review_date")
        if review
        else timezone.localdate() + dt.timedelta(days=90)
    )
    flags = {MODALITIES[m]: True for m in modalities if m}
    return PlanData(
        level=level,
        review_date=review_date,
        app_checkins=flags.get("app_checkins", False),
        phone_checkins=flags.get("phone_checkins", False),
        office_visits=flags.get("office_visits", False),
        gps_device=flags.get("gps_device", False),
    )


def _message(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(
            f"{name}: {' '.join(messages)}" if name != "__all__" else " ".join(messages)
            for name, messages in exc.message_dict.items()
        )
    return " ".join(exc.messages)


@dataclass
class _Context:
    """What every row is checked against, read once per file."""

    program: Program
    actor: Actor
    dry_run: bool
    offices: dict[str, Office]
    officers: dict[str, User]
    existing: set[str]
    seen: dict[str, int] = field(default_factory=dict)


def _records(reader: csv.DictReader[str], report: ImportReport) -> Iterator[dict[str, str]]:
    """The file's rows, counted in ``report``; a row the csv module cannot read, or one past
    ``MAX_ROWS``, ends the file with ``report.file_error`` (what came before is kept)."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # e.g. a field past the csv module's size limit
            report.file_error = f"line {reader.line_num + 1}: {exc}; the rest was not read"
            return
        report.rows += 1
        if report.rows > MAX_ROWS:
            report.file_error = f"the file has more than {MAX_ROWS} rows; split it"
            return
        yield row


def _row_import(row: dict[str, str], line: int, ctx: _Context, report: ImportReport) -> None:
    """Check one row and, unless it is bad or already enrolled, enrol it in a savepoint of
    its own (rolled back on a dry run)."""
    case_number = (row.get("case_number") or "").strip()
    try:
        if None in row:
            raise ValidationError("the row has more fields than the header")
        for name in REQUIRED_COLUMNS:
            if not (row.get(name) or "").strip():
                raise ValidationError(f"{name} is empty")
        for name in ("given_name", "family_name"):
            if looks_like_formula(row[name].strip()):
                raise ValidationError(
                    f"{name} starts with {row[name].strip()[0]!r}, which a spreadsheet "
                    "would run as a formula; correct the name"
                )
        key = case_number.lower()
        if key in ctx.seen:
            raise ValidationError(f"case number repeats line {ctx.seen[key]}")
        ctx.seen[key] = line
        office = ctx.offices.get(row["office"].strip().lower())
        if office is None:
            raise ValidationError(f"office {row['office'].strip()!r} does not exist")
        officer = None
        if (row.get("officer") or "").strip():
            officer = ctx.officers.get(row["officer"].strip().lower())
            if officer is None:
                raise ValidationError(f"officer {row['officer'].strip()!r} does not exist")
        address = (
            AddressData(
                line1=row["address"].strip(),
                city=(row.get("city") or "").strip(),
                region=(row.get("state") or "").strip(),
                postal_code=(row.get("postal_code") or "").strip(),
            )
            if (row.get("address") or "").strip()
            else None
        )
        date_of_birth = _parse_date(row["date_of_birth"], "date_of_birth")
        language = _parse_language(row.get("language") or "", ctx.program.default_language)
        plan = _parse_plan(row)
        if key in ctx.existing:
            report.already_enrolled += 1
            return
        with transaction.atomic():
            participant_enrol(
                actor=ctx.actor,
                event_kind=EventKind.IMPORTED,
                program=ctx.program,
                office=office,
                officer=officer,
                case_number=case_number,
                given_name=row["given_name"].strip(),
                family_name=row["family_name"].strip(),
                date_of_birth=date_of_birth,
                preferred_language=language,
                email=(row.get("email") or "").strip(),
                phones=[p for p in (row.get("phone") or "").split(";") if p.strip()],
                plan=plan,
                conditions_text=(row.get("conditions") or "").strip(),
                address=address,
            )
            if ctx.dry_run:
                transaction.set_rollback(True)
        report.good += 1
        if not ctx.dry_run:
            report.created += 1
            ctx.existing.add(key)
    except ValidationError as exc:
        report.errors.append(RowError(line, case_number, _message(exc)))
    except PermissionDenied as exc:
        report.errors.append(RowError(line, case_number, str(exc)))


def caseload_import(
    text: str,
    *,
    program: Program,
    actor: Actor,
    dry_run: bool,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Check (``dry_run``) or import a caseload CSV, in batches of short transactions (see
    the module's docstring). ``progress`` is called after each batch with the rows read so
    far."""
    report = ImportReport(dry_run=dry_run)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        report.file_error = f"the header row lacks the column(s): {', '.join(missing)}"
        return report
    reader.fieldnames = header
    ctx = _Context(
        program=program,
        actor=actor,
        dry_run=dry_run,
        offices={o.name.lower(): o for o in Office.objects.filter(program=program)},
        officers={u.username.lower(): u for u in User.objects.filter(office__program=program)},
        existing={
            c.lower()
            for c in Participant.objects.filter(program=program).values_list(
                "case_number", flat=True
            )
        },
    )
    records = _records(reader, report)
    more = True
    while more:
        deadline = time.monotonic() + BATCH_SECONDS
        with transaction.atomic():
            for _ in range(BATCH_ROWS):
                row = next(records, None)
                if row is None:
                    more = False
                    break
                _row_import(row, reader.line_num, ctx, report)
                if time.monotonic() > deadline:
                    break
        if progress is not None:
            progress(report.rows)
        if more and connection.vendor == "sqlite":
            time.sleep(SQLITE_PAUSE_S)
    return report
