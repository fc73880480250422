"""What the program holds on a participant, for their "my data" page and download.

Which kinds of record there are is found from the models, by the rule the data inventory
(``reports.inventory``) uses: every model of ours that reaches ``Participant`` through at
most three foreign keys, not passing through staff accounts or the audit app, and every
model that names a participant by a plain ``participant_id`` column (the access log). A
table added tomorrow is in the download without anyone remembering it; a test holds this
list and the inventory's to be the same, and each kind to have a name and an explanation
in the participant's language (``labels.RECORDS``).

The download is a ZIP written while it is sent: one CSV per kind (every row: no cut-off),
the stored photos, and a README in the person's language saying what each file is. Rows
are read from the database in chunks and the archive is handed out piece by piece
(``zip_stream``), so a year of one-minute positions never has to fit in memory. Secrets
(hashes of the PIN and sign-in codes) and internal keys are left out, and so is the
network address staff read the record from.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext

from ontrack.participants.models import Participant
from ontrack.participants.queries import participant_path

PLAIN_ID = "participant_id"
CHUNK_ROWS = 2_000
FLUSH_BYTES = 256 * 1024
# Never shown: secrets, internal keys that mean nothing outside the system, and where
# staff read the record from (their network, not the participant's data).
_HIDDEN = frozenset(
    {
        "search_text",
        "attempt_id",
        "claimed_at",
        "idempotency_key",
        "client_ref",
        "ip_address",
        "user_agent",
        "path",
        "user",
    }
)

PROFILE_FIELDS = (
    "case_number",
    "given_name",
    "family_name",
    "date_of_birth",
    "preferred_language",
    "email",
    "time_zone",
    "status",
    "level",
    "enrolled_at",
)


@dataclass(frozen=True)
class RecordKind:
    """One kind of record about a participant: the model and how it reaches them."""

    model: type[models.Model]
    lookup: str  # "participant", "alert__participant", or "participant_id" (a plain id)

    @property
    def label(self) -> str:
        return self.model._meta.label

    @property
    def key(self) -> str:
        return self.model._meta.label_lower

    def columns(self) -> list[models.Field[Any, Any]]:
        return [
            f
            for f in self.model._meta.concrete_fields
            if f.name not in _HIDDEN and not f.name.endswith("_hash") and f.name != self.lookup
        ]

    def rows(self, participant: Participant) -> models.QuerySet[Any]:
        pk = self.model._meta.pk
        order = list(getattr(pk, "field_names", None) or ["pk"])
        return self.model._default_manager.filter(**{self.lookup: participant.pk}).order_by(*order)


def record_kinds() -> list[RecordKind]:
    """Every kind of record about a participant, besides the participant row itself (the
    profile), in app then model order."""
    kinds = []
    for model in apps.get_models():
        if not model.__module__.startswith("ontrack.") or model is Participant:
            continue
        path = participant_path(model)
        if path is not None:
            kinds.append(RecordKind(model, "__".join(path)))
        elif any(f.name == PLAIN_ID and not f.is_relation for f in model._meta.concrete_fields):
            kinds.append(RecordKind(model, PLAIN_ID))
    return sorted(kinds, key=lambda k: (k.model._meta.app_label, k.model._meta.model_name or ""))


def profile(participant: Participant) -> dict[str, Any]:
    data = {name: getattr(participant, name) for name in PROFILE_FIELDS}
    data["office"] = str(participant.office)
    return data


def cell(value: Any) -> str:
    """A value as a person reads it in a CSV: local time, no "None"."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        return local.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def shown(field: models.Field[Any, Any], value: Any) -> Any:
    """A stored value as words: a choice by its label in the active language where a
    catalog has it ("enrolled" reads "Inscrito"), anything else as it is."""
    if field.choices and value not in (None, ""):
        label = dict(field.flatchoices).get(value)
        if label is not None:
            return gettext(str(label))
    return value


def recent_rows(
    kind: RecordKind, participant: Participant, *, limit: int
) -> tuple[list[list[tuple[str, str, Any]]], int]:
    """The latest ``limit`` records of a kind, each as (label, field name, value) for the
    fields that hold something, and how many records there are: what the "my data" page
    shows (the download has every one)."""
    queryset = kind.rows(participant)
    columns = kind.columns()
    rows = [
        [
            (str(f.verbose_name).capitalize(), f.name, shown(f, getattr(obj, f.attname)))
            for f in columns
            if getattr(obj, f.attname) not in (None, "")
        ]
        for obj in queryset.reverse()[:limit]
    ]
    return rows, queryset.count()


class _Sink(io.RawIOBase):
    """Where the archive is written: it keeps what was written until it is taken. It has
    no ``seek``, so ``zipfile`` writes each member with a data descriptor and never goes
    back, which is what lets the archive leave while it is being made."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self.size += len(chunk)
        return len(chunk)

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        self.size = 0
        return out


@dataclass(frozen=True)
class ArchiveText:
    """The words of the archive, already in the participant's language."""

    readme: str
    about_me: str
    kind_names: dict[str, str]  # RecordKind.key -> file name without ".csv"
    profile_rows: list[tuple[str, str]]


def zip_stream(participant: Participant, text: ArchiveText) -> Iterator[bytes]:
    """The whole record as a ZIP, in pieces of about ``FLUSH_BYTES``. Called with the
    participant's language and time zone active (the CSVs show local times)."""
    sink = _Sink()
    archive = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED)
    archive.writestr("README.txt", text.readme)
    about = io.StringIO()
    csv.writer(about).writerows(text.profile_rows)
    archive.writestr(f"00 {text.about_me}.csv", about.getvalue())
    photos: list[tuple[str, models.fields.files.FieldFile]] = []
    if participant.photo:
        enrolment = (participant.photo.name or "photo").rsplit("/", 1)[-1]
        photos.append((f"photos/enrolment-{enrolment}", participant.photo))
    for index, kind in enumerate(record_kinds(), start=1):
        columns = kind.columns()
        name = f"{index:02d} {text.kind_names[kind.key]}.csv"
        with (
            archive.open(name, "w", force_zip64=True) as raw,
            io.TextIOWrapper(raw, encoding="utf-8", newline="") as handle,
        ):
            writer = csv.writer(handle)
            writer.writerow([str(f.verbose_name).capitalize() for f in columns])
            for obj in kind.rows(participant).iterator(chunk_size=CHUNK_ROWS):
                row = []
                for f in columns:
                    value = getattr(obj, f.attname)
                    if isinstance(f, models.FileField) and value:
                        stored = getattr(obj, f.name)
                        file_name = stored.name.rsplit("/", 1)[-1]
                        value = f"photos/{kind.model._meta.model_name}-{file_name}"
                        photos.append((value, stored))
                    row.append(cell(shown(f, value)))
                writer.writerow(row)
                if sink.size >= FLUSH_BYTES:
                    handle.flush()
                    yield sink.take()
        yield sink.take()
    for name, stored in photos:
        try:
            with stored.open("rb") as source, archive.open(name, "w", force_zip64=True) as target:
                while block := source.read(FLUSH_BYTES):
                    target.write(block)
                    yield sink.take()
        except FileNotFoundError:
            continue  # purged by retention since the row was read
    archive.close()
    yield sink.take()
