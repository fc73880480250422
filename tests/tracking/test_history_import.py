"""Tracking history of another system: kept on retired history devices, each wearing closed,
and readable as the participant's track."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from ontrack.accounts.models import Role, User
from ontrack.participants.models import Participant
from ontrack.tracking.history_import import (
    HistoryDevice,
    HistoryEvent,
    HistoryPoint,
    HistoryWearing,
    history_import,
)
from ontrack.tracking.models import Device, DeviceStatus, InvalidReason, Position
from ontrack.tracking.queries import participant_device_events, participant_positions

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)
DEVICES = {"D1": HistoryDevice(identifier="359339075000123", kind="ankle", protocol="gt06")}


def _point(minutes: int, *, valid: bool = True) -> HistoryPoint:
    return HistoryPoint(
        device="D1",
        time=T0 + dt.timedelta(minutes=minutes),
        lat=40.7,
        lon=-74.0,
        accuracy_m=None,
        speed_kmh=None,
        course=None,
        altitude_m=None,
        satellites=None,
        valid=valid,
    )


@pytest.fixture
def supervisor(make_user: Callable[..., User]) -> User:
    return make_user(Role.SUPERVISOR)


def test_history_is_kept_on_a_retired_device_and_read_as_the_track(
    make_participant: Callable[..., Participant], supervisor: User
) -> None:
    p = make_participant()
    made = history_import(
        p,
        importer=supervisor,
        devices=DEVICES,
        wearings=[HistoryWearing(device="D1", started_at=T0, ended_at=None)],
        points=[_point(1), _point(2, valid=False)],
        events=[
            HistoryEvent(
                device="D1", time=T0 + dt.timedelta(minutes=3), kind="tamper", raw_code="0x03"
            )
        ],
    )
    device = made["D1"]
    assert (device.identifier, device.status) == ("hist-359339075000123-1", DeviceStatus.RETIRED)
    wearing = device.assignments.get()
    assert wearing.ended_at == T0 + dt.timedelta(minutes=3, seconds=1), (
        "an open wearing ends just after the last thing its device reported"
    )
    track = list(participant_positions(p, with_invalid=True).values_list("valid", "invalid_reason"))
    assert track == [(True, ""), (False, InvalidReason.DEVICE_MARKED_INVALID)]
    assert [e.kind for e in participant_device_events(p)] == ["tamper"]


def test_a_second_import_of_one_tracker_gets_the_next_history_device(
    make_participant: Callable[..., Participant], supervisor: User
) -> None:
    for _ in range(2):
        history_import(
            make_participant(),
            importer=supervisor,
            devices=DEVICES,
            wearings=[],
            points=[],
            events=[],
        )
    assert sorted(Device.objects.values_list("identifier", flat=True)) == [
        "hist-359339075000123-1",
        "hist-359339075000123-2",
    ]


def test_history_naming_a_device_it_does_not_describe_is_refused(
    make_participant: Callable[..., Participant], supervisor: User
) -> None:
    with pytest.raises(ValidationError, match="D1"):
        history_import(
            make_participant(),
            importer=supervisor,
            devices={},
            wearings=[],
            points=[_point(1)],
            events=[],
        )
    assert not Device.objects.exists()
    assert not Position.objects.exists()


def test_only_someone_who_may_change_the_case_imports_its_history(
    make_participant: Callable[..., Participant], make_user: Callable[..., User]
) -> None:
    with pytest.raises(PermissionDenied):
        history_import(
            make_participant(),
            importer=make_user(Role.OFFICER),
            devices=DEVICES,
            wearings=[],
            points=[],
            events=[],
        )
