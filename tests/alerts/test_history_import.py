"""Alerts imported with another system's record: history, attributed to their original
resolver, never notifying anyone."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from ontrack.accounts.models import Office, Role, User
from ontrack.alerts.models import Alert, AlertStatus, AlertStep, Disposition
from ontrack.alerts.notifications import notification_rule_create
from ontrack.alerts.services import ImportedAlert, ImportedStep, alerts_import_history
from ontrack.messaging.models import Message
from ontrack.participants.models import Participant

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)

RESOLVED = ImportedAlert(
    kind="sos",
    source="device:9",
    priority=4,
    status=AlertStatus.RESOLVED,
    occurred_at=T0,
    raised_at=T0,
    visible_at=None,
    last_occurred_at=None,
    acknowledged_at=T0 + dt.timedelta(minutes=5),
    closed_at=T0 + dt.timedelta(minutes=30),
    occurrences=2,
    disposition=Disposition.CONFIRMED_VIOLATION,
    resolution_note="Pressed SOS to test; warned.",
    resolved_by="J. Smith",
    resolver_office="Camden",
    details={"note": "from the old system"},
    steps=(
        ImportedStep(T0, "", AlertStatus.OPEN, "", ""),
        ImportedStep(
            T0 + dt.timedelta(minutes=30),
            AlertStatus.OPEN,
            AlertStatus.RESOLVED,
            "Pressed SOS to test; warned.",
            "J. Smith",
        ),
    ),
)


@pytest.fixture
def supervisor(make_user: Callable[..., User]) -> User:
    return make_user(Role.SUPERVISOR)


def test_a_resolution_stays_its_resolvers_and_records_the_import(
    make_participant: Callable[..., Participant], supervisor: User
) -> None:
    p = make_participant()
    [alert] = alerts_import_history(p, [RESOLVED], importer=supervisor, source_system="Old")
    alert.refresh_from_db()
    assert alert.resolved_by is None, "the importer resolved nothing"
    assert (alert.resolved_by_name, alert.resolved_by_office) == ("J. Smith", "Camden")
    assert alert.resolution_imported_by == supervisor
    assert alert.details["imported_from"] == {
        "system": "Old",
        "resolved_by": "J. Smith",
        "step_actors": ["", "J. Smith"],
    }
    assert (alert.visible_at, alert.last_occurred_at) == (T0, T0)
    assert AlertStep.objects.filter(alert=alert).count() == 2


def test_a_pending_alert_arrives_open_and_notifies_nobody(
    make_participant: Callable[..., Participant], supervisor: User, office: Office
) -> None:
    notification_rule_create(
        user=supervisor,
        office=office,
        min_priority=1,
        channel="email",
        recipient="address",
        address="duty@example.org",
    )
    pending = dataclasses.replace(
        RESOLVED,
        status=AlertStatus.PENDING,
        closed_at=None,
        disposition="",
        resolution_note="",
        resolved_by="",
        steps=(),
    )
    [alert] = alerts_import_history(
        make_participant(), [pending], importer=supervisor, source_system=""
    )
    assert alert.status == AlertStatus.OPEN
    assert alert.details["imported_from"] == {"system": "unknown", "status": "pending"}
    assert alert.resolution_imported_at is None
    assert not Message.objects.exists()


def test_a_confirmed_violation_without_a_named_resolver_is_refused(
    make_participant: Callable[..., Participant], supervisor: User
) -> None:
    nameless = dataclasses.replace(RESOLVED, resolved_by=" ")
    with pytest.raises(ValidationError, match="resolver"):
        alerts_import_history(make_participant(), [nameless], importer=supervisor, source_system="")
    assert not Alert.objects.exists()


def test_a_second_open_alert_for_one_condition_is_refused(
    make_participant: Callable[..., Participant], supervisor: User
) -> None:
    open_ = dataclasses.replace(
        RESOLVED, status=AlertStatus.OPEN, disposition="", resolved_by="", closed_at=None
    )
    with pytest.raises(ValidationError, match="second open"):
        alerts_import_history(
            make_participant(), [open_, open_], importer=supervisor, source_system=""
        )
    assert not Alert.objects.exists()


def test_only_someone_who_may_change_the_case_imports_its_alerts(
    make_participant: Callable[..., Participant], make_user: Callable[..., User]
) -> None:
    stranger = make_user(Role.OFFICER)
    with pytest.raises(PermissionDenied):
        alerts_import_history(make_participant(), [RESOLVED], importer=stranger, source_system="")
