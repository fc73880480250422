"""A participant with a real history, made through the services: a device worn and
reporting, alerts raised, promoted, acknowledged, resolved and cleared, a hearing, a text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import Role, User
from ontrack.accounts.services import office_create, program_get_or_create
from ontrack.alerts.services import (
    alert_acknowledge,
    alert_clear,
    alert_raise,
    alert_resolve,
    alerts_promote_due,
)
from ontrack.messaging.services import inbound_receive, message_queue
from ontrack.participants.models import Participant
from ontrack.participants.services import AddressData, PlanData, hearing_add
from ontrack.tracking.protocols.records import DeviceEvent, EventKind, Fix
from ontrack.tracking.services import device_assign, device_directory, device_register, store_batch
from ontrack.transfer.otrts.export import otrts_export
from tests.support import first_phone

FIX_COUNT = 6
PURPOSE = "Transfer to the receiving program"


def export_xml(participant: Participant, user: User) -> bytes:
    """The OTRTS export of ``participant`` by ``user`` (for ``PURPOSE``), read out whole."""
    with otrts_export(participant, user=user, purpose=PURPOSE) as content:
        return content.read()


@pytest.fixture
def supervisor(make_user: Callable[..., User]) -> User:
    return make_user(Role.SUPERVISOR, username="sam")


@pytest.fixture
def tracked(
    make_participant: Callable[..., Participant], officer: User, supervisor: User
) -> dict[str, Any]:
    device = device_register(
        actor=SYSTEM, identifier="359339075000123", kind="ankle", protocol="gt06"
    )
    participant = make_participant(
        plan=PlanData(
            level="intensive",
            review_date=timezone.localdate() + dt.timedelta(days=60),
            gps_device=True,
        ),
        email="maria@example.org",
        address=AddressData(line1="12 Broad St", city="Newark", region="NJ", postal_code="07102"),
    )
    now = timezone.now().replace(microsecond=250_000)
    device_assign(device, participant, actor=SYSTEM, at=now - dt.timedelta(hours=3))
    info = device_directory()[device.identifier]
    base = now - dt.timedelta(hours=2)
    items: list[Any] = [
        (
            info,
            Fix(
                device.identifier,
                base + dt.timedelta(minutes=m, microseconds=m * 1_001),
                40.7 + m * 0.000123456789,
                -74.0 - m * 0.000987654321,
                accuracy_m=None if m == 2 else 5.5 + m,
                speed_kmh=3.25 * m,
                course=float(10 * m),
                altitude_m=None if m == 3 else 12.5 * m,
                satellites=None if m == 4 else 5 + m,
            ),
        )
        for m in range(FIX_COUNT)
    ]
    items.append((info, DeviceEvent(device.identifier, base, EventKind.TAMPER, raw_code="0x03")))
    store_batch(items, received_at=now)
    raised = [
        alert_raise(
            participant_id=participant.pk,
            kind=kind,
            source=f"test:{kind}",
            occurred_at=base + dt.timedelta(minutes=i),
            device_id=device.pk,
            details={"note": f"seeded {kind}"},
            now=base + dt.timedelta(minutes=i),
        )
        for i, kind in enumerate(["low_battery", "sos", "gps_lost", "missed_checkin"])
    ]
    alerts_promote_due(now=now)
    pending = alert_raise(
        participant_id=participant.pk,
        kind="critical_battery",
        source="test:critical_battery",
        occurred_at=now,
        now=now,
    )
    assert pending is not None
    assert pending.status == "pending"
    ack, resolved, cleared, still_open = raised
    assert ack
    assert resolved
    assert cleared
    assert still_open
    alert_acknowledge(user=supervisor, alert_id=ack.pk, now=now - dt.timedelta(minutes=30))
    alert_resolve(
        user=supervisor,
        alert_id=resolved.pk,
        disposition="confirmed_violation",
        note="Pressed SOS to test; warned.",
        now=now - dt.timedelta(minutes=20),
    )
    alert_clear(
        participant_id=participant.pk,
        kind="gps_lost",
        source="test:gps_lost",
        cleared_at=now - dt.timedelta(minutes=10),
    )
    hearing_add(
        participant,
        actor=officer,
        scheduled_at=now + dt.timedelta(days=10),
        court="Newark Immigration Court",
        kind="master_calendar",
    )
    message_queue(
        participant=participant,
        template_key="appointment_reminder",
        context={"when": now + dt.timedelta(days=2), "place": "Newark office", "purpose": "visit"},
        purpose="reminder",
    )
    inbound_receive(
        provider="test",
        provider_message_id="SM-transfer-1",
        from_number=first_phone(participant),
        body="Running ten minutes late",
        received_at=now,
    )
    return {"participant": participant, "device": device, "base": base, "now": now}


@pytest.fixture
def target(make_user: Callable[..., User]) -> dict[str, Any]:
    """Another program, as if on the new provider's system, with its own office and staff."""
    program = program_get_or_create(name="County pretrial")
    office = office_create(program=program, name="Trenton", time_zone="America/New_York")
    admin = make_user(Role.ADMINISTRATOR, office=None, username="ada")
    officer = make_user(Role.OFFICER, office=office, username="tom")
    return {"program": program, "office": office, "admin": admin, "officer": officer}
