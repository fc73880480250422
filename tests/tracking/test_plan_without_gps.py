"""Taking GPS out of a participant's plan (through the console's plan page) ends the device's
assignment at the change, puts the device in "awaiting return", opens a retrieval task for
the officer, says so on the participant page, and what the device sends afterwards (real
frames over a real socket) is no longer the person's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from ontrack.accounts.models import Role, User
from ontrack.participants.models import Participant
from ontrack.schedule.models import Task, TaskStatus
from ontrack.tracking.models import Device, DeviceAssignment, DeviceStatus, Position
from ontrack.tracking.protocols import gt06
from ontrack.tracking.queries import participant_positions
from tests.tracking.gateway_helpers import connect, eventually, receive_exactly, running_gateway

pytestmark = pytest.mark.django_db(transaction=True)

IMEI = "359710049098001"


def _drop_gps(client: Any, participant: Participant) -> None:
    review = (timezone.localdate() + dt.timedelta(days=60)).isoformat()
    response = client.post(
        f"/participants/{participant.pk}/plan/",
        {
            "level": "standard",
            "app_checkins": "on",
            "office_visits": "on",
            "review_date": review,
            "reason": "Stepped down after 90 days of compliance",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]


def test_dropping_gps_from_the_plan_ends_the_assignment_and_asks_the_officer_to_retrieve_it(
    worn_gt06: Callable[[str], Participant], officer: User, client_for: Callable[[User], Client]
) -> None:
    participant = worn_gt06(IMEI)
    client = client_for(officer)

    _drop_gps(client, participant)

    device = Device.objects.get(identifier=IMEI)
    assert device.status == DeviceStatus.AWAITING_RETURN
    assignment = DeviceAssignment.objects.get(device=device)
    plan = participant.plans.get(effective_to__isnull=True)
    assert assignment.ended_at == plan.effective_from, "the assignment ends at the change"
    task = Task.objects.get(participant=participant, status=TaskStatus.OPEN)
    assert task.kind == "device_retrieval"
    assert IMEI in task.summary
    assert IMEI in client.get("/schedule/tasks/").content.decode(), "on the officer's list"
    page = client.get(f"/participants/{participant.pk}/").content.decode()
    assert "awaiting return" in page.lower()
    assert "no longer recorded against" in page


def test_a_fix_the_device_sends_after_the_change_is_not_the_persons(
    tmp_path: Path,
    worn_gt06: Callable[[str], Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = worn_gt06(IMEI)
    _drop_gps(client_for(officer), participant)
    now = timezone.now().replace(microsecond=0) + dt.timedelta(seconds=1)  # after the change

    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["gt06"])
        sock.sendall(gt06.encode_frame(gt06.MSG_LOGIN, bytes.fromhex("0" + IMEI), 1))
        receive_exactly(sock, 10)
        sock.sendall(gt06.encode_gps_lbs(time=now, lat=40.7128, lon=-74.006, serial=2))
        assert eventually(lambda: Position.objects.filter(device__identifier=IMEI).exists())
        sock.close()

    assert list(Position.objects.values_list("participant_id", flat=True)) == [None]
    assert not participant_positions(participant).exists(), "not on the person's track"


def test_a_device_awaiting_return_goes_back_to_stock_when_it_is_handed_in(
    worn_gt06: Callable[[str], Participant],
    officer: User,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    supervisor = make_user(Role.SUPERVISOR)
    participant = worn_gt06(IMEI)
    _drop_gps(client_for(officer), participant)
    device = Device.objects.get(identifier=IMEI)

    response = client_for(supervisor).post(f"/tracking/devices/{device.pk}/returned/")

    assert response.status_code == 302
    device.refresh_from_db()
    assert device.status == DeviceStatus.IN_STOCK
    task = Task.objects.get(participant=participant)
    assert task.status == TaskStatus.DONE, "the retrieval task is done once it is back"
