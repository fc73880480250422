"""A participant's tracking record as an XML document shaped after the Offender Tracking
Record Transfer Service (OTRTS) Specification v1.0, and the importer that reads it back.

What is faithful and what is inferred — plainly:

* From the published description of OTRTS v1.0 (NIJ-funded, a Global Reference Architecture
  Service Specification Package approved by the Global Standards Council on 28 March 2016,
  NCJ 250723): the service moves one *offender tracking record* from one tracking system to
  another so that an agency changing provider keeps its history; the record holds the
  person's **demographics**, their **location data** and their **violation and alert data**;
  the exchange is NIEM-conformant XML. The document here carries exactly those three parts
  plus what they need to be read (the devices and when each was worn).
* Inferred, because the SSP's schema folder was not available to us: the element names of
  the exchange and extension namespace (``ot:``), the root ``ot:OffenderTrackingRecord``, and
  how alerts and location points are laid out. Person data uses NIEM Core 3.0 element names
  (``nc:PersonName``/``nc:PersonGivenName``/``nc:PersonSurName``, ``nc:PersonBirthDate``,
  ``nc:ContactInformation``, ``nc:Address``...) and references use NIEM ``structures``
  ``s:id``/``s:ref``, as a NIEM 3.0 IEPD of 2016 would. The ``ot:`` namespace is this
  program's own (``OT_NS``), deliberately not pretending to be the specification's; a
  mapping to the official schema, once obtained, is a matter of renaming in ``_ELEMENTS``.

Importing never raises anything but ``ValidationError`` for bad input (malformed XML, a
document type declaration, wrong root, a missing or invalid element: the message names the
element), and writes everything in one transaction or nothing. Imported alerts keep their
times, status and disposition, are marked ``details["imported_from"]`` and never notify
anyone: they are written directly, not raised through ``alerts.services``.

Decisions travel with their deciders: a closure carries who decided it, where they worked,
when and their note (``ot:SupervisionClosure*``), a resolution its resolver and their office
(``ot:AlertResolvedByText``, ``ot:AlertResolverOrganizationName``) beside its note and
closing time. On import they stay the original decider's, named as text with the import
recorded beside them, never the importing supervisor's; a record that claims an adverse
closure or a confirmed violation without a named decider is refused. Positions and
device events are attached to *history devices* created for the import (identifier
``hist-<original>-<n>``, retired), because the original trackers belong to the old
provider; the original identifier is kept in the document mapping shown after import.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from ontrack.accounts.models import Office, Program, User
from ontrack.alerts.models import (
    OPEN_STATUSES,
    Alert,
    AlertKind,
    AlertStatus,
    AlertStep,
    Disposition,
    Priority,
)
from ontrack.audit.models import AccessAction
from ontrack.audit.services import access_log_record
from ontrack.participants.models import (
    ADVERSE_CLOSURE_REASONS,
    Address,
    ClosureReason,
    EventKind,
    Language,
    Level,
    Participant,
    Status,
)
from ontrack.participants.services import (
    AddressData,
    OutsideDecision,
    PlanData,
    participant_activate,
    participant_close_imported,
    participant_enrol,
    participant_suspend,
)
from ontrack.tracking import partitions
from ontrack.tracking.models import (
    Device,
    DeviceAssignment,
    DeviceEventRecord,
    DeviceKind,
    DeviceStatus,
    InvalidReason,
    Position,
    Protocol,
)
from ontrack.tracking.queries import (
    POSITION_FIELDS,
    participant_device_events,
    participant_positions,
)
from ontrack.transfer.record_zip import record_export_authorise

logger = logging.getLogger(__name__)

NC_NS = "http://release.niem.gov/niem/niem-core/3.0/"
S_NS = "http://release.niem.gov/niem/structures/3.0/"
OT_NS = "urn:ontrack:otrts-record:1.0"
SPEC_VERSION = "1.0"
NAMESPACES = {"nc": NC_NS, "s": S_NS, "ot": OT_NS}
for _prefix, _uri in NAMESPACES.items():
    ET.register_namespace(_prefix, _uri)

MAX_DOCUMENT_BYTES = 200 * 1024 * 1024
# Times outside these years are typing errors, and near the ends of the calendar arithmetic
# on them (an assignment closed a second after its last point) would overflow.
YEARS = (1900, 2200)


def _q(name: str) -> str:
    """``"nc:PersonName"`` → ``"{uri}PersonName"``."""
    prefix, local = name.split(":")
    return f"{{{NAMESPACES[prefix]}}}{local}"


ROOT = _q("ot:OffenderTrackingRecord")
S_ID = _q("s:id")
S_REF = _q("s:ref")


# --- export -----------------------------------------------------------------------------


def _sub(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(
        parent, _q(name), {_q(k.replace("_", ":", 1)): v for k, v in attrs.items()}
    )
    if text is not None:
        element.text = text
    return element


def _when(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def _float(value: float) -> str:
    """``repr`` of a float reads back to the same float, so a round trip loses nothing."""
    return repr(float(value))


def _date_time(parent: ET.Element, name: str, value: dt.datetime | None) -> None:
    if value is not None:
        _sub(_sub(parent, name), "nc:DateTime", _when(value))


def _person(root: ET.Element, p: Participant) -> None:
    person = _sub(root, "nc:Person", s_id="subject")
    name = _sub(person, "nc:PersonName")
    _sub(name, "nc:PersonGivenName", p.given_name)
    _sub(name, "nc:PersonSurName", p.family_name)
    _sub(_sub(person, "nc:PersonBirthDate"), "nc:Date", p.date_of_birth.isoformat())
    _sub(_sub(person, "nc:PersonPrimaryLanguage"), "nc:LanguageCode", p.preferred_language)
    ident = _sub(person, "nc:PersonOtherIdentification")
    _sub(ident, "nc:IdentificationID", p.case_number)
    _sub(ident, "nc:IdentificationCategoryText", "Agency case number")
    contact = _sub(person, "nc:ContactInformation")
    if p.email:
        _sub(contact, "nc:ContactEmailID", p.email)
    for phone in p.phones.all():
        _sub(_sub(contact, "nc:ContactTelephoneNumber"), "nc:TelephoneNumberFullID", phone.number)
    address = Address.objects.filter(participant=p, valid_to__isnull=True).first()
    if address is not None:
        a = _sub(person, "nc:Address")
        _sub(a, "nc:AddressDeliveryPointText", address.line1)
        if address.line2:
            _sub(a, "ot:AddressSecondLineText", address.line2)
        _sub(a, "nc:LocationCityName", address.city)
        if address.region:
            _sub(a, "nc:LocationStateName", address.region)
        if address.postal_code:
            _sub(a, "nc:LocationPostalCode", address.postal_code)
        _sub(a, "nc:LocationCountryISO3166Alpha2Code", address.country)


def _supervision(root: ET.Element, p: Participant) -> None:
    sup = _sub(root, "ot:Supervision")
    _sub(sup, "ot:SupervisionStatusCode", p.status)
    if p.closure_reason:
        _sub(sup, "ot:SupervisionClosureReasonCode", p.closure_reason)
    if p.status == Status.CLOSED:
        _closure(sup, p)
    _date_time(sup, "nc:StartDate", p.enrolled_at)
    _sub(sup, "ot:SupervisionTimeZoneText", p.time_zone)
    plan = p.plans.filter(effective_to__isnull=True).first() or p.plans.first()
    _sub(sup, "ot:SupervisionLevelCode", p.level)
    if plan is not None:
        _sub(sup, "ot:SupervisionReviewDate", plan.review_date.isoformat())
        _sub(sup, "ot:SupervisionGPSIndicator", "true" if plan.gps_device else "false")


def _closure(sup: ET.Element, p: Participant) -> None:
    """Who decided the closure, where they worked, when, and their note: the decision is
    theirs wherever the record goes. A closure this system imported carries its original
    decider on, never the person who imported it."""
    _date_time(sup, "ot:SupervisionClosureDate", p.closed_at)
    if p.closed_by is not None:
        name = str(p.closed_by)
        office = p.closed_by.office.name if p.closed_by.office is not None else ""
    else:
        name, office = p.closure_decided_by_name, p.closure_decided_by_office
    if name:
        _sub(sup, "ot:SupervisionClosureDeciderName", name)
    if office:
        _sub(sup, "ot:SupervisionClosureDeciderOrganizationName", office)
    if p.closure_note:
        _sub(sup, "ot:SupervisionClosureNoteText", p.closure_note)


def _devices(root: ET.Element, p: Participant) -> set[int]:
    """The devices the participant wore, and when; returns their ids."""
    assignments = DeviceAssignment.objects.filter(participant=p).select_related("device")
    seen: set[int] = set()
    for a in assignments.order_by("started_at", "pk"):
        if a.device_id not in seen:
            seen.add(a.device_id)
            d = _sub(root, "ot:TrackingDevice", s_id=f"D{a.device_id}")
            _sub(_sub(d, "nc:ItemIdentification"), "nc:IdentificationID", a.device.identifier)
            _sub(d, "ot:TrackingDeviceCategoryCode", a.device.kind)
            _sub(d, "ot:TrackingDeviceProtocolCode", a.device.protocol)
    for a in assignments.order_by("started_at", "pk"):
        assignment = _sub(root, "ot:TrackingDeviceAssignment")
        _sub(assignment, "ot:TrackingDeviceReference", s_ref=f"D{a.device_id}")
        _date_time(assignment, "nc:StartDate", a.started_at)
        _date_time(assignment, "nc:EndDate", a.ended_at)
    return seen


def _locations(root: ET.Element, p: Participant) -> int:
    """Every stored fix that has coordinates, marked valid or not (a report that carried no
    position has no place in a LocationPoint)."""
    count = 0
    rows = participant_positions(p, with_invalid=True).filter(lat__isnull=False)
    for row in rows.values(*POSITION_FIELDS).iterator(chunk_size=5_000):
        point = _sub(root, "ot:LocationPoint")
        _sub(point, "ot:TrackingDeviceReference", s_ref=f"D{row['device_id']}")
        _sub(point, "nc:DateTime", _when(row["time"]))
        coord = _sub(point, "nc:Location2DGeospatialCoordinate")
        _sub(
            _sub(coord, "nc:GeographicCoordinateLatitude"),
            "nc:LatitudeDegreeValue",
            _float(row["lat"]),
        )
        _sub(
            _sub(coord, "nc:GeographicCoordinateLongitude"),
            "nc:LongitudeDegreeValue",
            _float(row["lon"]),
        )
        for column, name in (
            ("accuracy_m", "ot:LocationAccuracyMeterValue"),
            ("speed_kmh", "ot:LocationSpeedKilometersPerHourValue"),
            ("course", "ot:LocationCourseDegreeValue"),
            ("altitude_m", "ot:LocationAltitudeMeterValue"),
        ):
            if row[column] is not None:
                _sub(point, name, _float(row[column]))
        if row["satellites"] is not None:
            _sub(point, "ot:LocationSatelliteQuantity", str(row["satellites"]))
        _sub(point, "ot:LocationValidIndicator", "true" if row["valid"] else "false")
        count += 1
    return count


def _device_events(root: ET.Element, p: Participant) -> None:
    for e in participant_device_events(p):
        event = _sub(root, "ot:TrackingDeviceEvent")
        _sub(event, "ot:TrackingDeviceReference", s_ref=f"D{e.device_id}")
        _sub(event, "nc:DateTime", _when(e.time))
        _sub(event, "ot:TrackingDeviceEventCategoryCode", e.kind)
        if e.raw_code:
            _sub(event, "ot:TrackingDeviceEventVendorCodeText", e.raw_code)


_ALERT_TIMES = (
    ("occurred_at", "ot:AlertOccurredDate"),
    ("raised_at", "ot:AlertRecordedDate"),
    ("visible_at", "ot:AlertVisibleDate"),
    ("last_occurred_at", "ot:AlertLastOccurredDate"),
    ("acknowledged_at", "ot:AlertAcknowledgedDate"),
    ("closed_at", "ot:AlertClosedDate"),
)


def _alerts(root: ET.Element, p: Participant, worn: set[int]) -> int:
    alerts = Alert.objects.filter(participant=p).select_related("resolved_by__office")
    count = 0
    for a in alerts.order_by("occurred_at", "pk").prefetch_related("steps__actor"):
        alert = _sub(root, "ot:Alert", s_id=f"A{a.pk}")
        _sub(alert, "ot:AlertCategoryCode", a.kind)
        _sub(alert, "ot:AlertSourceText", a.source)
        _sub(alert, "ot:AlertPriorityValue", str(a.priority))
        _sub(alert, "ot:AlertStatusCode", a.status)
        for attr, name in _ALERT_TIMES:
            _date_time(alert, name, getattr(a, attr))
        _sub(alert, "ot:AlertOccurrenceQuantity", str(a.occurrences))
        # Only a device the record describes can be referred to (an alert may name another).
        if a.device_id in worn:
            _sub(alert, "ot:TrackingDeviceReference", s_ref=f"D{a.device_id}")
        if a.disposition:
            _sub(alert, "ot:AlertDispositionCode", a.disposition)
        if a.resolution_note:
            _sub(alert, "ot:AlertResolutionText", a.resolution_note)
        resolver, resolver_office = a.resolved_by_name, a.resolved_by_office
        if a.resolved_by is not None:
            resolver = str(a.resolved_by)
            resolver_office = a.resolved_by.office.name if a.resolved_by.office else ""
        if resolver:
            _sub(alert, "ot:AlertResolvedByText", resolver)
        if resolver_office:
            _sub(alert, "ot:AlertResolverOrganizationName", resolver_office)
        if a.details:
            _sub(
                alert, "ot:AlertDetailsJSONText", json.dumps(a.details, sort_keys=True, default=str)
            )
        for step in a.steps.all():
            s = _sub(alert, "ot:AlertStatusChange")
            _sub(s, "nc:DateTime", _when(step.at))
            if step.from_status:
                _sub(s, "ot:AlertStatusFromCode", step.from_status)
            _sub(s, "ot:AlertStatusToCode", step.to_status)
            if step.note:
                _sub(s, "ot:AlertStatusChangeText", step.note)
            if step.actor is not None:
                _sub(s, "ot:AlertStatusChangeActorText", str(step.actor))
        count += 1
    return count


def otrts_export(
    participant: Participant, *, user: User, purpose: str, request: HttpRequest | None = None
) -> bytes:
    """The tracking record as XML bytes. Like the record ZIP it leaves the system whole, so
    it takes the same people (``can_export_record``) and a stated purpose, written to the
    access log before anything is built. Http404 if the user may not see the participant,
    PermissionDenied if they may see but not export, ValidationError without a purpose."""
    participant = record_export_authorise(
        user,
        participant.pk,
        purpose=purpose,
        record="tracking record",
        what="OTRTS tracking record (XML)",
        request=request,
    )
    root = ET.Element(ROOT, {_q("ot:specificationVersion"): SPEC_VERSION})
    meta = _sub(root, "ot:RecordMetadata")
    _date_time(meta, "ot:RecordCreatedDate", timezone.now())
    _sub(meta, "ot:SourceSystemName", "ontrack")
    _sub(meta, "ot:SourceProgramName", participant.program.name)
    _person(root, participant)
    _supervision(root, participant)
    worn = _devices(root, participant)
    positions = _locations(root, participant)
    _device_events(root, participant)
    alerts = _alerts(root, participant, worn)
    logger.info(
        "otrts_export participant=%s user=%s positions=%s alerts=%s",
        participant.pk,
        user.pk,
        positions,
        alerts,
    )
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# --- import -----------------------------------------------------------------------------


def _local(tag: str) -> str:
    for prefix, uri in NAMESPACES.items():
        if tag.startswith(f"{{{uri}}}"):
            return f"{prefix}:{tag[len(uri) + 2 :]}"
    return tag


class _Reader:
    """Reads one element's children, naming the element path in every error."""

    def __init__(self, element: ET.Element, where: str) -> None:
        self.element = element
        self.where = where

    def _error(self, name: str, problem: str) -> ValidationError:
        return ValidationError(f"{self.where}/{name}: {problem}")

    def child(self, name: str, *, required: bool = True) -> _Reader | None:
        found = self.element.find(_q(name))
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
        for index, found in enumerate(self.element.findall(_q(name)), start=1):
            yield index, _Reader(found, f"{self.where}/{name}[{index}]")

    def text(self, name: str, *, max_length: int, required: bool = True) -> str:
        found = self.element.find(_q(name))
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
        found = self.element.find(_q(name))
        if found is None:
            if required:
                raise self._error(name, "required element is missing")
            return None
        ref = found.get(S_REF, "")
        if ref not in known:
            raise self._error(name, f"s:ref {ref!r} names no ot:TrackingDevice in the record")
        return ref


@dataclass
class _Device:
    identifier: str
    kind: str
    protocol: str


@dataclass
class _Point:
    device: str
    time: dt.datetime
    lat: float
    lon: float
    accuracy_m: float | None
    speed_kmh: float | None
    course: float | None
    altitude_m: float | None
    satellites: int | None
    valid: bool


@dataclass
class _Step:
    at: dt.datetime
    from_status: str
    to_status: str
    note: str
    actor: str


@dataclass
class _Alert:
    kind: str
    source: str
    priority: int
    status: str
    times: dict[str, dt.datetime | None]
    occurrences: int
    device: str | None
    disposition: str
    resolution_note: str
    resolved_by: str
    resolver_office: str
    details: dict[str, Any]
    steps: list[_Step]


@dataclass
class _Record:
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
    devices: dict[str, _Device] = field(default_factory=dict)
    assignments: list[tuple[str, dt.datetime, dt.datetime | None]] = field(default_factory=list)
    points: list[_Point] = field(default_factory=list)
    events: list[tuple[str, dt.datetime, str, str]] = field(default_factory=list)
    alerts: list[_Alert] = field(default_factory=list)


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
            f"Wrong root element {_local(root.tag)!r}: expected ot:OffenderTrackingRecord "
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


def _read_alert(r: _Reader, devices: dict[str, _Device]) -> _Alert:
    statuses = list(AlertStatus.values)
    times = {attr: r.wrapped_date_time(name, required=False) for attr, name in _ALERT_TIMES}
    for required in ("occurred_at", "raised_at"):
        if times[required] is None:
            name = dict(_ALERT_TIMES)[required]
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
    steps = [
        _Step(
            at=s.date_time("nc:DateTime") or timezone.now(),
            from_status=s.choice("ot:AlertStatusFromCode", statuses, required=False),
            to_status=s.choice("ot:AlertStatusToCode", statuses),
            note=s.text("ot:AlertStatusChangeText", max_length=100_000, required=False),
            actor=s.text("ot:AlertStatusChangeActorText", max_length=300, required=False),
        )
        for _, s in r.children("ot:AlertStatusChange")
    ]
    return _Alert(
        kind=r.choice("ot:AlertCategoryCode", list(AlertKind.values)),
        source=r.text("ot:AlertSourceText", max_length=80),
        priority=r.integer(
            "ot:AlertPriorityValue", low=min(Priority.values), high=max(Priority.values)
        ),
        status=r.choice("ot:AlertStatusCode", statuses),
        times=times,
        occurrences=r.integer("ot:AlertOccurrenceQuantity", low=1, high=2_000_000_000)
        if r.child("ot:AlertOccurrenceQuantity", required=False)
        else 1,
        device=r.ref("ot:TrackingDeviceReference", devices, required=False),
        disposition=r.choice("ot:AlertDispositionCode", list(Disposition.values), required=False),
        resolution_note=r.text("ot:AlertResolutionText", max_length=100_000, required=False),
        resolved_by=r.text("ot:AlertResolvedByText", max_length=150, required=False),
        resolver_office=r.text("ot:AlertResolverOrganizationName", max_length=150, required=False),
        details=details,
        steps=steps,
    )


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


def _read_record(root: ET.Element) -> _Record:
    """Everything the document says, validated, before anything is written."""
    r = _Reader(root, "ot:OffenderTrackingRecord")
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
    record = _Record(
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
        record.devices[key] = _Device(
            identifier=d.need("nc:ItemIdentification").text("nc:IdentificationID", max_length=40),
            kind=d.choice("ot:TrackingDeviceCategoryCode", list(DeviceKind.values)),
            protocol=d.choice("ot:TrackingDeviceProtocolCode", list(Protocol.values)),
        )
    for _, a in r.children("ot:TrackingDeviceAssignment"):
        ref = a.ref("ot:TrackingDeviceReference", record.devices)
        start = a.wrapped_date_time("nc:StartDate")
        end = a.wrapped_date_time("nc:EndDate", required=False)
        assert ref is not None and start is not None
        if end is not None and end < start:
            raise ValidationError(f"{a.where}/nc:EndDate: before nc:StartDate")
        record.assignments.append((ref, start, end))
    seen: set[tuple[str, dt.datetime]] = set()
    for _, p in r.children("ot:LocationPoint"):
        ref = p.ref("ot:TrackingDeviceReference", record.devices)
        when = p.date_time("nc:DateTime")
        assert ref is not None and when is not None
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
        assert lat is not None and lon is not None
        record.points.append(
            _Point(
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
        assert ref is not None and when is not None
        record.events.append(
            (
                ref,
                when,
                e.text("ot:TrackingDeviceEventCategoryCode", max_length=24),
                e.text("ot:TrackingDeviceEventVendorCodeText", max_length=60, required=False),
            )
        )
    open_conditions: set[tuple[str, str]] = set()
    for _, a in r.children("ot:Alert"):
        alert = _read_alert(a, record.devices)
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
        record.alerts.append(alert)
    _check_coverage(record)
    return record


def _check_coverage(record: _Record) -> None:
    """Every point and event must fall within a wearing of its device, or it would be
    stored and never shown (a participant's track is read through the assignments)."""
    windows: dict[str, list[tuple[dt.datetime, dt.datetime | None]]] = {}
    for ref, start, end in record.assignments:
        windows.setdefault(ref, []).append((start, end))

    def covered(ref: str, when: dt.datetime) -> bool:
        return any(s <= when and (e is None or when < e) for s, e in windows.get(ref, []))

    for index, point in enumerate(record.points, start=1):
        if not covered(point.device, point.time):
            raise ValidationError(
                f"ot:OffenderTrackingRecord/ot:LocationPoint[{index}]/nc:DateTime: outside "
                f"every ot:TrackingDeviceAssignment of {point.device}"
            )
    for index, (ref, when, _, _) in enumerate(record.events, start=1):
        if not covered(ref, when):
            raise ValidationError(
                f"ot:OffenderTrackingRecord/ot:TrackingDeviceEvent[{index}]/nc:DateTime: "
                f"outside every ot:TrackingDeviceAssignment of {ref}"
            )


def _history_device(device: _Device) -> Device:
    """A retired device that holds the imported history of one tracker of the old system."""
    n = 1
    while True:
        suffix = f"-{n}"
        identifier = f"hist-{device.identifier}"[: 40 - len(suffix)] + suffix
        if not Device.objects.filter(identifier=identifier).exists():
            break
        n += 1
    return Device.objects.create(
        identifier=identifier,
        kind=device.kind,
        protocol=device.protocol,
        status=DeviceStatus.RETIRED,
        firmware="imported history (OTRTS)",
    )


@dataclass(frozen=True)
class ImportResult:
    participant: Participant
    devices: dict[str, str]  # original identifier -> history device identifier
    positions: int
    device_events: int
    alerts: int


def otrts_import_detailed(
    xml_bytes: bytes, *, user: User, program: Program, office: Office, officer: User | None
) -> ImportResult:
    """Import one tracking record as a new participant; see the module docstring."""
    if not user.manages_caseloads:
        raise PermissionDenied("Only supervisors and administrators import records.")
    record = _read_record(_parse_document(xml_bytes))
    if partitions.is_partitioned() and record.points:
        # Outside the transaction: a partition made for a rolled-back import is harmless,
        # while one rolled back under the process's cache of known days is not.
        partitions.positions_ensure_days({p.time.date() for p in record.points})
    with transaction.atomic():
        participant = participant_enrol(
            actor=user,
            program=program,
            office=office,
            officer=officer,
            case_number=record.case_number,
            given_name=record.given_name,
            family_name=record.family_name,
            date_of_birth=record.date_of_birth,
            preferred_language=record.language,
            time_zone=record.time_zone,
            email=record.email,
            phones=record.phones,
            address=record.address,
            enrolled_at=record.enrolled_at,
            plan=PlanData(
                level=record.level, review_date=record.review_date, gps_device=record.gps
            ),
            event_kind=EventKind.IMPORTED,
        )
        if record.status == Status.ACTIVE:
            participant_activate(participant, actor=user)
        elif record.status == Status.SUSPENDED:
            participant_suspend(participant, actor=user, reason="imported as suspended")
        elif record.status == Status.CLOSED:
            assert record.closure is not None
            participant_close_imported(
                participant, importer=user, reason=record.closure_reason, decision=record.closure
            )
        devices = {key: _history_device(d) for key, d in record.devices.items()}
        # The participant wears none of the old provider's trackers here: a wearing still
        # open in the document ends just after the last thing its device reported.
        last: dict[str, dt.datetime] = {}
        for ref, when in [
            *((p.device, p.time) for p in record.points),
            *((e[0], e[1]) for e in record.events),
        ]:
            last[ref] = max(when, last.get(ref, when))
        DeviceAssignment.objects.bulk_create(
            DeviceAssignment(
                device=devices[ref],
                participant=participant,
                started_at=start,
                ended_at=end or max(start, last.get(ref, start)) + dt.timedelta(seconds=1),
                assigned_by=user,
                end_reason="imported history",
            )
            for ref, start, end in record.assignments
        )
        received = timezone.now()
        Position.objects.bulk_create(
            (
                Position(
                    device=devices[p.device],
                    participant=participant,
                    time=p.time,
                    lat=p.lat,
                    lon=p.lon,
                    accuracy_m=p.accuracy_m,
                    speed_kmh=p.speed_kmh,
                    course=p.course,
                    altitude_m=p.altitude_m,
                    satellites=p.satellites,
                    valid=p.valid,
                    # the exporting system said invalid, not why
                    invalid_reason="" if p.valid else InvalidReason.DEVICE_MARKED_INVALID,
                    received_at=received,
                )
                for p in record.points
            ),
            batch_size=2_000,
        )
        DeviceEventRecord.objects.bulk_create(
            DeviceEventRecord(
                device=devices[ref],
                participant=participant,
                time=when,
                kind=kind,
                raw_code=raw,
                received_at=received,
            )
            for ref, when, kind, raw in record.events
        )
        for a in record.alerts:
            _alert_write(
                a,
                participant=participant,
                devices=devices,
                user=user,
                source_system=record.source_system,
            )
        access_log_record(
            user=user,
            action=AccessAction.IMPORT,
            what="OTRTS tracking record (XML)",
            participant_ids=[participant.pk],
        )
    logger.info(
        "otrts_import participant=%s user=%s positions=%s alerts=%s",
        participant.pk,
        user.pk,
        len(record.points),
        len(record.alerts),
    )
    return ImportResult(
        participant=participant,
        devices={record.devices[k].identifier: d.identifier for k, d in devices.items()},
        positions=len(record.points),
        device_events=len(record.events),
        alerts=len(record.alerts),
    )


def _alert_write(
    a: _Alert,
    *,
    participant: Participant,
    devices: dict[str, Device],
    user: User,
    source_system: str,
) -> None:
    """Written as a row, not raised: an imported alert is history and notifies nobody.

    A pending alert's grace timer belonged to the old system; it arrives open (its original
    status kept in ``imported_from``) so that no grace watchdog promotes it and notifies."""
    imported: dict[str, Any] = {"system": source_system or "unknown"}
    status = a.status
    if status == AlertStatus.PENDING:
        imported["status"] = status
        status = AlertStatus.OPEN
    if a.resolved_by:
        imported["resolved_by"] = a.resolved_by
    if any(s.actor for s in a.steps):
        imported["step_actors"] = [s.actor for s in a.steps]
    # The resolution stays its resolver's: they have no account here, so they are named as
    # the record names them, and the import is recorded beside them (never the importer as
    # the resolver: they decided nothing).
    resolved = bool(a.resolved_by or a.disposition)
    now = timezone.now()
    occurred_at = a.times["occurred_at"]
    raised_at = a.times["raised_at"]
    assert occurred_at is not None and raised_at is not None
    alert = Alert.objects.create(
        participant=participant,
        kind=a.kind,
        source=a.source,
        priority=a.priority,
        status=status,
        occurred_at=occurred_at,
        raised_at=raised_at,
        visible_at=a.times["visible_at"] or raised_at,
        last_occurred_at=a.times["last_occurred_at"] or occurred_at,
        acknowledged_at=a.times["acknowledged_at"],
        closed_at=a.times["closed_at"],
        occurrences=a.occurrences,
        device_id=devices[a.device].pk if a.device else None,
        details={**a.details, "imported_from": imported},
        disposition=a.disposition,
        resolution_note=a.resolution_note,
        resolved_by=None,
        resolved_by_name=a.resolved_by,
        resolved_by_office=a.resolver_office if a.resolved_by else "",
        resolution_imported_at=now if resolved else None,
        resolution_imported_by=user if resolved else None,
    )
    AlertStep.objects.bulk_create(
        AlertStep(
            alert=alert, at=s.at, from_status=s.from_status, to_status=s.to_status, note=s.note
        )
        for s in a.steps
    )


def otrts_import(
    xml_bytes: bytes, *, user: User, program: Program, office: Office, officer: User | None
) -> Participant:
    """Import one OTRTS tracking record as a new participant of ``program`` at ``office``."""
    return otrts_import_detailed(
        xml_bytes, user=user, program=program, office=office, officer=officer
    ).participant
