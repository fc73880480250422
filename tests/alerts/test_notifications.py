"""Staff notifications: per office and priority, written to messaging's outbox when an alert
becomes visible, never twice to one address for one alert; and the page that sets them."""

import datetime as dt
from collections.abc import Callable

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from ontrack.accounts.models import Office, Role, User
from ontrack.alerts.models import AlertNotice, NotificationRule, Priority
from ontrack.alerts.notifications import alert_notify_staff, notification_rule_create
from ontrack.alerts.services import alert_escalate, alert_raise, alerts_promote_due
from ontrack.messaging.models import Message, Recipient
from ontrack.messaging.outbox import claim
from ontrack.messaging.sealing import unseal
from ontrack.participants.models import Participant

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 20, 22, 0, tzinfo=dt.UTC)


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    return make_user(Role.ADMINISTRATOR, office=None)


@pytest.fixture
def staffed_office(office: Office, officer: User, make_user: Callable[..., User]) -> Office:
    """The ``office`` with the officer's e-mail and phone on file and two supervisors, one of
    whom has left (inactive)."""
    User.objects.filter(pk=officer.pk).update(email="olivia@example.org", phone="(973) 555-0101")
    boss = make_user(Role.SUPERVISOR)
    User.objects.filter(pk=boss.pk).update(phone="973-555-0102", email="boss@example.org")
    gone = make_user(Role.SUPERVISOR)
    User.objects.filter(pk=gone.pk).update(phone="973-555-0103", is_active=False)
    return office


def _rule(
    admin: User,
    office: Office,
    min_priority: int,
    channel: str,
    recipient: str,
    address: str = "",
) -> NotificationRule:
    return notification_rule_create(
        user=admin,
        office=office,
        min_priority=min_priority,
        channel=channel,
        recipient=recipient,
        address=address,
    )


def _staff_notices() -> list[tuple[str, str]]:
    return sorted(
        Message.objects.filter(recipient=Recipient.STAFF).values_list("channel", "to"),
    )


def test_notices_follow_the_offices_rules_by_priority_and_never_repeat(
    staffed_office: Office, admin: User, make_participant: Callable[..., Participant]
) -> None:
    _rule(admin, staffed_office, Priority.HIGH, "email", "officer")
    _rule(admin, staffed_office, Priority.CRITICAL, "sms", "supervisors")
    _rule(admin, staffed_office, Priority.LOW, "email", "address", "Desk@Example.org")
    participant = make_participant()

    pending = alert_raise(
        participant_id=participant.pk,
        kind="exclusion_zone_entry",
        source="zone:1",
        occurred_at=T0,
        now=T0,
    )
    assert pending is not None
    assert pending.priority == Priority.HIGH
    assert _staff_notices() == [], "nobody is told of an alert still within grace"

    alerts_promote_due(now=T0 + dt.timedelta(minutes=3))
    assert _staff_notices() == [
        ("email", "desk@example.org"),
        ("email", "olivia@example.org"),
    ]
    message = Message.objects.get(to="olivia@example.org")
    assert message.participant_id is None
    assert message.body.startswith("High alert: Entered an exclusion zone. Case C-")
    assert f"/alerts/{pending.pk}/" in message.body
    assert participant.family_name not in message.body, "no name leaves the system"

    alert_escalate(alert_id=pending.pk, priority=Priority.CRITICAL, note="still inside")
    assert _staff_notices() == [
        ("email", "desk@example.org"),
        ("email", "olivia@example.org"),
        ("sms", "+19735550102"),
    ], "the escalation reaches the supervisors' rule, and only the active supervisor"

    assert alert_notify_staff(pending) == 0
    assert AlertNotice.objects.filter(alert=pending).count() == 3


def test_nothing_is_sent_below_the_minimum_priority(
    staffed_office: Office, admin: User, make_participant: Callable[..., Participant]
) -> None:
    _rule(admin, staffed_office, Priority.CRITICAL, "email", "officer")
    participant = make_participant()
    alert_raise(
        participant_id=participant.pk,
        kind="missed_checkin",
        source="window:1",
        occurred_at=T0,
        now=T0,
    )
    assert _staff_notices() == []


def test_an_alert_created_open_notifies_at_once_and_only_its_own_office(
    staffed_office: Office,
    admin: User,
    make_participant: Callable[..., Participant],
    make_office: Callable[..., Office],
) -> None:
    elsewhere = make_office("Paterson")
    _rule(admin, elsewhere, Priority.LOW, "email", "address", "paterson@example.org")
    _rule(admin, staffed_office, Priority.LOW, "sms", "officer")
    participant = make_participant()
    alert_raise(participant_id=participant.pk, kind="sos", source="device:9", occurred_at=T0)
    assert _staff_notices() == [("sms", "+19735550101")]


def test_a_recipient_without_an_address_is_skipped(
    office: Office, officer: User, admin: User, make_participant: Callable[..., Participant]
) -> None:
    _rule(admin, office, Priority.LOW, "email", "officer")
    participant = make_participant()
    alert = alert_raise(
        participant_id=participant.pk, kind="sos", source="device:9", occurred_at=T0
    )
    assert alert is not None
    assert alert.status == "open"
    assert _staff_notices() == []


def test_the_sender_claims_staff_notices_like_any_other(
    staffed_office: Office, admin: User, make_participant: Callable[..., Participant]
) -> None:
    _rule(admin, staffed_office, Priority.LOW, "email", "officer")
    participant = make_participant()
    alert_raise(participant_id=participant.pk, kind="sos", source="device:9", occurred_at=T0)
    staff_rows = Message.objects.filter(recipient=Recipient.STAFF)
    claimed = claim(
        channel="email",
        provider_name="console",
        limit=10,
        now=staff_rows.get().send_at + dt.timedelta(seconds=1),
    )
    assert [(row.to, row.participant_id) for row in claimed] == [("olivia@example.org", None)]


# --- the page -------------------------------------------------------------------------------


def test_a_supervisor_adds_and_removes_a_rule_for_their_office(
    client_for: Callable[[User], Client], make_user: Callable[..., User], office: Office
) -> None:
    boss = make_user(Role.SUPERVISOR)
    client = client_for(boss)
    url = f"/alerts/notifications/office/{office.pk}/"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "min_priority": "3",
            "channel": "sms",
            "recipient": "address",
            "address": "(973) 555-0150",
        },
    )
    assert response.status_code == 302
    rule = NotificationRule.objects.get(office=office)
    assert (rule.min_priority, rule.address) == (3, "+19735550150")
    assert b"+19735550150" in client.get(url).content
    bad = client.post(url, {"min_priority": "3", "channel": "email", "recipient": "address"})
    assert bad.status_code == 200
    assert b"Give an e-mail address." in bad.content
    client.post(f"/alerts/notifications/{rule.pk}/delete/")
    assert not NotificationRule.objects.exists()


def test_officers_and_other_offices_supervisors_cannot_manage_an_offices_notifications(
    client_for: Callable[[User], Client],
    officer: User,
    make_user: Callable[..., User],
    make_office: Callable[..., Office],
    office: Office,
    admin: User,
) -> None:
    rule = _rule(admin, office, Priority.LOW, "email", "officer")
    url = f"/alerts/notifications/office/{office.pk}/"
    assert client_for(officer).get(url).status_code == 403
    outsider = make_user(Role.SUPERVISOR, office=make_office("Paterson"))
    outsider_client = client_for(outsider)
    assert outsider_client.get(url).status_code == 403
    posted = outsider_client.post(
        url, {"min_priority": "1", "channel": "email", "recipient": "officer"}
    )
    assert posted.status_code == 403
    assert outsider_client.post(f"/alerts/notifications/{rule.pk}/delete/").status_code == 403
    assert NotificationRule.objects.count() == 1
    assert client_for(admin).get(url).status_code == 200


# --- rules that cannot be delivered and links ------------------------------------------------


def test_a_text_rule_to_an_officer_without_a_number_says_so_when_saved_and_on_the_page(
    client_for: Callable[[User], Client],
    make_user: Callable[..., User],
    office: Office,
    officer: User,
) -> None:
    boss = make_user(Role.SUPERVISOR)
    User.objects.filter(pk=boss.pk).update(email="boss@example.org")
    client = client_for(boss)
    url = f"/alerts/notifications/office/{office.pk}/"
    saved = client.post(
        url, {"min_priority": "3", "channel": "sms", "recipient": "officer"}, follow=True
    )
    body = saved.content.decode()
    assert "cannot be delivered" in body, "the person saving the rule is told at once"
    assert f"{officer} has no phone number" in body
    rule = NotificationRule.objects.get(office=office)
    page = client.get(url).content.decode()
    assert f'id="rule-{rule.pk}-undeliverable"' in page
    assert f"{officer} has no phone number" in page
    User.objects.filter(pk=officer.pk).update(phone="+19735550101")
    fixed = client.get(url).content.decode()
    assert f'id="rule-{rule.pk}-undeliverable"' not in fixed
    assert User.objects.get(pk=boss.pk).email == "boss@example.org"


def test_an_email_rule_to_supervisors_without_addresses_is_marked_undeliverable(
    client_for: Callable[[User], Client], make_user: Callable[..., User], office: Office
) -> None:
    boss = make_user(Role.SUPERVISOR)
    client = client_for(boss)
    url = f"/alerts/notifications/office/{office.pk}/"
    client.post(url, {"min_priority": "4", "channel": "email", "recipient": "supervisors"})
    page = client.get(url).content.decode()
    assert f"{boss} has no e-mail address" in page


def test_alert_notices_link_to_the_public_address_not_the_local_one(
    staffed_office: Office,
    admin: User,
    make_participant: Callable[..., Participant],
    settings: Settings,
) -> None:
    settings.ONTRACK_PUBLIC_URL = "https://ontrack.example.org"
    _rule(admin, staffed_office, Priority.LOW, "sms", "officer")
    participant = make_participant()
    alert = alert_raise(
        participant_id=participant.pk, kind="sos", source="device:9", occurred_at=T0, now=T0
    )
    assert alert is not None
    alerts_promote_due(now=T0 + dt.timedelta(hours=1))
    message = Message.objects.get(recipient=Recipient.STAFF, to="+19735550101")
    assert f"https://ontrack.example.org/alerts/{alert.pk}/" in message.body
    assert "127.0.0.1" not in message.body
    assert "localhost" not in message.body


def test_the_portal_sign_in_link_uses_the_public_address_not_the_requests_host(
    make_participant: Callable[..., Participant], settings: Settings
) -> None:
    from django.test import Client

    settings.ONTRACK_PUBLIC_URL = "https://ontrack.example.org"
    participant = make_participant()
    Client(HTTP_HOST="localhost").post("/me/sign-in/", {"phone": "(973) 555-0142"})
    sealed = Message.objects.get(participant=participant, template_key="portal_sign_in")
    text = unseal(sealed.sealed_body)
    assert "https://ontrack.example.org/me/link/" in text
    assert "localhost" not in text
