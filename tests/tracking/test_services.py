"""The device lifecycle: who may do what, what it leaves in the history."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import Role, User
from ontrack.participants.models import Participant
from ontrack.tracking.models import Device, DeviceAssignment, DeviceStatus
from ontrack.tracking.queries import participant_current_device
from ontrack.tracking.services.devices import (
    device_assign,
    device_mark_lost,
    device_register,
    device_retire,
    device_swap,
    device_unassign,
)
from ontrack.tracking.services.directory import device_directory

pytestmark = pytest.mark.django_db


def test_a_registered_device_is_in_stock(make_device: Callable[..., Device]) -> None:
    device = make_device(kind="wrist", protocol="teltonika")
    assert (device.status, device.kind, device.protocol) == ("in_stock", "wrist", "teltonika")


def test_an_identifier_is_registered_once(make_device: Callable[..., Device]) -> None:
    make_device(identifier="351234567890123")
    with pytest.raises(ValidationError, match="already registered"):
        make_device(identifier="351234567890123")


@pytest.mark.parametrize("protocol", ["gt06", "teltonika", "tk103"])
def test_the_service_refuses_a_gt06_teltonika_or_tk103_identifier_that_is_not_an_imei(
    make_device: Callable[..., Device], protocol: str
) -> None:
    """The rule lives in the service, so the API, imports and the shell obey it too."""
    for identifier in ("12345", "35209308100000A", "3520930810000012"):
        with pytest.raises(ValidationError, match="IMEI: 15 digits"):
            make_device(protocol=protocol, identifier=identifier)
    assert make_device(protocol="osmand", identifier="phone-app-1").protocol == "osmand"


@pytest.mark.parametrize("protocol", ["h02", "watch", "meitrack"])
def test_an_h02_unit_or_a_watch_is_registered_with_the_10_to_15_digits_it_sends(
    make_device: Callable[..., Device], protocol: str
) -> None:
    for identifier in ("123456789", "88000000AB", "1234567890123456"):
        with pytest.raises(ValidationError, match="10 to 15 digits"):
            make_device(protocol=protocol, identifier=identifier)
    assert make_device(protocol=protocol, identifier="8800000015").protocol == protocol
    assert make_device(protocol=protocol, identifier="352661090143150").protocol == protocol


def test_a_queclink_unit_is_registered_with_its_imei_or_meid(
    make_device: Callable[..., Device],
) -> None:
    for identifier in ("12345", "86059900077397X", "A10000499AEF9"):
        with pytest.raises(ValidationError, match="Queclink units"):
            make_device(protocol="queclink", identifier=identifier)
    assert make_device(protocol="queclink", identifier="860599000773978").protocol == "queclink"
    assert make_device(protocol="queclink", identifier="A10000499AEF9B").protocol == "queclink"


def test_a_suntech_unit_is_registered_with_its_6_to_10_digit_serial(
    make_device: Callable[..., Device],
) -> None:
    for identifier in ("12345", "31765A", "12345678901"):
        with pytest.raises(ValidationError, match="6 to 10 digits"):
            make_device(protocol="suntech", identifier=identifier)
    assert make_device(protocol="suntech", identifier="317652").protocol == "suntech"
    assert make_device(protocol="suntech", identifier="0560001616").protocol == "suntech"


def test_an_officer_may_not_register_devices(officer: User) -> None:
    with pytest.raises(PermissionDenied):
        device_register(actor=officer, identifier="350000000000000", kind="ankle", protocol="gt06")


def test_a_supervisor_registers_devices_for_their_own_office_only(
    make_user: Callable[..., User], make_office: Callable[..., object]
) -> None:
    supervisor = make_user(Role.SUPERVISOR)
    own = device_register(
        actor=supervisor,
        identifier="350000000000001",
        kind="ankle",
        protocol="gt06",
        office=supervisor.office,
    )
    assert own.office_id == supervisor.office_id
    with pytest.raises(PermissionDenied):
        device_register(
            actor=supervisor,
            identifier="350000000000002",
            kind="ankle",
            protocol="gt06",
            office=make_office("Elsewhere"),  # type: ignore[arg-type]
        )


def test_assigning_fits_the_device_and_writes_the_timeline(
    make_device: Callable[..., Device],
    make_gps_participant: Callable[..., Participant],
    officer: User,
) -> None:
    device = make_device()
    participant = make_gps_participant()
    assignment = device_assign(device, participant, actor=officer)
    device.refresh_from_db()
    assert device.status == DeviceStatus.ASSIGNED
    assert assignment.assigned_by == officer
    assert participant_current_device(participant) == device
    event = participant.events.filter(kind="device_changed").get()
    assert device.identifier in event.summary
    assert event.actor == officer


def test_a_device_is_not_fitted_when_the_plan_has_no_gps(
    make_device: Callable[..., Device], make_participant: Callable[..., Participant]
) -> None:
    with pytest.raises(ValidationError, match="does not include a GPS device"):
        device_assign(make_device(), make_participant(), actor=SYSTEM)


def test_a_device_that_is_not_in_stock_cannot_be_assigned(
    make_device: Callable[..., Device], make_gps_participant: Callable[..., Participant]
) -> None:
    device = make_device()
    device_assign(device, make_gps_participant(), actor=SYSTEM)
    with pytest.raises(ValidationError, match="not in stock"):
        device_assign(device, make_gps_participant(), actor=SYSTEM)


def test_a_participant_wears_one_device_at_a_time(
    make_device: Callable[..., Device], make_gps_participant: Callable[..., Participant]
) -> None:
    participant = make_gps_participant()
    device_assign(make_device(), participant, actor=SYSTEM)
    with pytest.raises(ValidationError, match="already wears"):
        device_assign(make_device(), participant, actor=SYSTEM)


def test_the_database_refuses_two_open_assignments_for_one_device(
    make_device: Callable[..., Device], make_gps_participant: Callable[..., Participant]
) -> None:
    device = make_device()
    first = device_assign(device, make_gps_participant(), actor=SYSTEM)
    with pytest.raises(IntegrityError), transaction.atomic():
        DeviceAssignment.objects.create(
            device=device, participant=make_gps_participant(), started_at=first.started_at
        )


def test_an_officer_cannot_fit_a_device_on_someone_elses_participant(
    make_device: Callable[..., Device],
    make_gps_participant: Callable[..., Participant],
    make_user: Callable[..., User],
) -> None:
    other = make_user(Role.OFFICER)
    with pytest.raises(PermissionDenied):
        device_assign(make_device(), make_gps_participant(), actor=other)


def test_unassigning_returns_the_device_to_stock_and_keeps_the_history(
    make_device: Callable[..., Device],
    make_gps_participant: Callable[..., Participant],
    officer: User,
) -> None:
    device = make_device()
    participant = make_gps_participant()
    device_assign(device, participant, actor=officer)
    device_unassign(device, actor=officer, reason="Supervision level stepped down")
    device.refresh_from_db()
    assert device.status == DeviceStatus.IN_STOCK
    ended = DeviceAssignment.objects.get(device=device)
    assert ended.ended_at is not None
    assert ended.ended_by == officer
    assert ended.end_reason == "Supervision level stepped down"
    assert device_directory()[device.identifier].participant_id is None
    assert participant.events.filter(kind="device_changed").count() == 2


def test_swapping_replaces_the_device_in_one_step(
    make_device: Callable[..., Device], make_gps_participant: Callable[..., Participant]
) -> None:
    old, new = make_device(), make_device()
    participant = make_gps_participant()
    device_assign(old, participant, actor=SYSTEM)
    device_swap(participant, new, actor=SYSTEM, reason="Strap broken")
    old.refresh_from_db()
    assert old.status == DeviceStatus.IN_STOCK
    assert participant_current_device(participant) == new
    history = list(
        DeviceAssignment.objects.filter(participant=participant)
        .order_by("id")
        .values_list("device_id", "end_reason")
    )
    assert history == [(old.pk, "swapped: Strap broken"), (new.pk, "")]


def test_swapping_to_a_device_not_in_stock_changes_nothing(
    make_device: Callable[..., Device], make_gps_participant: Callable[..., Participant]
) -> None:
    old, lost = make_device(), make_device()
    device_mark_lost(lost, actor=SYSTEM, reason="Left on a bus")
    participant = make_gps_participant()
    device_assign(old, participant, actor=SYSTEM)
    with pytest.raises(ValidationError, match="not in stock"):
        device_swap(participant, lost, actor=SYSTEM, reason="Strap broken")
    old.refresh_from_db()
    assert old.status == DeviceStatus.ASSIGNED
    assert participant_current_device(participant) == old
    assert not DeviceAssignment.objects.filter(ended_at__isnull=False).exists()


def test_a_lost_device_ends_the_assignment_and_cannot_be_assigned(
    make_device: Callable[..., Device], make_gps_participant: Callable[..., Participant]
) -> None:
    device = make_device()
    participant = make_gps_participant()
    device_assign(device, participant, actor=SYSTEM)
    device_mark_lost(device, actor=SYSTEM, reason="Not returned")
    device.refresh_from_db()
    assert device.status == DeviceStatus.LOST
    assert participant_current_device(participant) is None
    with pytest.raises(ValidationError):
        device_assign(device, make_gps_participant(), actor=SYSTEM)


def test_an_assigned_device_cannot_be_retired(
    make_device: Callable[..., Device], make_gps_participant: Callable[..., Participant]
) -> None:
    device = make_device()
    device_assign(device, make_gps_participant(), actor=SYSTEM)
    with pytest.raises(ValidationError, match="cannot become retired"):
        device_retire(device, actor=SYSTEM)


def test_a_phone_app_gets_a_long_random_id_and_never_a_number(
    make_device: Callable[..., Device],
) -> None:
    """Traccar Client / OsmAnd authenticate with nothing but the id they send: a guessable
    one (an IMEI, a phone number) would let anyone post positions for the wearer."""
    import pytest
    from django.core.exceptions import ValidationError

    from ontrack.tracking.services.devices import device_register

    generated = device_register(actor=SYSTEM, identifier="", kind="phone", protocol="osmand")
    other = device_register(actor=SYSTEM, identifier="", kind="phone", protocol="osmand")
    assert generated.identifier.startswith("app-")
    assert len(generated.identifier) >= 20
    assert generated.identifier != other.identifier
    with pytest.raises(ValidationError):
        device_register(actor=SYSTEM, identifier="359710049095095", kind="phone", protocol="osmand")
