"""The caseload list's signals (``participants.caseload_signals``): each app's part, folded
per person, read for the page's rows only in a number of queries that does not grow with the
page; and the page that shows them, to its reader's scope only, with words for what is empty."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ontrack.accounts.models import User
from ontrack.accounts.templatetags.office_time import office_time
from ontrack.alerts.models import Alert, AlertStatus, Priority
from ontrack.alerts.services import alerts_promote_due
from ontrack.messaging.services import inbound_receive
from ontrack.participants.caseload_signals import CaseloadSignals, Dated, caseload_signals
from ontrack.participants.models import Hearing, Participant
from ontrack.schedule.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    AppointmentType,
    Checkin,
    CheckinWindow,
    Outcome,
)
from ontrack.tracking.protocols.records import Fix
from ontrack.tracking.services import device_directory, store_batch
from tests.support import first_phone, raised_alert, sqlite_plans

pytestmark = pytest.mark.django_db

# Outcomes of windows opened in the last 30 days: 3 met of 4 judged (75 %); the excused,
# the technical failure and the window still due are not judged, as on the dashboard.
RECENT_OUTCOMES = [
    Outcome.ON_TIME,
    Outcome.ON_TIME,
    Outcome.LATE,
    Outcome.MISSED,
    Outcome.EXCUSED,
    Outcome.TECHNICAL_FAILURE,
]


def _windows(participant: Participant, now: dt.datetime) -> None:
    """The recent windows above, one a day; one older than 30 days (missed, not counted);
    and one opening tomorrow (the next check-in)."""
    for days, outcome in [*enumerate(RECENT_OUTCOMES, start=1), (31, Outcome.MISSED)]:
        opens = now - dt.timedelta(days=days)
        CheckinWindow.objects.create(
            participant=participant,
            local_date=opens.date(),
            opens_at=opens,
            closes_at=opens + dt.timedelta(hours=2),
            outcome=outcome,
            excused_reason="Hospital stay" if outcome == Outcome.EXCUSED else "",
        )
    CheckinWindow.objects.create(
        participant=participant,
        local_date=(now + dt.timedelta(days=1)).date(),
        opens_at=now + dt.timedelta(days=1),
        closes_at=now + dt.timedelta(days=1, hours=2),
    )


def _open_alerts(participant: Participant, now: dt.datetime) -> list[Alert]:
    """Two alerts in the queue and one resolved (not counted)."""
    for kind in ("strap_tamper", "low_battery", "missed_checkin"):
        raised_alert(
            participant_id=participant.pk,
            kind=kind,
            source="test",
            occurred_at=now - dt.timedelta(hours=2),
            now=now - dt.timedelta(hours=2),
        )
    alerts_promote_due(now=now)
    alerts = list(Alert.objects.filter(participant=participant).order_by("pk"))
    Alert.objects.filter(pk=alerts[-1].pk).update(status=AlertStatus.RESOLVED)
    return alerts[:2]


def _fix(participant: Participant, at: dt.datetime, battery: int) -> None:
    device = participant.device_assignments.get().device
    info = device_directory()[device.identifier]
    fix = Fix(device.identifier, at, 40.7357, -74.1724, accuracy_m=10.0, battery_pct=battery)
    store_batch([(info, fix)], received_at=at)


def _everything(participant: Participant, now: dt.datetime) -> None:
    """One of each signal: alerts, a fix 4 hours ago (stale), a text 3 hours ago (the last
    contact), a check-in 5 hours ago, windows, an appointment and a hearing (later than the
    next check-in)."""
    _open_alerts(participant, now)
    _fix(participant, now - dt.timedelta(hours=4), battery=15)
    inbound_receive(
        provider="test",
        provider_message_id=f"SM-{participant.pk}",
        from_number=first_phone(participant),
        body="On my way",
        received_at=now - dt.timedelta(hours=3),
    )
    Checkin.objects.create(
        participant=participant,
        client_ref=f"sig-{participant.pk}",
        reference=f"SIG{participant.pk:05d}",
        outcome=Outcome.ON_TIME,
        attempted_at=now - dt.timedelta(hours=5),
        received_at=now - dt.timedelta(hours=5),
    )
    _windows(participant, now)
    Appointment.objects.create(
        participant=participant,
        office=participant.office,
        kind=AppointmentKind.HOME_VISIT,
        type=AppointmentType.ROUTINE_CHECKIN,
        starts_at=now + dt.timedelta(days=3),
        ends_at=now + dt.timedelta(days=3, hours=1),
        status=AppointmentStatus.BOOKED,
        created_at=now,
    )
    Hearing.objects.create(
        participant=participant,
        scheduled_at=now + dt.timedelta(days=10),
        time_zone="America/New_York",
        court="Newark Immigration Court",
        kind="master_calendar",
    )


def test_a_wearers_signals_count_open_alerts_latest_contact_soonest_obligation_and_compliance(
    worn_gt06: Callable[[str], Participant],
) -> None:
    now = timezone.now()
    participant = worn_gt06("359710000000101")
    queued = _open_alerts(participant, now)
    _fix(participant, now - dt.timedelta(hours=4), battery=15)
    inbound_receive(
        provider="test",
        provider_message_id="SM-sig-1",
        from_number=first_phone(participant),
        body="On my way",
        received_at=now - dt.timedelta(hours=3),
    )
    _windows(participant, now)

    signals = caseload_signals([participant.pk], now)[participant.pk]

    top = max(a.priority for a in queued)
    assert (signals.open_alerts, signals.top_priority) == (2, top)
    assert signals.top_priority_label == Priority(top).label
    assert signals.last_contact == Dated(now - dt.timedelta(hours=3), "text")
    assert signals.next_obligation == Dated(now + dt.timedelta(days=1), "check-in")
    assert (signals.windows_met, signals.windows_judged, signals.compliance_pct) == (3, 4, 75)
    assert signals.device is not None
    assert signals.device.battery_pct == 15
    assert signals.device.last_fix_at == now - dt.timedelta(hours=4)
    assert signals.device.stale, "no fix for 4 hours is past the 30-minute threshold"


def test_a_device_fix_later_than_anything_else_is_the_last_contact(
    worn_gt06: Callable[[str], Participant],
) -> None:
    now = timezone.now()
    participant = worn_gt06("359710000000102")
    _fix(participant, now - dt.timedelta(minutes=5), battery=80)

    signals = caseload_signals([participant.pk], now)[participant.pk]

    assert signals.last_contact == Dated(now - dt.timedelta(minutes=5), "device fix")
    assert signals.device is not None
    assert not signals.device.stale


def test_an_attended_appointment_is_a_contact_and_a_sooner_hearing_the_next_obligation(
    make_participant: Callable[..., Participant],
) -> None:
    now = timezone.now()
    participant = make_participant()
    _windows(participant, now)  # the next check-in opens tomorrow
    Appointment.objects.create(
        participant=participant,
        office=participant.office,
        kind=AppointmentKind.HOME_VISIT,
        type=AppointmentType.ROUTINE_CHECKIN,
        starts_at=now - dt.timedelta(hours=6),
        ends_at=now - dt.timedelta(hours=5),
        status=AppointmentStatus.ATTENDED,
        created_at=now - dt.timedelta(days=2),
    )
    Hearing.objects.create(
        participant=participant,
        scheduled_at=now + dt.timedelta(hours=20),
        time_zone="America/New_York",
        court="Newark Immigration Court",
        kind="master_calendar",
    )

    signals = caseload_signals([participant.pk], now)[participant.pk]

    assert signals.last_contact == Dated(now - dt.timedelta(hours=6), "appointment")
    assert signals.next_obligation == Dated(now + dt.timedelta(hours=20), "hearing")


def test_a_person_with_nothing_recorded_has_empty_signals(
    make_participant: Callable[..., Participant],
) -> None:
    participant = make_participant()
    assert caseload_signals([participant.pk], timezone.now()) == {participant.pk: CaseloadSignals()}
    assert CaseloadSignals().compliance_pct is None


def test_the_signals_cost_the_same_queries_for_one_person_as_for_many(
    worn_gt06: Callable[[str], Participant],
) -> None:
    now = timezone.now()
    people = [worn_gt06(f"3597100000002{n:02d}") for n in range(5)]
    for person in people:
        _everything(person, now)

    with CaptureQueriesContext(connection) as one:
        caseload_signals([people[0].pk], now)
    with CaptureQueriesContext(connection) as many:
        signals = caseload_signals([p.pk for p in people], now)

    assert len(many) == len(one), "a query per person crept in"
    assert all(s.open_alerts == 2 and s.device is not None for s in signals.values())


def test_the_compliance_count_reads_the_listed_peoples_windows_only(
    make_participant: Callable[..., Participant],
) -> None:
    """Not every window ever judged through the outcome index, as it did with the outcomes
    in its WHERE: 4 s a caseload page at 100,000 participants on SQLite (bench/pages.py)."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's choice of index; PostgreSQL chooses by its statistics")
    participant = make_participant()
    now = timezone.now()
    _windows(participant, now)
    page = [participant.pk, *range(participant.pk + 1, participant.pk + 50)]  # 50 ids a page

    with CaptureQueriesContext(connection) as queries:
        signals = caseload_signals(page, now)[participant.pk]

    (plan,) = sqlite_plans(queries, 'COUNT("schedule_checkinwindow"."id")')
    assert "(participant_id=? AND opens_at>? AND opens_at<?)" in plan, plan
    assert (signals.windows_met, signals.windows_judged) == (3, 4)


def _caseload_html(client: Client) -> str:
    response = client.get("/participants/")
    assert response.status_code == 200
    return response.content.decode()


def _cell(page: str, label: str) -> list[str]:
    """The text of every cell of the column ``label``, tags stripped."""
    cells = re.findall(rf'<td data-label="{label}"[^>]*>(.*?)</td>', page, re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells]


def test_the_caseload_shows_each_signal_in_words_in_the_offices_zone(
    worn_gt06: Callable[[str], Participant],
    client_for: Callable[[User], Client],
    officer: User,
) -> None:
    now = timezone.now()
    participant = worn_gt06("359710000000301")
    _everything(participant, now)

    page = _caseload_html(client_for(officer))

    (alerts,) = _cell(page, "Open alerts")
    assert alerts.startswith("2 open highest ")
    zone = participant.office.time_zone
    assert _cell(page, "Last contact") == [f"{office_time(now - dt.timedelta(hours=3), zone)} text"]
    next_checkin = office_time(now + dt.timedelta(days=1), zone)
    assert _cell(page, "Next obligation") == [f"{next_checkin} check-in"]
    assert _cell(page, "30-day check-ins") == ["75 % 3 of 4"]
    assert _cell(page, "Device") == ["battery 15 % no fix for 4 hours"]


def test_a_person_with_nothing_recorded_reads_none_and_dashes(
    make_participant: Callable[..., Participant],
    client_for: Callable[[User], Client],
    officer: User,
) -> None:
    make_participant()

    page = _caseload_html(client_for(officer))

    assert _cell(page, "Open alerts") == ["none"]
    assert _cell(page, "Last contact") == ["none recorded"]
    assert _cell(page, "Next obligation") == ["none scheduled"]
    assert _cell(page, "30-day check-ins") == ["—"]
    assert _cell(page, "Device") == ["—"]


def test_a_page_of_many_people_costs_the_same_queries_as_a_page_of_one(
    worn_gt06: Callable[[str], Participant],
    client_for: Callable[[User], Client],
    officer: User,
) -> None:
    now = timezone.now()
    client = client_for(officer)
    _everything(worn_gt06("359710000000401"), now)
    _caseload_html(client)  # the session and the first-request reads out of the way
    with CaptureQueriesContext(connection) as one:
        _caseload_html(client)
    for n in range(4):
        _everything(worn_gt06(f"3597100000004{n + 2:02d}"), now)
    with CaptureQueriesContext(connection) as five:
        page = _caseload_html(client)

    assert len(_cell(page, "Device")) == 5
    assert len(five) == len(one), "a query per row crept into the caseload page"


def test_people_out_of_the_readers_scope_never_appear_with_their_signals(
    worn_gt06: Callable[[str], Participant],
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    officer: User,
) -> None:
    now = timezone.now()
    elsewhere = worn_gt06("359710000000501")
    colleague = make_user(username="colleague")
    Participant.objects.filter(pk=elsewhere.pk).update(officer=colleague)
    _everything(elsewhere, now)
    mine = make_participant(family_name="Mine")

    page = _caseload_html(client_for(officer))

    assert f"/participants/{mine.pk}/" in page
    assert f"/participants/{elsewhere.pk}/" not in page
    assert elsewhere.family_name not in page
    assert _cell(page, "Open alerts") == ["none"]
    assert _cell(page, "Device") == ["—"]
