"""An OTRTS document read and checked into plain values (``Record``), before anything is
written: reading and writing are apart so that a refusal always comes before the first row.

Reading never raises anything but ``ValidationError`` for bad input (malformed XML, a
document type declaration, wrong root, a missing or invalid element), and every message
names the element path (``ot:OffenderTrackingRecord/ot:LocationPoint[3]/nc:DateTime: …``)
so that the sending agency can find what to fix. The values it produces are the owning
apps' own import types (``tracking.history_import``, ``alerts.services.ImportedAlert``,
``participants.services``), so nothing is translated twice.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from ontrack.alerts.models import OPEN_STATUSES, AlertKind, AlertStatus, Disposition, Priority
from ontrack.alerts.services import ImportedAlert, ImportedStep
from ontrack.participants.models import (
    ADVERSE_CLOSURE_REASONS,
    ClosureReason,
    Language,
    Level,
    Status,
)
from ontrack.participants.services import AddressData, OutsideDecision
from ontrack.tracking.history_import import (
    HistoryDevice,
    HistoryEvent,
    HistoryPoint,
    HistoryWearing,
)
from ontrack.tracking.models import DeviceKind, Protocol
from ontrack.transfer.otrts.schema import ALERT_TIMES, OT_NS, ROOT_NAME, clark, prefixed

MAX_DOCUMENT_BYTES = 200 * 1024 * 1024
# Times outside these years are typing errors, and near the ends of the calendar arithmetic
# on them (an assignment closed a second after its last point) would overflow.
YEARS = (1900, 2200)

ROOT = clark(ROOT_NAME)
S_ID = clark("s:id")
S_REF = clark("s:ref")


class _Reader:
    """Reads one element's children, naming the element path in every error."""

    def __init__(self, element: ET.Element, where: str) -> None:
        self.element = element
        self.where = where

    def _error(self, name: str, problem: str) -> ValidationError:
        return ValidationError(f"{self.where}/{name}: {problem}")

    def child(self, name: str, *, required: bool = True) -> _Reader | None:
        found = self.element.find(clark(name))
        if found is None:
            if required:
                raise self._error(name, "required element is missing")
            return None
        return _Reader(found, f"{self.where}/{name}")

    def need(self, name: str) -> _Reader:
        found = self.child(name)
        assert found is not None
        return found

    def children(self, name: str) -> Iterator[tuple[int, _Reader]]:
        for index, found in enumerate(self.element.findall(clark(name)), start=1):
            yield index, _Reader(found, f"{self.where}/{name}[{index}]")

    def text(self, name: str, *, max_length: int, required: bool = True) -> str:
        found = self.element.find(clark(name))
        value = (found.text or "").strip() if found is not None else ""
        if not value:
            if required:
                raise self._error(name, "required element is missing or empty")
            return ""
        if len(value) > max_length:
            raise self._error(name, f"longer than {max_length} characters")
        return value

    def choice(self, name: str, choices: list[str], *, required: bool = True) -> str:
        value = self.text(name, max_length=64, required=required)
        if value and value not in choices:
            raise self._error(name, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def number(
        self,
        name: str,
        *,
        required: bool = True,
        low: float | None = None,
        high: float | None = None,
    ) -> float | None:
        value = self.text(name, max_length=40, required=required)
        if not value:
            return None
        try:
            number = float(value)
        except ValueError:
            raise self._error(name, f"{value!r} is not a number") from None
        if not math.isfinite(number):
            raise self._error(name, "must be a finite number")
        if (low is not None and number < low) or (high is not None and number > high):
            raise self._error(name, f"{number} is outside {low}..{high}")
        return number

    def integer(self, name: str, *, low: int, high: int) -> int:
        value = self.text(name, max_length=20)
        try:
            number = int(value)
        except ValueError:
            raise self._error(name, f"{value!r} is not a whole number") from None
        if not low <= number <= high:
            raise self._error(name, f"{number} is outside {low}..{high}")
        return number

    def date(self, name: str) -> dt.date:
        value = self.text(name, max_length=10)
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise self._error(name, f"{value!r} is not a date (YYYY-MM-DD)") from None

    def date_time(self, name: str, *, required: bool = True) -> dt.datetime | None:
        value = self.text(name, max_length=40, required=required)
        if not value:
            return None
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise self._error(name, f"{value!r} is not an ISO 8601 date and time") from None
        if parsed.tzinfo is None:
            raise self._error(name, f"{value!r} has no UTC offset")
        if not YEARS[0] <= parsed.year <= YEARS[1]:
            raise self._error(name, f"{value!r} is outside the years {YEARS[0]}..{YEARS[1]}")
        try:
            return parsed.astimezone(dt.UTC)
        except OverflowError:
            raise self._error(name, f"{value!r} is out of range") from None

    def wrapped_date_time(self, name: str, *, required: bool = True) -> dt.datetime | None:
        wrapper = self.child(name, required=required)
        if wrapper is None:
            return None
        return wrapper.date_time("nc:DateTime")

    def ref(self, name: str, known: dict[str, Any], *, required: bool = True) -> str | None:
        found = self.element.find(clark(name))
        if found is None:
            if required:
                raise self._error(name, "required element is missing")
            return None
        ref = found.get(S_REF, "")
        if ref not in known:
            raise self._error(name, f"s:ref {ref!r} names no ot:TrackingDevice in the record")
        return ref


@dataclass
class Record:
    """Everything a document says, checked; device references are its ``s:id`` keys."""

    case_number: str
    given_name: str
    family_name: str
    date_of_birth: dt.date
    language: str
    email: str
    phones: list[str]
    address: AddressData | None
    status: str
    closure_reason: str
    closure: OutsideDecision | None
    enrolled_at: dt.datetime
    time_zone: str
    level: str
    review_date: dt.date
    gps: bool
    source_system: str
    devices: dict[str, HistoryDevice] = field(default_factory=dict)
    wearings: list[HistoryWearing] = field(default_factory=list)
    points: list[HistoryPoint] = field(default_factory=list)
    events: list[HistoryEvent] = field(default_factory=list)
    # each alert with the key of the device it names, if any
    alerts: list[tuple[ImportedAlert, str | None]] = field(default_factory=list)


def _parse_document(xml_bytes: bytes) -> ET.Element:
    if not isinstance(xml_bytes, bytes | bytearray):
        raise ValidationError("The record must be XML bytes.")
    if len(xml_bytes) > MAX_DOCUMENT_BYTES:
        raise ValidationError("The record is larger than this importer accepts.")
    try:
        text = bytes(xml_bytes).decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError("Malformed XML: the record must be encoded in UTF-8.") from None
    # No DTDs: entity declarations are how XML bombs and external-entity reads work, and a
    # NIEM exchange never needs one. Markup is case-sensitive and the text is decoded, so
    # this check cannot be dodged by another spelling or encoding.
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise ValidationError("Malformed XML: document type declarations are not accepted.")
    try:
        root = ET.fromstring(text)  # noqa: S314 (no DTD can reach the parser, see above)
    except ET.ParseError as exc:
        raise ValidationError(f"Malformed XML: {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise ValidationError(f"Malformed XML: {exc}") from None
    if root.tag != ROOT:
        raise ValidationError(
            f"Wrong root element {prefixed(root.tag)!r}: expected ot:OffenderTrackingRecord "
            f"in namespace {OT_NS}."
        )
    return root


def _read_person(r: _Reader) -> dict[str, Any]:
    person = r.need("nc:Person")
    name = person.need("nc:PersonName")
    ident = person.need("nc:PersonOtherIdentification")
    contact = person.child("nc:ContactInformation", required=False)
    phones: list[str] = []
    email = ""
    if contact is not None:
        email = contact.text("nc:ContactEmailID", max_length=254, required=False)
        phones = [
            t.text("nc:TelephoneNumberFullID", max_length=20)
            for _, t in contact.children("nc:ContactTelephoneNumber")
        ]
    address = None
    a = person.child("nc:Address", required=False)
    if a is not None:
        address = AddressData(
            line1=a.text("nc:AddressDeliveryPointText", max_length=200),
            line2=a.text("ot:AddressSecondLineText", max_length=200, required=False),
            city=a.text("nc:LocationCityName", max_length=100),
            region=a.text("nc:LocationStateName", max_length=100, required=False),
            postal_code=a.text("nc:LocationPostalCode", max_length=20, required=False),
            country=a.text("nc:LocationCountryISO3166Alpha2Code", max_length=2, required=False)
            or "US",
        )
    return {
        "given_name": name.text("nc:PersonGivenName", max_length=100),
        "family_name": name.text("nc:PersonSurName", max_length=100),
        "date_of_birth": person.need("nc:PersonBirthDate").date("nc:Date"),
        "language": person.need("nc:PersonPrimaryLanguage").choice(
            "nc:LanguageCode", list(Language.values)
        ),
        "case_number": ident.text("nc:IdentificationID", max_length=40),
        "email": email,
        "phones": phones,
        "address": address,
    }


def _read_alert(r: _Reader, devices: dict[str, HistoryDevice]) -> tuple[ImportedAlert, str | None]:
    """The alert, and the key of the device it names (if any)."""
    statuses = list(AlertStatus.values)
    times = {attr: r.wrapped_date_time(name, required=False) for attr, name in ALERT_TIMES}
    for required in ("occurred_at", "raised_at"):
        if times[required] is None:
            name = dict(ALERT_TIMES)[required]
            raise ValidationError(f"{r.where}/{name}: required element is missing")
    details_text = r.text("ot:AlertDetailsJSONText", max_length=1_000_000, required=False)
    details: Any = {}
    if details_text:
        try:
            details = json.loads(details_text)
        except ValueError:
            raise ValidationError(f"{r.where}/ot:AlertDetailsJSONText: not JSON") from None
        if not isinstance(details, dict):
            raise ValidationError(f"{r.where}/ot:AlertDetailsJSONText: not a JSON object")
    steps = tuple(
        ImportedStep(
            at=s.date_time("nc:DateTime") or timezone.now(),
            from_status=s.choice("ot:AlertStatusFromCode", statuses, required=False),
            to_status=s.choice("ot:AlertStatusToCode", statuses),
            note=s.text("ot:AlertStatusChangeText", max_length=100_000, required=False),
            actor=s.text("ot:AlertStatusChangeActorText", max_length=300, required=False),
        )
        for _, s in r.children("ot:AlertStatusChange")
    )
    occurred_at, raised_at = times["occurred_at"], times["raised_at"]
    assert occurred_at is not None
    assert raised_at is not None
    alert = ImportedAlert(
        kind=r.choice("ot:AlertCategoryCode", list(AlertKind.values)),
        source=r.text("ot:AlertSourceText", max_length=80),
        priority=r.integer(
            "ot:AlertPriorityValue", low=min(Priority.values), high=max(Priority.values)
        ),
        status=r.choice("ot:AlertStatusCode", statuses),
        occurred_at=occurred_at,
        raised_at=raised_at,
        visible_at=times["visible_at"],
        last_occurred_at=times["last_occurred_at"],
        acknowledged_at=times["acknowledged_at"],
        closed_at=times["closed_at"],
        occurrences=r.integer("ot:AlertOccurrenceQuantity", low=1, high=2_000_000_000)
        if r.child("ot:AlertOccurrenceQuantity", required=False)
        else 1,
        disposition=r.choice("ot:AlertDispositionCode", list(Disposition.values), required=False),
        resolution_note=r.text("ot:AlertResolutionText", max_length=100_000, required=False),
        resolved_by=r.text("ot:AlertResolvedByText", max_length=150, required=False),
        resolver_office=r.text("ot:AlertResolverOrganizationName", max_length=150, required=False),
        details=details,
        steps=steps,
    )
    return alert, r.ref("ot:TrackingDeviceReference", devices, required=False)


def _read_closure(sup: _Reader, reason: str) -> OutsideDecision:
    """The closure's decider, date and note. An adverse closure (absconded, departed,
    detained) without all three is refused: no one here can say who decided it."""
    decision = OutsideDecision(
        decided_by=sup.text("ot:SupervisionClosureDeciderName", max_length=150, required=False),
        office=sup.text(
            "ot:SupervisionClosureDeciderOrganizationName", max_length=150, required=False
        ),
        decided_at=sup.wrapped_date_time("ot:SupervisionClosureDate", required=False),
        note=sup.text("ot:SupervisionClosureNoteText", max_length=100_000, required=False),
    )
    if reason in ADVERSE_CLOSURE_REASONS:
        for name, value in (
            ("ot:SupervisionClosureDeciderName", decision.decided_by),
            ("ot:SupervisionClosureDate", decision.decided_at),
            ("ot:SupervisionClosureNoteText", decision.note),
        ):
            if not value:
                raise ValidationError(
                    f"{sup.where}/{name}: required for a closure as {reason} (an adverse "
                    "outcome is a named person's decision)"
                )
    return decision


def record_read(xml_bytes: bytes) -> Record:
    """Everything the document says, validated, before anything is written."""
    r = _Reader(_parse_document(xml_bytes), "ot:OffenderTrackingRecord")
    meta = r.child("ot:RecordMetadata", required=False)
    source = meta.text("ot:SourceSystemName", max_length=100, required=False) if meta else ""
    person = _read_person(r)
    sup = r.need("ot:Supervision")
    status = sup.choice("ot:SupervisionStatusCode", list(Status.values))
    closure = sup.choice(
        "ot:SupervisionClosureReasonCode", list(ClosureReason.values), required=False
    )
    if status == Status.CLOSED and not closure:
        raise ValidationError(
            "ot:OffenderTrackingRecord/ot:Supervision/ot:SupervisionClosureReasonCode: "
            "required for a closed case"
        )
    decision = _read_closure(sup, closure) if status == Status.CLOSED else None
    gps = sup.text("ot:SupervisionGPSIndicator", max_length=5, required=False)
    if gps not in ("", "true", "false"):
        raise ValidationError(f"{sup.where}/ot:SupervisionGPSIndicator: true or false")
    enrolled_at = sup.wrapped_date_time("nc:StartDate")
    assert enrolled_at is not None
    record = Record(
        **person,
        status=status,
        closure_reason=closure,
        closure=decision,
        enrolled_at=enrolled_at,
        time_zone=sup.text("ot:SupervisionTimeZoneText", max_length=64),
        level=sup.choice("ot:SupervisionLevelCode", list(Level.values)),
        review_date=sup.date("ot:SupervisionReviewDate"),
        gps=gps == "true",
        source_system=source,
    )
    for _, d in r.children("ot:TrackingDevice"):
        key = d.element.get(S_ID, "")
        if not key or key in record.devices:
            raise ValidationError(f"{d.where}: needs a unique s:id")
        record.devices[key] = HistoryDevice(
            identifier=d.need("nc:ItemIdentification").text("nc:IdentificationID", max_length=40),
            kind=d.choice("ot:TrackingDeviceCategoryCode", list(DeviceKind.values)),
            protocol=d.choice("ot:TrackingDeviceProtocolCode", list(Protocol.values)),
        )
    for _, a in r.children("ot:TrackingDeviceAssignment"):
        ref = a.ref("ot:TrackingDeviceReference", record.devices)
        start = a.wrapped_date_time("nc:StartDate")
        end = a.wrapped_date_time("nc:EndDate", required=False)
        assert ref is not None
        assert start is not None
        if end is not None and end < start:
            raise ValidationError(f"{a.where}/nc:EndDate: before nc:StartDate")
        record.wearings.append(HistoryWearing(device=ref, started_at=start, ended_at=end))
    seen: set[tuple[str, dt.datetime]] = set()
    for _, p in r.children("ot:LocationPoint"):
        ref = p.ref("ot:TrackingDeviceReference", record.devices)
        when = p.date_time("nc:DateTime")
        assert ref is not None
        assert when is not None
        if (ref, when) in seen:
            raise ValidationError(
                f"{p.where}/nc:DateTime: a second point of the same device at the same time"
            )
        seen.add((ref, when))
        coord = p.need("nc:Location2DGeospatialCoordinate")
        lat = coord.need("nc:GeographicCoordinateLatitude").number(
            "nc:LatitudeDegreeValue", low=-90, high=90
        )
        lon = coord.need("nc:GeographicCoordinateLongitude").number(
            "nc:LongitudeDegreeValue", low=-180, high=180
        )
        assert lat is not None
        assert lon is not None
        record.points.append(
            HistoryPoint(
                device=ref,
                time=when,
                lat=lat,
                lon=lon,
                accuracy_m=p.number("ot:LocationAccuracyMeterValue", required=False, low=0),
                speed_kmh=p.number("ot:LocationSpeedKilometersPerHourValue", required=False),
                course=p.number("ot:LocationCourseDegreeValue", required=False),
                altitude_m=p.number("ot:LocationAltitudeMeterValue", required=False),
                satellites=p.integer("ot:LocationSatelliteQuantity", low=0, high=255)
                if p.child("ot:LocationSatelliteQuantity", required=False)
                else None,
                valid=p.choice("ot:LocationValidIndicator", ["true", "false"], required=False)
                != "false",
            )
        )
    for _, e in r.children("ot:TrackingDeviceEvent"):
        ref = e.ref("ot:TrackingDeviceReference", record.devices)
        when = e.date_time("nc:DateTime")
        assert ref is not None
        assert when is not None
        record.events.append(
            HistoryEvent(
                device=ref,
                time=when,
                kind=e.text("ot:TrackingDeviceEventCategoryCode", max_length=24),
                raw_code=e.text(
                    "ot:TrackingDeviceEventVendorCodeText", max_length=60, required=False
                ),
            )
        )
    open_conditions: set[tuple[str, str]] = set()
    for _, a in r.children("ot:Alert"):
        alert, device = _read_alert(a, record.devices)
        if alert.status in OPEN_STATUSES:
            if (alert.kind, alert.source) in open_conditions:
                raise ValidationError(f"{a.where}: a second open alert for the same condition")
            open_conditions.add((alert.kind, alert.source))
        if alert.disposition == Disposition.CONFIRMED_VIOLATION and not alert.resolution_note:
            raise ValidationError(
                f"{a.where}/ot:AlertResolutionText: required for a confirmed violation"
            )
        if alert.disposition == Disposition.CONFIRMED_VIOLATION and not alert.resolved_by:
            raise ValidationError(
                f"{a.where}/ot:AlertResolvedByText: required for a confirmed violation (only "
                "a named person confirms one)"
            )
        record.alerts.append((alert, device))
    _check_coverage(record)
    return record


def _check_coverage(record: Record) -> None:
    """Every point and event must fall within a wearing of its device, or it would be
    stored and never shown (a participant's track is read through the assignments)."""
    windows: dict[str, list[tuple[dt.datetime, dt.datetime | None]]] = {}
    for w in record.wearings:
        windows.setdefault(w.device, []).append((w.started_at, w.ended_at))

    def covered(ref: str, when: dt.datetime) -> bool:
        return any(s <= when and (e is None or when < e) for s, e in windows.get(ref, []))

    for index, point in enumerate(record.points, start=1):
        if not covered(point.device, point.time):
            raise ValidationError(
                f"ot:OffenderTrackingRecord/ot:LocationPoint[{index}]/nc:DateTime: outside "
                f"every ot:TrackingDeviceAssignment of {point.device}"
            )
    for index, event in enumerate(record.events, start=1):
        if not covered(event.device, event.time):
            raise ValidationError(
                f"ot:OffenderTrackingRecord/ot:TrackingDeviceEvent[{index}]/nc:DateTime: "
                f"outside every ot:TrackingDeviceAssignment of {event.device}"
            )
