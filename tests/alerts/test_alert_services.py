import datetime as dt
from collections.abc import Callable

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from ontrack.accounts.models import Role, User
from ontrack.alerts.models import Alert, AlertStatus, Priority
from ontrack.alerts.services import (
    alert_acknowledge,
    alert_clear,
    alert_raise,
    alert_resolve,
    alerts_promote_due,
)
from ontrack.participants.models import Participant

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 20, 22, 0, tzinfo=dt.UTC)


def _raise(
    p: Participant,
    kind: str = "exclusion_zone_entry",
    source: str = "zone:1",
    at: dt.datetime = T0,
    now: dt.datetime | None = None,
) -> Alert:
    alert = alert_raise(
        participant_id=p.pk, kind=kind, source=source, occurred_at=at, now=now or at
    )
    assert alert is not None, "the alert's rule is enabled"
    return alert


def test_raising_the_same_condition_again_counts_an_occurrence_not_a_second_alert(
    make_participant: Callable[..., Participant],
) -> None:
    p = make_participant()
    first = _raise(p)
    again = _raise(p, at=T0 + dt.timedelta(seconds=30))
    assert again.pk == first.pk
    assert Alert.objects.get().occurrences == 2


def test_a_condition_cleared_within_grace_is_cancelled_and_never_opens(
    make_participant: Callable[..., Participant],
) -> None:
    p = make_participant()
    alert = _raise(p)
    assert alert.status == AlertStatus.PENDING
    alert_clear(
        participant_id=p.pk,
        kind=alert.kind,
        source="zone:1",
        cleared_at=T0 + dt.timedelta(minutes=1),
    )
    assert alerts_promote_due(now=T0 + dt.timedelta(hours=1)) == 0
    assert Alert.objects.get().status == AlertStatus.CANCELLED


def test_grace_passing_opens_the_alert_and_clearing_then_auto_resolves(
    make_participant: Callable[..., Participant],
) -> None:
    p = make_participant()
    alert = _raise(p)
    assert alerts_promote_due(now=T0 + dt.timedelta(minutes=3)) == 1
    alert_clear(
        participant_id=p.pk,
        kind=alert.kind,
        source="zone:1",
        cleared_at=T0 + dt.timedelta(minutes=9),
    )
    alert.refresh_from_db()
    assert alert.status == AlertStatus.AUTO_RESOLVED
    assert [s.to_status for s in alert.steps.all()] == ["pending", "open", "auto_resolved"]


def test_a_second_and_third_occurrence_within_the_window_escalate(
    make_participant: Callable[..., Participant],
) -> None:
    p = make_participant()
    priorities = []
    for day in range(3):
        at = T0 + dt.timedelta(days=day)
        alert = _raise(
            p, kind="low_battery", source="device:9", at=at, now=at + dt.timedelta(hours=1)
        )
        priorities.append(alert.priority)
        alert_clear(
            participant_id=p.pk,
            kind="low_battery",
            source="device:9",
            cleared_at=at + dt.timedelta(hours=2),
        )
    assert priorities == [Priority.LOW, Priority.MEDIUM, Priority.HIGH]


def test_resolving_needs_a_note_and_records_the_person(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    p = make_participant()
    alert = _raise(p, kind="strap_tamper", source="device:3")
    assert alert.status == AlertStatus.OPEN
    with pytest.raises(ValidationError):
        alert_resolve(user=officer, alert_id=alert.pk, disposition="confirmed_violation", note=" ")
    alert_acknowledge(user=officer, alert_id=alert.pk, now=T0 + dt.timedelta(minutes=4))
    resolved = alert_resolve(
        user=officer,
        alert_id=alert.pk,
        disposition="confirmed_violation",
        note="Strap cut; spoke to her.",
    )
    assert (resolved.status, resolved.resolved_by, resolved.acknowledged_at) == (
        AlertStatus.RESOLVED,
        officer,
        T0 + dt.timedelta(minutes=4),
    )


def test_an_officer_cannot_handle_another_caseloads_alert(
    make_participant: Callable[..., Participant], make_user: Callable[..., User]
) -> None:
    p = make_participant()
    alert = _raise(p, kind="sos", source="device:5", now=timezone.now())
    other = make_user(Role.OFFICER)
    with pytest.raises(PermissionDenied):
        alert_acknowledge(user=other, alert_id=alert.pk)
