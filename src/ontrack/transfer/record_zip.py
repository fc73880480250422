"""A participant's full record as one ZIP of CSV files and a GeoJSON track.

Each export needs a stated purpose and is written to the access log with it before a byte
leaves; who may export is narrower than who may read (``can_export_record``): the officer of
the case, a supervisor of its office or an administrator, never an operator or auditor.
Positions may run to hundreds of thousands of rows, so they are streamed from the database
into the archive, and the archive is built in a temporary file that stays in memory only
while it is small (``SPOOL_MAX_BYTES``) and moves to disk beyond: a year of one-minute fixes
never has to fit in a web worker's memory.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any, TypeVar

from django.db import models
from django.http import HttpRequest

from ontrack.accounts.models import User
from ontrack.alerts.models import Alert, AlertStep
from ontrack.csvsafe import SafeWriter
from ontrack.messaging.models import InboundMessage, Message
from ontrack.participants.gate import participant_export
from ontrack.participants.models import (
    Address,
    Counsel,
    Hearing,
    Participant,
    ParticipantEvent,
    Phone,
    ReleaseConditions,
    ReviewRequest,
    SupervisionPlan,
)
from ontrack.participants.queries import can_write_participant
from ontrack.reviews.models import SupervisionReview
from ontrack.schedule.models import Appointment, Checkin, CheckinWindow
from ontrack.tracking.queries import participant_device_events, participant_positions
from ontrack.zones.queries import participant_zones, zone_feature

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Kept in memory up to this size, then spooled to a temporary file on disk.
SPOOL_MAX_BYTES = 8 * 1024 * 1024
# Never exported: secrets and internal keys that mean nothing outside this system.
_HIDDEN = frozenset({"search_text", "attempt_id", "idempotency_key", "claimed_at"})

PROFILE_FIELDS = (
    "id",
    "case_number",
    "given_name",
    "family_name",
    "date_of_birth",
    "preferred_language",
    "email",
    "time_zone",
    "status",
    "closure_reason",
    "closure_note",
    "closed_at",
    "closure_decided_by_name",
    "closure_decided_by_office",
    "closure_imported_at",
    "level",
    "enrolled_at",
)
MESSAGE_FIELDS = (
    "direction",
    "id",
    "at",
    "channel",
    "from_or_to",
    "body",
    "status",
    "purpose",
    "template_key",
)
ARCHIVE_FILES = (
    "profile.csv",
    "phones.csv",
    "addresses.csv",
    "counsel.csv",
    "conditions.csv",
    "case_events.csv",
    "plans.csv",
    "reviews.csv",
    "review_requests.csv",
    "hearings.csv",
    "checkin_windows.csv",
    "checkins.csv",
    "appointments.csv",
    "alerts.csv",
    "alert_steps.csv",
    "messages.csv",
    "zones.geojson",
    "positions.geojson",
    "device_events.csv",
)


def can_export_record(user: User, participant: Participant) -> bool:
    """The people answerable for the case: its officer, its office's supervisors and
    administrators (the same people who may change it)."""
    return can_write_participant(user, participant)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def _columns(model: type[models.Model]) -> list[tuple[str, str, bool]]:
    """(header, attribute, is_file) for every exportable concrete field of ``model``."""
    columns = []
    for field in model._meta.concrete_fields:
        if field.name in _HIDDEN or field.name.endswith("_hash"):
            continue
        if isinstance(field, models.FileField):
            columns.append((f"has_{field.name}", field.attname, True))
        else:
            columns.append((field.attname, field.attname, False))
    return columns


def _write_rows(handle: IO[str], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    writer = SafeWriter(handle)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])


def _model_rows(
    queryset: models.QuerySet[Any], columns: list[tuple[str, str, bool]]
) -> Iterable[list[Any]]:
    for obj in queryset.iterator(chunk_size=2_000):
        yield [
            bool(getattr(obj, attr)) if is_file else getattr(obj, attr)
            for _, attr, is_file in columns
        ]


def _add_model_csv(archive: zipfile.ZipFile, name: str, queryset: models.QuerySet[Any]) -> None:
    columns = _columns(queryset.model)
    with archive.open(name, "w") as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as f:
        _write_rows(f, [c[0] for c in columns], _model_rows(queryset, columns))


def _message_rows(participant: Participant) -> Iterable[list[Any]]:
    """Outgoing and incoming texts in one time-ordered list (both are short per person)."""
    rows: list[list[Any]] = [
        [
            "outbound",
            m.pk,
            m.created_at,
            m.channel,
            m.to,
            m.body,
            m.status,
            m.purpose,
            m.template_key,
        ]
        for m in Message.objects.filter(participant=participant)
    ]
    rows += [
        ["inbound", m.pk, m.received_at, "sms", m.from_number, m.body, m.action, "", ""]
        for m in InboundMessage.objects.filter(participant=participant)
    ]
    rows.sort(key=lambda row: (row[2], row[0], row[1]))
    return rows


def _write_positions(handle: IO[str], participant: Participant) -> int:
    """A GeoJSON FeatureCollection written feature by feature; returns how many. A report
    without a valid fix is in it too (``valid`` false, with its reason), its geometry null
    when it carried no position: the whole record is every report the device made."""
    handle.write('{"type": "FeatureCollection", "features": [')
    count = 0
    fields = (
        "time",
        "lat",
        "lon",
        "accuracy_m",
        "speed_kmh",
        "course",
        "altitude_m",
        "satellites",
        "valid",
        "invalid_reason",
        "device_id",
    )
    rows = participant_positions(participant, with_invalid=True).values(*fields)
    for row in rows.iterator(chunk_size=5_000):
        feature = {
            "type": "Feature",
            "geometry": None
            if row["lat"] is None
            else {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
            "properties": {
                "time": row["time"].isoformat(),
                "accuracy_m": row["accuracy_m"],
                "speed_kmh": row["speed_kmh"],
                "course": row["course"],
                "altitude_m": row["altitude_m"],
                "satellites": row["satellites"],
                "valid": row["valid"],
                "invalid_reason": row["invalid_reason"],
                "device_id": row["device_id"],
            },
        }
        handle.write(("," if count else "") + "\n" + json.dumps(feature))
        count += 1
    handle.write("\n]}\n")
    return count


def record_export_authorise(
    user: User,
    participant_id: int,
    *,
    purpose: str,
    record: str,
    what: str,
    request: HttpRequest | None = None,
) -> Participant:
    """The gate every whole-record export passes (the ZIP, the OTRTS XML): the reader must
    see the participant (else Http404), answer for the case (else PermissionDenied) and
    state a purpose (else ValidationError), which goes into the access log before anything
    is built, so no export can happen unlogged. ``record`` names the kind of record in the
    refusal, ``what`` the file in the access log."""
    return participant_export(
        request if request is not None else user,
        participant_id,
        what=what,
        purpose=purpose,
        answerable=can_export_record,
        refusal=f"Only the case's officer, its supervisors and administrators export a {record}.",
    )


def participant_record_zip(
    *, user: User, participant_id: int, purpose: str, request: HttpRequest | None = None
) -> IO[bytes]:
    """The whole record of one participant as a ZIP (see ``ARCHIVE_FILES``), in a temporary
    file positioned at its start; the caller reads it out and closes it.

    Raises Http404 if the user may not see the participant, PermissionDenied if they may
    see but not export, ValidationError without a purpose. The access-log entry is written
    before the archive is built, so no export can happen unlogged."""
    participant = record_export_authorise(
        user,
        participant_id,
        purpose=purpose,
        record="full record",
        what="full record ZIP",
        request=request,
    )
    spool, size = spooled_export(lambda handle: _write_archive(handle, participant), suffix=".zip")
    logger.info("record_export participant=%s user=%s bytes=%s", participant.pk, user.pk, size)
    return spool


def spooled_export(write: Callable[[IO[bytes]], T], *, suffix: str) -> tuple[IO[bytes], T]:
    """Run ``write`` into a temporary file kept in memory while small (``SPOOL_MAX_BYTES``)
    and on disk beyond, and hand it back positioned at its start with what ``write``
    returned. Every whole-record export is built this way, so none has to fit in memory."""
    # Handed to the caller (the response closes it), so no context manager here.
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_BYTES, suffix=suffix)  # noqa: SIM115
    try:
        result = write(spool)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, result


def _write_archive(handle: IO[bytes], participant: Participant) -> int:
    """Every part of the record into ``handle``; returns the archive's size in bytes."""
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with (
            archive.open("profile.csv", "w") as raw,
            io.TextIOWrapper(raw, encoding="utf-8", newline="") as f,
        ):
            _write_rows(
                f,
                [
                    *PROFILE_FIELDS,
                    "closed_by",
                    "closure_imported_by",
                    "office",
                    "officer",
                    "program",
                    "has_photo",
                ],
                [
                    [
                        *(getattr(participant, name) for name in PROFILE_FIELDS),
                        str(participant.closed_by) if participant.closed_by else "",
                        str(participant.closure_imported_by or ""),
                        str(participant.office),
                        str(participant.officer) if participant.officer else "",
                        str(participant.program),
                        bool(participant.photo),
                    ]
                ],
            )
        of_participant = {"participant": participant}
        _add_model_csv(archive, "phones.csv", Phone.objects.filter(**of_participant))
        _add_model_csv(archive, "addresses.csv", Address.objects.filter(**of_participant))
        _add_model_csv(archive, "counsel.csv", Counsel.objects.filter(**of_participant))
        _add_model_csv(
            archive, "conditions.csv", ReleaseConditions.objects.filter(**of_participant)
        )
        _add_model_csv(
            archive,
            "case_events.csv",
            ParticipantEvent.objects.filter(**of_participant).order_by("at", "pk"),
        )
        _add_model_csv(
            archive, "plans.csv", SupervisionPlan.objects.filter(participant=participant)
        )
        _add_model_csv(
            archive,
            "reviews.csv",
            SupervisionReview.objects.filter(**of_participant).order_by("opened_at", "pk"),
        )
        _add_model_csv(
            archive,
            "review_requests.csv",
            ReviewRequest.objects.filter(**of_participant).order_by("created_at", "pk"),
        )
        _add_model_csv(archive, "hearings.csv", Hearing.objects.filter(participant=participant))
        _add_model_csv(
            archive,
            "checkin_windows.csv",
            CheckinWindow.objects.filter(participant=participant).order_by("pk"),
        )
        _add_model_csv(
            archive, "checkins.csv", Checkin.objects.filter(participant=participant).order_by("pk")
        )
        _add_model_csv(
            archive,
            "appointments.csv",
            Appointment.objects.filter(participant=participant).order_by("pk"),
        )
        alerts = Alert.objects.filter(participant=participant).order_by("occurred_at", "pk")
        _add_model_csv(archive, "alerts.csv", alerts)
        _add_model_csv(
            archive,
            "alert_steps.csv",
            AlertStep.objects.filter(alert__participant=participant).order_by(
                "alert_id", "at", "pk"
            ),
        )
        with (
            archive.open("messages.csv", "w") as raw,
            io.TextIOWrapper(raw, encoding="utf-8", newline="") as f,
        ):
            _write_rows(f, MESSAGE_FIELDS, _message_rows(participant))
        zones = {
            "type": "FeatureCollection",
            "features": [zone_feature(z) for z in participant_zones(participant).order_by("pk")],
        }
        archive.writestr("zones.geojson", json.dumps(zones, default=str, indent=1))
        with (
            archive.open("positions.geojson", "w") as raw,
            io.TextIOWrapper(raw, encoding="utf-8") as f,
        ):
            _write_positions(f, participant)
        _add_model_csv(archive, "device_events.csv", participant_device_events(participant))
    return handle.tell()
