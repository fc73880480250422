"""The tracking record written out as OTRTS XML, streamed.

A year of one-minute fixes is half a million location points: built as a tree first, the
document took well over a gigabyte of a web worker's memory (128 MB measured per 50,000
points, 230 MB as ``tracemalloc`` counts it). So each element is written as it is read
(``xml.sax.saxutils.XMLGenerator``), positions come from the database in chunks, and the
document goes into a temporary file that moves to disk once it is large
(``record_zip.spooled_export``): memory stays the same however long the record. The
structure is the one the tree gave (``reading`` reads it back, element for element).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO
from xml.sax.saxutils import XMLGenerator
from xml.sax.xmlreader import AttributesImpl

from django.http import HttpRequest
from django.utils import timezone

from ontrack.accounts.models import User
from ontrack.alerts.models import Alert
from ontrack.participants.models import Address, Participant, Status
from ontrack.tracking.models import DeviceAssignment
from ontrack.tracking.queries import (
    POSITION_FIELDS,
    participant_device_events,
    participant_positions,
)
from ontrack.transfer.otrts.schema import ALERT_TIMES, NAMESPACES, ROOT_NAME, SPEC_VERSION
from ontrack.transfer.record_zip import record_export_authorise, spooled_export

logger = logging.getLogger(__name__)


def _when(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def _float(value: float) -> str:
    """``repr`` of a float reads back to the same float, so a round trip loses nothing."""
    return repr(float(value))


class _Writer:
    """Elements by their prefixed names (``nc:Person``); the namespaces are declared once,
    on the root. ``s_id``/``s_ref`` keyword arguments become ``s:id``/``s:ref``."""

    def __init__(self, text: io.TextIOWrapper) -> None:
        self._out = XMLGenerator(text, encoding="utf-8", short_empty_elements=True)

    @staticmethod
    def _attributes(attrs: dict[str, str]) -> AttributesImpl[str]:
        return AttributesImpl({k.replace("_", ":", 1): v for k, v in attrs.items()})

    @contextmanager
    def document(self) -> Iterator[None]:
        self._out.startDocument()
        root = {f"xmlns:{prefix}": uri for prefix, uri in NAMESPACES.items()}
        root["ot:specificationVersion"] = SPEC_VERSION
        self._out.startElement(ROOT_NAME, AttributesImpl(root))
        yield
        self._out.endElement(ROOT_NAME)
        self._out.endDocument()

    @contextmanager
    def element(self, name: str, **attrs: str) -> Iterator[None]:
        self._out.startElement(name, self._attributes(attrs))
        yield
        self._out.endElement(name)

    def leaf(self, name: str, text: str | None = None, **attrs: str) -> None:
        self._out.startElement(name, self._attributes(attrs))
        if text:
            self._out.characters(text)
        self._out.endElement(name)

    def date_time(self, name: str, value: dt.datetime | None) -> None:
        """``<name><nc:DateTime>…</nc:DateTime></name>``, nothing when there is no time."""
        if value is not None:
            with self.element(name):
                self.leaf("nc:DateTime", _when(value))


def _person(w: _Writer, p: Participant) -> None:
    with w.element("nc:Person", s_id="subject"):
        with w.element("nc:PersonName"):
            w.leaf("nc:PersonGivenName", p.given_name)
            w.leaf("nc:PersonSurName", p.family_name)
        with w.element("nc:PersonBirthDate"):
            w.leaf("nc:Date", p.date_of_birth.isoformat())
        with w.element("nc:PersonPrimaryLanguage"):
            w.leaf("nc:LanguageCode", p.preferred_language)
        with w.element("nc:PersonOtherIdentification"):
            w.leaf("nc:IdentificationID", p.case_number)
            w.leaf("nc:IdentificationCategoryText", "Agency case number")
        with w.element("nc:ContactInformation"):
            if p.email:
                w.leaf("nc:ContactEmailID", p.email)
            for phone in p.phones.all():
                with w.element("nc:ContactTelephoneNumber"):
                    w.leaf("nc:TelephoneNumberFullID", phone.number)
        address = Address.objects.filter(participant=p, valid_to__isnull=True).first()
        if address is not None:
            with w.element("nc:Address"):
                w.leaf("nc:AddressDeliveryPointText", address.line1)
                if address.line2:
                    w.leaf("ot:AddressSecondLineText", address.line2)
                w.leaf("nc:LocationCityName", address.city)
                if address.region:
                    w.leaf("nc:LocationStateName", address.region)
                if address.postal_code:
                    w.leaf("nc:LocationPostalCode", address.postal_code)
                w.leaf("nc:LocationCountryISO3166Alpha2Code", address.country)


def _supervision(w: _Writer, p: Participant) -> None:
    with w.element("ot:Supervision"):
        w.leaf("ot:SupervisionStatusCode", p.status)
        if p.closure_reason:
            w.leaf("ot:SupervisionClosureReasonCode", p.closure_reason)
        if p.status == Status.CLOSED:
            _closure(w, p)
        w.date_time("nc:StartDate", p.enrolled_at)
        w.leaf("ot:SupervisionTimeZoneText", p.time_zone)
        plan = p.plans.filter(effective_to__isnull=True).first() or p.plans.first()
        w.leaf("ot:SupervisionLevelCode", p.level)
        if plan is not None:
            w.leaf("ot:SupervisionReviewDate", plan.review_date.isoformat())
            w.leaf("ot:SupervisionGPSIndicator", "true" if plan.gps_device else "false")


def _closure(w: _Writer, p: Participant) -> None:
    """Who decided the closure, where they worked, when, and their note: the decision is
    theirs wherever the record goes. A closure this system imported carries its original
    decider on, never the person who imported it."""
    w.date_time("ot:SupervisionClosureDate", p.closed_at)
    if p.closed_by is not None:
        name = str(p.closed_by)
        office = p.closed_by.office.name if p.closed_by.office is not None else ""
    else:
        name, office = p.closure_decided_by_name, p.closure_decided_by_office
    if name:
        w.leaf("ot:SupervisionClosureDeciderName", name)
    if office:
        w.leaf("ot:SupervisionClosureDeciderOrganizationName", office)
    if p.closure_note:
        w.leaf("ot:SupervisionClosureNoteText", p.closure_note)


def _devices(w: _Writer, p: Participant) -> set[int]:
    """The devices the participant wore, and when; returns their ids."""
    assignments = DeviceAssignment.objects.filter(participant=p).select_related("device")
    seen: set[int] = set()
    for a in assignments.order_by("started_at", "pk"):
        if a.device_id not in seen:
            seen.add(a.device_id)
            with w.element("ot:TrackingDevice", s_id=f"D{a.device_id}"):
                with w.element("nc:ItemIdentification"):
                    w.leaf("nc:IdentificationID", a.device.identifier)
                w.leaf("ot:TrackingDeviceCategoryCode", a.device.kind)
                w.leaf("ot:TrackingDeviceProtocolCode", a.device.protocol)
    for a in assignments.order_by("started_at", "pk"):
        with w.element("ot:TrackingDeviceAssignment"):
            w.leaf("ot:TrackingDeviceReference", s_ref=f"D{a.device_id}")
            w.date_time("nc:StartDate", a.started_at)
            w.date_time("nc:EndDate", a.ended_at)
    return seen


_POINT_MEASURES = (
    ("accuracy_m", "ot:LocationAccuracyMeterValue"),
    ("speed_kmh", "ot:LocationSpeedKilometersPerHourValue"),
    ("course", "ot:LocationCourseDegreeValue"),
    ("altitude_m", "ot:LocationAltitudeMeterValue"),
)


def _locations(w: _Writer, p: Participant) -> int:
    """Every stored fix that has coordinates, marked valid or not (a report that carried no
    position has no place in a LocationPoint). Read in chunks and written as read."""
    count = 0
    rows = participant_positions(p, with_invalid=True).filter(lat__isnull=False)
    for row in rows.values(*POSITION_FIELDS).iterator(chunk_size=5_000):
        with w.element("ot:LocationPoint"):
            w.leaf("ot:TrackingDeviceReference", s_ref=f"D{row['device_id']}")
            w.leaf("nc:DateTime", _when(row["time"]))
            with w.element("nc:Location2DGeospatialCoordinate"):
                with w.element("nc:GeographicCoordinateLatitude"):
                    w.leaf("nc:LatitudeDegreeValue", _float(row["lat"]))
                with w.element("nc:GeographicCoordinateLongitude"):
                    w.leaf("nc:LongitudeDegreeValue", _float(row["lon"]))
            for column, name in _POINT_MEASURES:
                if row[column] is not None:
                    w.leaf(name, _float(row[column]))
            if row["satellites"] is not None:
                w.leaf("ot:LocationSatelliteQuantity", str(row["satellites"]))
            w.leaf("ot:LocationValidIndicator", "true" if row["valid"] else "false")
        count += 1
    return count


def _device_events(w: _Writer, p: Participant) -> None:
    for e in participant_device_events(p).iterator(chunk_size=5_000):
        with w.element("ot:TrackingDeviceEvent"):
            w.leaf("ot:TrackingDeviceReference", s_ref=f"D{e.device_id}")
            w.leaf("nc:DateTime", _when(e.time))
            w.leaf("ot:TrackingDeviceEventCategoryCode", e.kind)
            if e.raw_code:
                w.leaf("ot:TrackingDeviceEventVendorCodeText", e.raw_code)


def _alert(w: _Writer, a: Alert, worn: set[int]) -> None:
    with w.element("ot:Alert", s_id=f"A{a.pk}"):
        w.leaf("ot:AlertCategoryCode", a.kind)
        w.leaf("ot:AlertSourceText", a.source)
        w.leaf("ot:AlertPriorityValue", str(a.priority))
        w.leaf("ot:AlertStatusCode", a.status)
        for attr, name in ALERT_TIMES:
            w.date_time(name, getattr(a, attr))
        w.leaf("ot:AlertOccurrenceQuantity", str(a.occurrences))
        # Only a device the record describes can be referred to (an alert may name another).
        if a.device_id in worn:
            w.leaf("ot:TrackingDeviceReference", s_ref=f"D{a.device_id}")
        if a.disposition:
            w.leaf("ot:AlertDispositionCode", a.disposition)
        if a.resolution_note:
            w.leaf("ot:AlertResolutionText", a.resolution_note)
        resolver, resolver_office = a.resolved_by_name, a.resolved_by_office
        if a.resolved_by is not None:
            resolver = str(a.resolved_by)
            resolver_office = a.resolved_by.office.name if a.resolved_by.office else ""
        if resolver:
            w.leaf("ot:AlertResolvedByText", resolver)
        if resolver_office:
            w.leaf("ot:AlertResolverOrganizationName", resolver_office)
        if a.details:
            w.leaf("ot:AlertDetailsJSONText", json.dumps(a.details, sort_keys=True, default=str))
        for step in a.steps.all():
            with w.element("ot:AlertStatusChange"):
                w.leaf("nc:DateTime", _when(step.at))
                if step.from_status:
                    w.leaf("ot:AlertStatusFromCode", step.from_status)
                w.leaf("ot:AlertStatusToCode", step.to_status)
                if step.note:
                    w.leaf("ot:AlertStatusChangeText", step.note)
                if step.actor is not None:
                    w.leaf("ot:AlertStatusChangeActorText", str(step.actor))


def _alerts(w: _Writer, p: Participant, worn: set[int]) -> int:
    alerts = Alert.objects.filter(participant=p).select_related("resolved_by__office")
    count = 0
    for a in alerts.order_by("occurred_at", "pk").prefetch_related("steps__actor"):
        _alert(w, a, worn)
        count += 1
    return count


def _write_record(handle: IO[bytes], participant: Participant) -> tuple[int, int]:
    """The whole document into ``handle``; returns (positions, alerts) written."""
    # Buffered text over the file: the generator writes a few bytes at a time.
    text = io.TextIOWrapper(handle, encoding="utf-8", errors="xmlcharrefreplace", newline="\n")
    try:
        w = _Writer(text)
        with w.document():
            with w.element("ot:RecordMetadata"):
                w.date_time("ot:RecordCreatedDate", timezone.now())
                w.leaf("ot:SourceSystemName", "ontrack")
                w.leaf("ot:SourceProgramName", participant.program.name)
            _person(w, participant)
            _supervision(w, participant)
            worn = _devices(w, participant)
            positions = _locations(w, participant)
            _device_events(w, participant)
            alerts = _alerts(w, participant, worn)
    finally:
        text.flush()
        text.detach()  # the caller owns the file
    return positions, alerts


def otrts_export(
    participant: Participant, *, user: User, purpose: str, request: HttpRequest | None = None
) -> IO[bytes]:
    """The tracking record as XML, in a temporary file positioned at its start; the caller
    reads it out and closes it. Like the record ZIP it leaves the system whole, so it takes
    the same people (``can_export_record``) and a stated purpose, written to the access log
    before anything is built. Http404 if the user may not see the participant,
    PermissionDenied if they may see but not export, ValidationError without a purpose."""
    participant = record_export_authorise(
        user,
        participant.pk,
        purpose=purpose,
        record="tracking record",
        what="OTRTS tracking record (XML)",
        request=request,
    )
    spool, (positions, alerts) = spooled_export(
        lambda handle: _write_record(handle, participant), suffix=".xml"
    )
    logger.info(
        "otrts_export participant=%s user=%s positions=%s alerts=%s",
        participant.pk,
        user.pk,
        positions,
        alerts,
    )
    return spool
