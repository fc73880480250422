"""Import an existing caseload from CSV.

A dry run reads every row and reports each bad one with its line number and reason; a real
run enrols every good row (each in its own savepoint, so one bad row loses nothing else) and
skips case numbers already enrolled, which makes re-running the same file harmless.

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
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

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

    @property
    def ok(self) -> bool:
        return not self.file_error


def _parse_date(value: str, column: str) -> dt.date:
    value = value.strip()
    for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return dt.datetime.strptime(value, fmt).date()
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


def caseload_import(
    text: str,
    *,
    program: Program,
    actor: User | None,
    dry_run: bool,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    report = ImportReport(dry_run=dry_run)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        report.file_error = f"the header row lacks the column(s): {', '.join(missing)}"
        return report
    reader.fieldnames = header
    offices = {o.name.lower(): o for o in Office.objects.filter(program=program)}
    officers = {u.username.lower(): u for u in User.objects.filter(office__program=program)}
    existing = {
        c.lower()
        for c in Participant.objects.filter(program=program).values_list("case_number", flat=True)
    }
    seen: dict[str, int] = {}
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            # e.g. a field past the csv module's size limit: what came before is kept.
            report.file_error = f"line {reader.line_num + 1}: {exc}; the rest was not read"
            break
        line = reader.line_num
        report.rows += 1
        if report.rows > MAX_ROWS:
            report.file_error = f"the file has more than {MAX_ROWS} rows; split it"
            break
        if progress is not None:
            progress(report.rows)
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
            if key in seen:
                raise ValidationError(f"case number repeats line {seen[key]}")
            seen[key] = line
            office = offices.get(row["office"].strip().lower())
            if office is None:
                raise ValidationError(f"office {row['office'].strip()!r} does not exist")
            officer = None
            if (row.get("officer") or "").strip():
                officer = officers.get(row["officer"].strip().lower())
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
            language = _parse_language(row.get("language") or "", program.default_language)
            plan = _parse_plan(row)
            if key in existing:
                report.already_enrolled += 1
                continue
            with transaction.atomic():
                participant_enrol(
                    actor=actor,
                    event_kind=EventKind.IMPORTED,
                    program=program,
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
                if dry_run:
                    transaction.set_rollback(True)
            report.good += 1
            if not dry_run:
                report.created += 1
                existing.add(key)
        except ValidationError as exc:
            report.errors.append(RowError(line, case_number, _message(exc)))
        except PermissionDenied as exc:
            report.errors.append(RowError(line, case_number, str(exc)))
    return report
