"""Grace judged by the condition's own times: a backlog replayed after an outage (fixes hours
old, stored in a few seconds) must yield the alerts the live stream would have, and tell
staff only of those."""

import datetime as dt
from collections.abc import Callable

import pytest
from django.utils import timezone

from ontrack.accounts.models import Office, Role, User
from ontrack.alerts.models import Alert, AlertNotice, AlertStatus
from ontrack.alerts.notifications import notification_rule_create
from ontrack.alerts.queries import AlertFilter, alert_filter, alerts_visible_to
from ontrack.alerts.services import alert_raise, alerts_promote_due
from ontrack.participants.models import Participant
from ontrack.tracking.protocols.records import Fix
from ontrack.tracking.services import device_directory, store_batch
from ontrack.zones.services import ZoneData, zone_create

pytestmark = pytest.mark.django_db

IMEI = "359710049095412"
CENTRE = (40.75, -73.95)  # (lat, lon) of the exclusion zone
INSIDE = CENTRE
OUTSIDE = (40.70, -74.00)


@pytest.fixture
def wearer(
    worn_gt06: Callable[[str], Participant],
    officer: User,
    make_user: Callable[..., User],
    office: Office,
) -> Participant:
    participant = worn_gt06(IMEI)
    zone_create(
        actor=officer,
        participant=participant,
        data=ZoneData(
            name="Victim's street",
            kind="exclusion",
            geometry={"type": "Circle", "center": [CENTRE[1], CENTRE[0]], "radius_m": 300},
        ),
    )
    notification_rule_create(
        user=make_user(Role.ADMINISTRATOR, office=None),
        office=office,
        min_priority=1,
        channel="email",
        recipient="address",
        address="desk@example.org",
    )
    return participant


def _replay(start: dt.datetime, *steps: tuple[int, tuple[float, float]]) -> None:
    """One spooled batch arriving now: fixes ``minutes`` after ``start`` at ``place``."""
    info = device_directory()[IMEI]
    items = [
        (info, Fix(IMEI, start + dt.timedelta(minutes=m), lat, lon, accuracy_m=5.0))
        for m, (lat, lon) in steps
    ]
    store_batch(items, received_at=timezone.now())


def test_a_replayed_breach_that_cleared_within_grace_yields_no_alert_and_no_notice(
    wearer: Participant, officer: User
) -> None:
    start = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)
    _replay(start, (0, OUTSIDE), (1, INSIDE))
    # The grace watchdog fires between two batches of the replay: the wall clock says the
    # grace ended hours ago, but the clear may still be in the next batch.
    alerts_promote_due()
    _replay(start, (2, OUTSIDE), (3, OUTSIDE))
    alerts_promote_due(now=timezone.now() + dt.timedelta(hours=1))

    assert list(Alert.objects.values_list("status", flat=True)) == [AlertStatus.CANCELLED]
    assert not alert_filter(alerts_visible_to(officer), AlertFilter()).exists(), (
        "it never reaches the queue"
    )
    assert not AlertNotice.objects.exists(), "nobody is told of a breach within grace"


def test_a_replayed_breach_that_lasted_beyond_grace_yields_exactly_one_alert_and_one_notice(
    wearer: Participant, officer: User
) -> None:
    start = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)
    _replay(start, (0, OUTSIDE), (1, INSIDE))
    alerts_promote_due()
    _replay(start, (2, INSIDE), (4, INSIDE))  # still inside after the 2-minute grace
    queue = alert_filter(alerts_visible_to(officer), AlertFilter())
    assert list(queue.values_list("status", flat=True)) == ["open"]
    _replay(start, (6, OUTSIDE), (7, OUTSIDE))
    alerts_promote_due(now=timezone.now() + dt.timedelta(hours=1))

    alert = Alert.objects.get()
    assert alert.status == AlertStatus.AUTO_RESOLVED
    assert alert.occurred_at == start + dt.timedelta(minutes=1)
    assert alert.closed_at == start + dt.timedelta(minutes=6)
    assert AlertNotice.objects.filter(alert=alert).count() == 1


def test_a_replay_that_ends_within_the_breach_opens_it_once_the_clear_cannot_come(
    wearer: Participant, officer: User
) -> None:
    start = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)
    _replay(start, (0, OUTSIDE), (1, INSIDE))  # and then the device says nothing more
    received = timezone.now()
    assert alerts_promote_due(now=received + dt.timedelta(seconds=30)) == 0
    assert alerts_promote_due(now=received + dt.timedelta(minutes=3)) == 1
    assert AlertNotice.objects.count() == 1


def test_a_breach_replayed_in_one_batch_that_outlasted_grace_opens_and_resolves(
    wearer: Participant, officer: User
) -> None:
    start = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)
    _replay(start, (0, OUTSIDE), (1, INSIDE), (5, INSIDE), (6, OUTSIDE))
    alert = Alert.objects.get()
    assert [s.to_status for s in alert.steps.all()] == ["pending", "open", "auto_resolved"]
    assert AlertNotice.objects.count() == 1


def test_a_later_occurrence_past_grace_opens_a_backdated_alert(
    make_participant: Callable[..., Participant],
) -> None:
    p = make_participant()
    start = timezone.now() - dt.timedelta(hours=3)
    first = alert_raise(
        participant_id=p.pk, kind="low_battery", source="device:4", occurred_at=start
    )
    assert first is not None
    assert first.status == AlertStatus.PENDING
    again = alert_raise(
        participant_id=p.pk,
        kind="low_battery",
        source="device:4",
        occurred_at=start + dt.timedelta(minutes=45),
    )
    assert again is not None
    assert (again.pk, again.status) == (first.pk, AlertStatus.OPEN)
