"""On call: the office's rota, the watchdog that texts the person on call about alerts left
unacknowledged, once each, and the "ACK <code>" reply that acknowledges as that person, only
from the number the page went to."""

import datetime as dt
import re
from collections.abc import Callable

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from pytest_django.fixtures import Settings

from ontrack.accounts.models import Office, Role, User
from ontrack.alerts.models import Alert, AlertStatus, OnCallPage, OnCallShift, Priority
from ontrack.alerts.on_call import (
    CODE_LIFETIME,
    MAX_WRONG_REPLIES,
    alerts_page_on_call,
    policy_set,
    shift_add,
)
from ontrack.alerts.services import (
    ImportedAlert,
    ImportedStep,
    alert_acknowledge,
    alert_raise,
    alerts_import_history,
)
from ontrack.messaging.models import InboundMessage, Message, Recipient
from ontrack.messaging.services import inbound_receive
from ontrack.participants.models import Participant
from ontrack.participants.services import phone_normalise

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
OLIVIA_PHONE = "+19735550101"
OTHER_PHONE = "+19735550199"
_sids = iter(range(1, 10_000))


@pytest.fixture(autouse=True)
def thirty_minutes(settings: Settings) -> None:
    settings.ONTRACK_ALERTS_ON_CALL_MINUTES = 30


@pytest.fixture
def supervisor(make_user: Callable[..., User]) -> User:
    boss = make_user(Role.SUPERVISOR)
    User.objects.filter(pk=boss.pk).update(phone="973-555-0102")
    boss.refresh_from_db()
    return boss


@pytest.fixture
def on_call(office: Office, officer: User, supervisor: User) -> OnCallShift:
    """The officer on call for the office all night, her mobile on her account."""
    User.objects.filter(pk=officer.pk).update(phone="(973) 555-0101")
    return shift_add(
        user=supervisor,
        office=office,
        person_id=officer.pk,
        starts_at=T0 - dt.timedelta(hours=1),
        ends_at=T0 + dt.timedelta(hours=8),
        now=T0 - dt.timedelta(hours=2),
    )


def _tamper(participant: Participant, at: dt.datetime = T0) -> Alert:
    alert = alert_raise(
        participant_id=participant.pk,
        kind="strap_tamper",
        source="device:1",
        occurred_at=at,
        now=at,
    )
    assert alert is not None
    assert alert.status == AlertStatus.OPEN
    return alert


def _pages() -> list[str]:
    return list(
        Message.objects.filter(recipient=Recipient.STAFF, cause__endswith="on call")
        .order_by("id")
        .values_list("body", flat=True)
    )


def _code(body: str) -> str:
    match = re.search(r"Reply ACK (\d{4}) to acknowledge", body)
    assert match, f"no reply code in {body!r}"
    return match.group(1)


def _text(from_number: str, body: str, at: dt.datetime) -> str:
    """Receive a text as the SMS webhook does; return the answer texted back to it."""
    inbound_receive(
        provider="twilio",
        provider_message_id=f"SM{next(_sids)}",
        from_number=from_number,
        body=body,
        received_at=at,
    )
    answer = (
        Message.objects.filter(
            to=phone_normalise(from_number), cause__startswith="reply to inbound"
        )
        .order_by("id")
        .last()
    )
    assert answer is not None, "every staff keyword text is answered"
    return answer.body


# --- the rota ------------------------------------------------------------------------------


def test_only_the_offices_supervisors_and_administrators_keep_the_rota(
    office: Office, officer: User
) -> None:
    with pytest.raises(PermissionDenied):
        shift_add(
            user=officer,
            office=office,
            person_id=officer.pk,
            starts_at=T0,
            ends_at=T0 + dt.timedelta(hours=8),
            now=T0,
        )


def test_overlapping_shifts_are_refused_so_one_person_is_on_call_at_a_time(
    on_call: OnCallShift, office: Office, supervisor: User
) -> None:
    with pytest.raises(ValidationError, match="on call for part of that time"):
        shift_add(
            user=supervisor,
            office=office,
            person_id=supervisor.pk,
            starts_at=on_call.ends_at - dt.timedelta(minutes=1),
            ends_at=on_call.ends_at + dt.timedelta(hours=8),
            now=T0,
        )
    follows = shift_add(
        user=supervisor,
        office=office,
        person_id=supervisor.pk,
        starts_at=on_call.ends_at,
        ends_at=on_call.ends_at + dt.timedelta(hours=8),
        now=T0,
    )
    assert follows.person == supervisor, "a shift may start when the last one ends"


def test_a_shift_names_staff_of_the_office_who_handle_alerts(
    office: Office,
    supervisor: User,
    make_office: Callable[..., Office],
    make_user: Callable[..., User],
) -> None:
    elsewhere = make_user(Role.OFFICER, office=make_office("Trenton"))
    auditor = make_user(Role.AUDITOR, office=office)
    for person in (elsewhere, auditor):
        with pytest.raises(ValidationError):
            shift_add(
                user=supervisor,
                office=office,
                person_id=person.pk,
                starts_at=T0,
                ends_at=T0 + dt.timedelta(hours=8),
                now=T0,
            )


# --- paging --------------------------------------------------------------------------------


def test_an_alert_left_unacknowledged_past_the_escalation_time_is_texted_once_to_the_person_on_call(
    on_call: OnCallShift, make_participant: Callable[..., Participant]
) -> None:
    participant = make_participant()
    alert = _tamper(participant)
    assert alerts_page_on_call(now=T0 + dt.timedelta(minutes=29)) == 0, "not yet"
    assert alerts_page_on_call(now=T0 + dt.timedelta(minutes=30)) == 1
    assert alerts_page_on_call(now=T0 + dt.timedelta(minutes=31)) == 0, "once per alert"
    (page,) = Message.objects.filter(cause__endswith="on call")
    assert page.to == OLIVIA_PHONE
    assert page.body.startswith("Critical alert not acknowledged: Strap tamper.")
    assert participant.case_number in page.body
    assert participant.family_name not in page.body, "a text never names the person"
    assert f"/alerts/{alert.pk}/" in page.body
    kept = OnCallPage.objects.get().code_hash
    assert len(kept) == 64, "the code is kept as a keyed hash"
    assert kept != _code(page.body)


def test_acknowledged_low_priority_or_unseen_alerts_and_offices_without_a_shift_are_not_paged(
    on_call: OnCallShift,
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    make_office: Callable[..., Office],
    officer: User,
) -> None:
    acknowledged = _tamper(make_participant())
    alert_acknowledge(user=officer, alert_id=acknowledged.pk, now=T0 + dt.timedelta(minutes=1))
    low = alert_raise(
        participant_id=make_participant().pk,
        kind="charger_not_connected",
        source="device:2",
        occurred_at=T0,
        now=T0,
    )
    assert low is not None
    assert low.priority == Priority.LOW
    colleague = make_user(Role.OFFICER)
    _tamper(make_participant(officer=colleague))  # not in the on-call officer's caseload
    other_office = make_office("Trenton")
    _tamper(make_participant(officer=make_user(Role.OFFICER, office=other_office)))
    assert alerts_page_on_call(now=T0 + dt.timedelta(hours=1)) == 0
    assert _pages() == []


def test_an_open_alert_imported_from_another_system_is_history_and_pages_nobody(
    on_call: OnCallShift, supervisor: User, make_participant: Callable[..., Participant]
) -> None:
    imported = ImportedAlert(
        kind="sos", source="device:9", priority=Priority.CRITICAL, status=AlertStatus.OPEN,
        occurred_at=T0, raised_at=T0, visible_at=None, last_occurred_at=None,
        acknowledged_at=None, closed_at=None, occurrences=1, disposition="",
        resolution_note="", resolved_by="", resolver_office="", details={},
        steps=(ImportedStep(T0, "", AlertStatus.OPEN, "", ""),),
    )  # fmt: skip
    alerts_import_history(make_participant(), [imported], importer=supervisor, source_system="Old")
    assert alerts_page_on_call(now=T0 + dt.timedelta(hours=1)) == 0


def test_an_offices_own_policy_sets_the_time_and_the_lowest_priority(
    on_call: OnCallShift,
    office: Office,
    supervisor: User,
    make_participant: Callable[..., Participant],
) -> None:
    policy_set(user=supervisor, office=office, escalate_after_minutes=5, min_priority=Priority.LOW)
    alert_raise(
        participant_id=make_participant().pk,
        kind="charger_not_connected",
        source="device:2",
        occurred_at=T0,
        now=T0,
    )
    assert alerts_page_on_call(now=T0 + dt.timedelta(minutes=5)) == 1


# --- the reply -----------------------------------------------------------------------------


def test_a_reply_with_the_code_from_the_paged_phone_acknowledges_as_the_person_on_call(
    on_call: OnCallShift, officer: User, make_participant: Callable[..., Participant]
) -> None:
    alert = _tamper(make_participant())
    alerts_page_on_call(now=T0 + dt.timedelta(minutes=30))
    (page,) = _pages()
    at = T0 + dt.timedelta(minutes=34)
    answer = _text("(973) 555-0101", f"ack {_code(page)}", at)
    assert answer.startswith("Acknowledged.")
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED
    assert alert.acknowledged_at == at
    step = alert.steps.last()
    assert step is not None
    assert (step.actor, step.from_status, step.to_status, step.at) == (
        officer,
        "open",
        "acknowledged",
        at,
    )
    inbound = InboundMessage.objects.get()
    assert inbound.participant is None
    assert not inbound.needs_answer, "a staff keyword text waits in nobody's inbox"


def test_the_alert_page_says_who_was_texted_on_call_and_that_they_replied(
    on_call: OnCallShift,
    officer: User,
    make_participant: Callable[..., Participant],
    client_for: Callable[[User], Client],
) -> None:
    alert = _tamper(make_participant())
    alerts_page_on_call(now=T0 + dt.timedelta(minutes=30))
    _text(OLIVIA_PHONE, f"ACK {_code(_pages()[0])}", T0 + dt.timedelta(minutes=34))
    page = client_for(officer).get(f"/alerts/{alert.pk}/").content.decode()
    assert (
        f"Texted to {officer}, on call, at 2026-11-19 22:30 EST; acknowledged by their reply "
        "at 2026-11-19 22:34 EST." in page
    )
    assert "acknowledged by text, answering the on-call page" in page, "the step says how"


def test_a_reply_from_another_number_an_unknown_or_expired_code_changes_nothing(
    on_call: OnCallShift, make_participant: Callable[..., Participant]
) -> None:
    alert = _tamper(make_participant())
    alerts_page_on_call(now=T0 + dt.timedelta(minutes=30))
    code = _code(_pages()[0])
    later = T0 + dt.timedelta(minutes=40)
    assert "not a code sent to this phone" in _text(OTHER_PHONE, f"ACK {code}", later)
    wrong = f"{(int(code) + 1) % 10_000:04d}"
    assert "not a code sent to this phone" in _text(OLIVIA_PHONE, f"ACK {wrong}", later)
    expired = T0 + dt.timedelta(minutes=30) + CODE_LIFETIME
    assert "or it has expired" in _text(OLIVIA_PHONE, f"ACK {code}", expired)
    assert "Reply ACK and the code" in _text(OLIVIA_PHONE, "ACK", later)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN
    assert alert.steps.count() == 1, "nothing but its raise"


def test_after_five_wrong_codes_from_a_number_its_pages_acknowledge_nothing_by_text(
    on_call: OnCallShift, make_participant: Callable[..., Participant]
) -> None:
    _tamper(make_participant())
    alerts_page_on_call(now=T0 + dt.timedelta(minutes=30))
    code = _code(_pages()[0])
    later = T0 + dt.timedelta(minutes=40)
    wrong = [f"{(int(code) + n) % 10_000:04d}" for n in range(1, MAX_WRONG_REPLIES + 1)]
    for guess in wrong:
        _text(OLIVIA_PHONE, f"ACK {guess}", later)
    assert "Too many wrong codes" in _text(OLIVIA_PHONE, f"ACK {code}", later)
    assert Alert.objects.get().status == AlertStatus.OPEN


def test_a_reply_for_an_alert_someone_already_handled_says_so(
    on_call: OnCallShift, supervisor: User, make_participant: Callable[..., Participant]
) -> None:
    alert = _tamper(make_participant())
    alerts_page_on_call(now=T0 + dt.timedelta(minutes=30))
    alert_acknowledge(user=supervisor, alert_id=alert.pk, now=T0 + dt.timedelta(minutes=31))
    answer = _text(OLIVIA_PHONE, f"ACK {_code(_pages()[0])}", T0 + dt.timedelta(minutes=32))
    case = alert.participant.case_number
    assert answer == f"Not acknowledged. The alert of case {case} is acknowledged already."
    step = Alert.objects.get().steps.last()
    assert step is not None
    assert step.actor == supervisor


def test_a_participant_texting_ack_reaches_their_officers_inbox_not_the_alerts(
    on_call: OnCallShift, make_participant: Callable[..., Participant]
) -> None:
    participant = make_participant()
    _tamper(participant)
    alerts_page_on_call(now=T0 + dt.timedelta(minutes=30))
    inbound_receive(
        provider="twilio",
        provider_message_id="SM-p",
        from_number="(973) 555-0142",
        body=f"ACK {_code(_pages()[0])}",
        received_at=T0 + dt.timedelta(minutes=31),
    )
    assert InboundMessage.objects.get().needs_answer
    assert Alert.objects.get().status == AlertStatus.OPEN


# --- the page ------------------------------------------------------------------------------


def test_the_rota_page_adds_a_shift_in_the_offices_zone_and_refuses_officers(
    office: Office,
    officer: User,
    supervisor: User,
    client_for: Callable[[User], Client],
) -> None:
    url = f"/alerts/on-call/office/{office.pk}/"
    assert client_for(officer).get(url).status_code == 403
    client = client_for(supervisor)
    added = client.post(
        url,
        {"person": officer.pk, "starts_at": "2030-01-10T22:00", "ends_at": "2030-01-11T07:00"},
    )
    assert added.status_code == 302, added.content.decode()[-2000:]
    shift = OnCallShift.objects.get()
    assert shift.starts_at == dt.datetime(2030, 1, 11, 3, 0, tzinfo=dt.UTC), "22:00 EST"
    page = client.get(url).content.decode()
    assert "2030-01-10 22:00 EST" in page
    assert re.search(r"Times are in Eastern Time \(E[SD]T\)", page), "the zone in words"
    assert "America/New_York" not in page
    assert "has no mobile phone number" in page, "a person who cannot be texted is flagged"
    removed = client.post(f"/alerts/on-call/{shift.pk}/remove/")
    assert removed.status_code == 302
    assert not OnCallShift.objects.exists()


def test_the_rota_is_in_the_navigation_of_those_who_keep_it(
    make_user: Callable[..., User],
    officer: User,
    supervisor: User,
    client_for: Callable[[User], Client],
) -> None:
    link = 'href="/alerts/on-call/"'
    for keeper in (supervisor, make_user(Role.ADMINISTRATOR)):
        home = client_for(keeper).get("/alerts/")
        assert link in home.content.decode(), f"{keeper.role} keeps the rota"
        assert client_for(keeper).get("/alerts/on-call/").status_code == 302
    for other in (officer, make_user(Role.OPERATOR)):
        assert link not in client_for(other).get("/alerts/").content.decode()


def test_the_rota_page_sets_the_offices_escalation_time(
    office: Office, supervisor: User, client_for: Callable[[User], Client]
) -> None:
    url = f"/alerts/on-call/office/{office.pk}/"
    client = client_for(supervisor)
    assert "after 30 minutes" in client.get(url).content.decode()
    saved = client.post(url, {"escalate_after_minutes": "10", "min_priority": "2", "policy": "1"})
    assert saved.status_code == 302
    assert "after 10 minutes" in client.get(url).content.decode()
