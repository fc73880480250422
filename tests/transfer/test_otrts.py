from __future__ import annotations

import datetime as dt
import tracemalloc
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from ontrack.accounts.models import Office, Program, Role, User
from ontrack.alerts.models import Alert, AlertStep, NotificationRule
from ontrack.alerts.notifications import notification_rule_create
from ontrack.alerts.services import alert_raise, alerts_promote_due
from ontrack.audit.models import AccessAction, AccessLogEntry
from ontrack.messaging.models import Message
from ontrack.participants.models import Participant
from ontrack.tracking.models import Device, DeviceEventRecord, DeviceStatus, Position
from ontrack.tracking.queries import participant_device_events, participant_positions
from ontrack.transfer.otrts.export import otrts_export
from ontrack.transfer.otrts.importing import otrts_import, otrts_import_detailed
from ontrack.transfer.otrts.schema import OT_NS

from .conftest import FIX_COUNT, PURPOSE, export_xml

pytestmark = pytest.mark.django_db

POSITION_FIELDS = (
    "time",
    "lat",
    "lon",
    "accuracy_m",
    "speed_kmh",
    "course",
    "altitude_m",
    "satellites",
    "valid",
)
ALERT_FIELDS = (
    "kind",
    "source",
    "priority",
    "occurred_at",
    "raised_at",
    "visible_at",
    "acknowledged_at",
    "closed_at",
    "last_occurred_at",
    "occurrences",
    "disposition",
    "resolution_note",
)


def _import(xml: bytes, target: dict[str, Any]) -> Participant:
    return otrts_import(
        xml,
        user=target["admin"],
        program=target["program"],
        office=target["office"],
        officer=target["officer"],
    )


def _alerts(participant: Participant) -> list[dict[str, Any]]:
    return list(
        Alert.objects.filter(participant=participant)
        .order_by("occurred_at", "kind")
        .values(*ALERT_FIELDS, "status")
    )


def _steps(participant: Participant) -> list[tuple[Any, ...]]:
    return list(
        AlertStep.objects.filter(alert__participant=participant)
        .order_by("alert__occurred_at", "alert__kind", "at", "pk")
        .values_list("at", "from_status", "to_status", "note")
    )


def test_round_trip_keeps_demographics(
    tracked: dict[str, Any], supervisor: User, target: dict[str, Any]
) -> None:
    original = tracked["participant"]
    copy = _import(export_xml(original, supervisor), target)
    for name in (
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
    ):
        assert getattr(copy, name) == getattr(original, name), name
    assert list(copy.phones.values_list("number", flat=True)) == list(
        original.phones.values_list("number", flat=True)
    )
    fields = ("line1", "line2", "city", "region", "postal_code", "country")
    assert list(copy.addresses.values(*fields)) == list(original.addresses.values(*fields))
    assert (copy.program, copy.office, copy.officer) == (
        target["program"],
        target["office"],
        target["officer"],
    )
    plan = copy.plans.get()
    assert plan.gps_device
    assert plan.review_date == original.plans.get().review_date


def test_round_trip_keeps_every_position_exactly(
    tracked: dict[str, Any], supervisor: User, target: dict[str, Any]
) -> None:
    original = tracked["participant"]
    copy = _import(export_xml(original, supervisor), target)
    before = list(participant_positions(original).values(*POSITION_FIELDS))
    after = list(participant_positions(copy).values(*POSITION_FIELDS))
    assert len(before) == FIX_COUNT
    assert any(r["satellites"] for r in before)
    assert any(r["altitude_m"] for r in before)
    assert after == before
    assert [(e.time, e.kind, e.raw_code) for e in participant_device_events(copy)] == [
        (e.time, e.kind, e.raw_code) for e in participant_device_events(original)
    ]


def test_round_trip_keeps_every_alert_with_times_status_and_disposition(
    tracked: dict[str, Any], supervisor: User, target: dict[str, Any]
) -> None:
    original = tracked["participant"]
    copy = _import(export_xml(original, supervisor), target)
    before, after = _alerts(original), _alerts(copy)
    assert len(before) >= 5
    # A pending alert's grace timer belonged to the old system: it arrives open, and says so.
    expected = [
        {**a, "status": "open" if a["status"] == "pending" else a["status"]} for a in before
    ]
    assert after == expected
    assert {a["status"] for a in before} >= {
        "pending",
        "open",
        "acknowledged",
        "resolved",
        "auto_resolved",
    }
    assert _steps(copy) == _steps(original)
    pending = Alert.objects.get(participant=copy, kind="critical_battery")
    assert pending.details["imported_from"] == {"system": "ontrack", "status": "pending"}
    violation = Alert.objects.get(participant=copy, disposition="confirmed_violation")
    assert violation.details["imported_from"]["resolved_by"] == str(supervisor)
    assert violation.details["note"] == "seeded sos"


def test_imported_alerts_notify_nobody(
    tracked: dict[str, Any], supervisor: User, target: dict[str, Any]
) -> None:
    notification_rule_create(
        user=target["admin"],
        office=target["office"],
        min_priority=1,
        channel="email",
        recipient="address",
        address="duty@example.org",
    )
    xml = export_xml(tracked["participant"], supervisor)
    copy = _import(xml, target)
    alerts_promote_due(now=timezone.now() + dt.timedelta(days=1))
    assert not Message.objects.filter(to="duty@example.org").exists()
    # The rule does work: a new alert of the imported participant is announced.
    alert_raise(participant_id=copy.pk, kind="sos", source="test:new", occurred_at=timezone.now())
    assert Message.objects.filter(to="duty@example.org").count() == 1
    assert NotificationRule.objects.count() == 1


def test_export_and_import_are_access_logged(
    tracked: dict[str, Any], supervisor: User, target: dict[str, Any]
) -> None:
    original = tracked["participant"]
    copy = _import(export_xml(original, supervisor), target)
    assert AccessLogEntry.objects.filter(
        action=AccessAction.EXPORT, participant_id=original.pk, user=supervisor
    ).exists()
    assert AccessLogEntry.objects.filter(
        action=AccessAction.IMPORT, participant_id=copy.pk, user=target["admin"]
    ).exists()


def test_history_devices_are_retired_and_named_after_the_original(
    tracked: dict[str, Any], supervisor: User, target: dict[str, Any]
) -> None:
    result = otrts_import_detailed(
        export_xml(tracked["participant"], supervisor),
        user=target["admin"],
        program=target["program"],
        office=target["office"],
        officer=None,
    )
    assert result.devices == {"359339075000123": "hist-359339075000123-1"}
    assert (result.positions, result.alerts) == (
        FIX_COUNT,
        Alert.objects.filter(participant=tracked["participant"]).count(),
    )
    history = Device.objects.get(identifier="hist-359339075000123-1")
    assert history.status == DeviceStatus.RETIRED
    assert set(
        Position.objects.filter(participant=result.participant).values_list("device_id", flat=True)
    ) == {history.pk}


LONG_TRACK = 12_000
# A tree of the whole document peaked at about 230 MB (traced) for 50,000 points, so about
# 55 MB for this track; streamed, the export holds one chunk of rows and the in-memory part
# of its temporary file (8 MB), whatever the track's length. (20,000 points cost 20-40 s of
# each test pass under tracemalloc, for no sharper a difference.)
EXPORT_PEAK_BOUND = 32 * 1024 * 1024


def test_a_long_track_is_exported_in_bounded_memory(
    tracked: dict[str, Any], supervisor: User
) -> None:
    participant, device = tracked["participant"], tracked["device"]
    # Every 50 ms in the hour before the fixture's own fixes, within the device's wearing.
    start = tracked["now"] - dt.timedelta(hours=3, seconds=-1)
    Position.objects.bulk_create(
        (
            Position(
                device=device,
                participant=participant,
                time=start + dt.timedelta(milliseconds=50 * i),
                lat=40.7 + i * 1e-6,
                lon=-74.0,
                accuracy_m=5.0,
                speed_kmh=3.0,
                course=90.0,
                altitude_m=10.0,
                satellites=7,
                received_at=tracked["now"],
            )
            for i in range(LONG_TRACK)
        ),
        batch_size=5_000,
    )
    tracemalloc.start()
    try:
        content = otrts_export(participant, user=supervisor, purpose=PURPOSE)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    with content:
        points = sum(
            1
            for _, element in ET.iterparse(content)  # noqa: S314 (our own export)
            if element.tag == f"{{{OT_NS}}}LocationPoint"
        )
    assert points == LONG_TRACK + FIX_COUNT
    assert peak < EXPORT_PEAK_BOUND, f"export peaked at {peak / 2**20:.0f} MiB"


# --- refusals ------------------------------------------------------------------------------


def _counts() -> tuple[int, ...]:
    return (
        Participant.objects.count(),
        Position.objects.count(),
        Alert.objects.count(),
        DeviceEventRecord.objects.count(),
    )


def _without(xml: bytes, path: str) -> bytes:
    root = ET.fromstring(xml)  # noqa: S314 (our own export)
    ns = {"nc": "http://release.niem.gov/niem/niem-core/3.0/", "ot": OT_NS}
    parent_path, _, leaf = path.rpartition("/")
    parent = root.find(parent_path, ns) if parent_path else root
    assert parent is not None
    child = parent.find(leaf, ns)
    assert child is not None
    parent.remove(child)
    return ET.tostring(root)


def _replace(xml: bytes, old: str, new: str, *, after: str = "") -> bytes:
    text = xml.decode()
    start = text.index(after) if after else 0
    assert old in text[start:]
    return (text[:start] + text[start:].replace(old, new, 1)).encode()


@pytest.mark.parametrize(
    ("mutate", "named"),
    [
        (lambda x: x[: len(x) // 2], "Malformed XML"),
        (lambda x: b"<other xmlns='urn:x'/>", "Wrong root element"),
        (
            lambda x: b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "b">]><r/>',
            "document type declarations",
        ),
        (lambda x: _without(x, "nc:Person/nc:PersonName/nc:PersonSurName"), "nc:PersonSurName"),
        (lambda x: _without(x, "nc:Person/nc:PersonBirthDate"), "nc:PersonBirthDate"),
        (lambda x: _without(x, "ot:Supervision"), "ot:Supervision"),
        (lambda x: _without(x, "ot:LocationPoint/nc:DateTime"), "ot:LocationPoint[1]/nc:DateTime"),
        (lambda x: _replace(x, "40.7<", "140.7<"), "nc:LatitudeDegreeValue"),
        (lambda x: _replace(x, ">sos<", ">teleport<"), "ot:AlertCategoryCode"),
        (
            lambda x: _replace(x, "+00:00<", "<", after="<ot:LocationPoint>"),
            "ot:LocationPoint[1]/nc:DateTime: '",
        ),
        (lambda x: _replace(x, 's:ref="D', 's:ref="X'), "ot:TrackingDeviceReference"),
        (lambda x: "é".encode("latin-1") + x, "UTF-8"),
        (
            lambda x: _replace(x, "<nc:DateTime>20", "<nc:DateTime>10", after="<ot:LocationPoint>"),
            "outside the years",
        ),
    ],
)
def test_bad_records_are_refused_naming_the_element_and_nothing_is_written(
    tracked: dict[str, Any], supervisor: User, target: dict[str, Any], mutate: Any, named: str
) -> None:
    xml = export_xml(tracked["participant"], supervisor)
    before = _counts()
    with pytest.raises(ValidationError) as refused:
        _import(mutate(xml), target)
    assert named in " ".join(refused.value.messages)
    assert _counts() == before


def test_a_failure_late_in_the_import_leaves_nothing_behind(
    tracked: dict[str, Any], supervisor: User, target: dict[str, Any]
) -> None:
    """The case number is already taken in the target program only after the document has
    been read: enrolment refuses, and no device, position or alert of it remains."""
    xml = export_xml(tracked["participant"], supervisor)
    _import(xml, target)
    before = _counts()
    with pytest.raises(ValidationError, match="already enrolled"):
        _import(xml, target)
    assert _counts() == before


def test_officers_may_not_import(
    tracked: dict[str, Any], supervisor: User, target: dict[str, Any], officer: User
) -> None:
    from django.core.exceptions import PermissionDenied

    xml = export_xml(tracked["participant"], supervisor)
    with pytest.raises(PermissionDenied):
        otrts_import(
            xml, user=officer, program=target["program"], office=target["office"], officer=None
        )


def test_console_import_page_shows_what_was_imported(
    tracked: dict[str, Any],
    supervisor: User,
    client_for: Callable[[User], Any],
    office: Office,
    program: Program,
) -> None:
    """A supervisor imports into their own office (here the same program, so under a new
    case number)."""
    xml = _replace(
        export_xml(tracked["participant"], supervisor),
        tracked["participant"].case_number,
        "MOVED-1",
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(supervisor)
    response = client.post(
        "/transfer/import/",
        {"file": SimpleUploadedFile("r.xml", xml, "application/xml"), "office": office.pk},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "MOVED-1" in body
    assert f"{FIX_COUNT} positions" in body
    assert Participant.objects.filter(program=program, case_number="MOVED-1").exists()
    bad = client.post(
        "/transfer/import/",
        {"file": SimpleUploadedFile("r.xml", b"<x", "application/xml"), "office": office.pk},
    )
    assert "Malformed XML" in bad.content.decode()


def test_console_export_button_downloads_xml_and_logs_it(
    tracked: dict[str, Any], officer: User, client_for: Callable[[User], Any]
) -> None:
    participant = tracked["participant"]
    client = client_for(officer)
    assert client.get(f"/transfer/{participant.pk}/otrts.xml").status_code == 405
    response = client.post(f"/transfer/{participant.pk}/otrts.xml", {"purpose": PURPOSE})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    root = ET.fromstring(b"".join(response.streaming_content))  # noqa: S314 (our own export)
    assert root.tag == f"{{{OT_NS}}}OffenderTrackingRecord"
    assert len(root.findall(f"{{{OT_NS}}}LocationPoint")) == FIX_COUNT
    entry = AccessLogEntry.objects.get(action=AccessAction.EXPORT, participant_id=participant.pk)
    assert entry.user_id == officer.pk
    assert entry.what == f"OTRTS tracking record (XML); purpose: {PURPOSE}"


@pytest.mark.parametrize("data", [{}, {"purpose": ""}, {"purpose": "  x "}])
def test_console_export_without_a_purpose_is_refused_and_not_logged(
    tracked: dict[str, Any], officer: User, client_for: Callable[[User], Any], data: dict
) -> None:
    participant = tracked["participant"]
    response = client_for(officer).post(f"/transfer/{participant.pk}/otrts.xml", data)
    assert response.status_code == 400
    assert not AccessLogEntry.objects.filter(action=AccessAction.EXPORT).exists()


def test_operator_may_not_export_the_tracking_record(
    tracked: dict[str, Any], make_user: Callable[..., User], client_for: Callable[[User], Any]
) -> None:
    participant = tracked["participant"]
    operator = make_user(Role.OPERATOR)
    response = client_for(operator).post(
        f"/transfer/{participant.pk}/otrts.xml", {"purpose": PURPOSE}
    )
    assert response.status_code == 403
    assert not AccessLogEntry.objects.filter(action=AccessAction.EXPORT).exists()


def test_officer_cannot_open_the_import_page(
    officer: User, client_for: Callable[[User], Any]
) -> None:
    assert client_for(officer).get("/transfer/import/").status_code == 403
