"""Officer pages and the API: outbox with failures, inbox with a reply box, conversation
(access-logged, caseload only), bulk form with preview and progress, template editing by
supervisors only."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks, Settings

from ontrack import paging
from ontrack.accounts.models import Office, Role, User
from ontrack.accounts.services import api_token_create
from ontrack.audit.models import AccessLogEntry
from ontrack.messaging.models import Broadcast, InboundMessage, Message, MessageStatus, TemplateBody
from ontrack.messaging.services.notices import message_queue
from ontrack.messaging.services.received_texts import inbound_receive
from ontrack.participants.models import Participant
from tests.support import first_phone, officer_of, sqlite_plans

pytestmark = pytest.mark.django_db


def failed_text(participant: Participant) -> Message:
    message = message_queue(
        participant=participant,
        template_key="checkin_received",
        context={"reference": "R"},
        purpose="receipt",
    )
    assert message is not None, "the participant can be texted"
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.FAILED, error_code="30003", status_reason="Twilio error 30003"
    )
    return message


def test_outbox_shows_failures_with_their_reason_for_the_caseload_only(
    speaker: Callable[..., Participant],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    mine = speaker("es")
    failed_text(mine)
    other = speaker("ht", officer=make_user(Role.OFFICER))
    failed_text(other)
    page = client_for(officer_of(mine)).get("/messaging/?status=failed")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Twilio error 30003" in html
    assert mine.full_name in html
    assert other.full_name not in html


def test_the_outbox_pages_newest_first(
    speaker: Callable[..., Participant], client_for: Callable[[User], Client], settings: Settings
) -> None:
    settings.ONTRACK_PAGE_SIZE = 2
    participant = speaker("es")
    now = timezone.now()
    for hours_ago, which in [(3, "oldest"), (2, "middle"), (1, "newest")]:
        message = failed_text(participant)
        Message.objects.filter(pk=message.pk).update(
            created_at=now - dt.timedelta(hours=hours_ago), status_reason=f"the {which}"
        )
    client = client_for(officer_of(participant))

    first = client.get("/messaging/").content.decode()
    older = client.get("/messaging/?page=2").content.decode()

    assert first.index("the newest") < first.index("the middle")
    assert "the oldest" not in first
    assert "the oldest" in older
    assert "the middle" not in older


def test_the_outbox_counts_its_messages_no_further_than_the_cap(
    speaker: Callable[..., Participant],
    client_for: Callable[[User], Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(paging, "COUNT_CAP", 2)
    participant = speaker("es")
    for _ in range(3):
        failed_text(participant)
    client = client_for(officer_of(participant))
    assert "2+ messages" in client.get("/messaging/").content.decode()
    assert "0 messages" in client.get("/messaging/?status=sent").content.decode(), (
        "under the cap, the count is exact"
    )


def test_the_outbox_sorts_the_pages_ids_through_an_index_not_the_scopes_messages(
    speaker: Callable[..., Participant],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    """Sorting the scope's whole messages cost 600 ms (an office) to 1 s (every office) a
    page at 100,000 participants on SQLite (bench/pages.py)."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's choice of index; PostgreSQL chooses by its statistics")
    participant = speaker("es")
    failed_text(participant)
    for user, index in [
        (officer_of(participant), "COVERING INDEX message_participant"),
        (make_user(Role.OPERATOR), "SCAN messaging_message USING INDEX message_created"),
    ]:
        with CaptureQueriesContext(connection) as queries:
            client_for(user).get("/messaging/")
        # The first query in that order is the page's ids; then come the page's rows by id
        # and the held messages' list.
        plan, *_ = sqlite_plans(queries, 'ORDER BY "messaging_message"."created_at" DESC')
        assert index in plan, plan


def test_inbox_lists_unanswered_replies_and_a_reply_answers_them(
    speaker: Callable[..., Participant], client_for: Callable[[User], Client]
) -> None:
    participant = speaker("es")
    inbound_receive(
        provider="test", provider_message_id="in1", from_number=first_phone(participant),
        body="No tengo transporte", received_at=timezone.now(),
    )  # fmt: skip
    client = client_for(officer_of(participant))
    assert "No tengo transporte" in client.get("/messaging/inbox/").content.decode()
    response = client.post(
        f"/messaging/participants/{participant.pk}/", {"body": "Le llamo mañana."}
    )
    assert response.status_code == 302
    assert not InboundMessage.objects.filter(needs_answer=True).exists()
    reply = Message.objects.get(participant=participant, template_key="")
    assert reply.body == "Le llamo mañana."
    assert reply.sent_by == participant.officer
    assert "No tengo transporte" not in client.get("/messaging/inbox/").content.decode()


def test_conversation_shows_the_whole_text_of_a_keyword_reply(
    speaker: Callable[..., Participant], client_for: Callable[[User], Client]
) -> None:
    participant = speaker("es")
    inbound_receive(
        provider="test", provider_message_id="in2", from_number=first_phone(participant),
        body="CAMBIAR por favor, trabajo el martes", received_at=timezone.now(),
    )  # fmt: skip
    page = client_for(officer_of(participant)).get(f"/messaging/participants/{participant.pk}/")
    html = page.content.decode()
    assert "CAMBIAR por favor, trabajo el martes" in html
    assert "reschedule" in html


def test_conversation_is_access_logged_and_closed_to_other_caseloads(
    speaker: Callable[..., Participant],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    participant = speaker("es")
    assert (
        client_for(officer_of(participant))
        .get(f"/messaging/participants/{participant.pk}/")
        .status_code
        == 200
    )
    assert AccessLogEntry.objects.filter(
        participant_id=participant.pk, what="message conversation"
    ).exists()
    stranger = make_user(Role.OFFICER)
    assert client_for(stranger).get(f"/messaging/participants/{participant.pk}/").status_code == 404


def test_participant_page_links_to_the_conversation(
    speaker: Callable[..., Participant], client_for: Callable[[User], Client]
) -> None:
    participant = speaker("es")
    page = client_for(officer_of(participant)).get(f"/participants/{participant.pk}/")
    assert f"/messaging/participants/{participant.pk}/" in page.content.decode()


def test_bulk_form_previews_then_sends_and_shows_progress(
    speaker: Callable[..., Participant],
    client_for: Callable[[User], Client],
    settings: Settings,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    settings.ONTRACK_MESSAGING_QUIET_HOURS = ()
    participant = speaker("ht")
    client = client_for(officer_of(participant))
    form = {"template": "office_closure", "purpose": "Holiday closure", "date": "2026-12-24"}
    preview = client.post(
        "/messaging/bulk/new/", {**form, "preview": "1"}, headers={"HX-Request": "true"}
    )
    assert "jedi 24 desanm" in preview.content.decode()
    token = re.search(r'name="previewed" value="([^"]+)"', preview.content.decode())
    assert token, "the preview offers no send of what it shows"
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post("/messaging/bulk/new/", {**form, "send": "1", "previewed": token[1]})
    broadcast = Broadcast.objects.get()
    assert sent["Location"] == f"/messaging/bulk/{broadcast.pk}/"
    progress = client.get(sent["Location"], headers={"HX-Request": "true"}).content.decode()
    assert "every 2s" in progress
    assert "queued: 1" in progress


def _options(html: str, name: str) -> dict[str, str]:
    """The options of a select on the page: value -> label."""
    select = re.search(rf'<select name="{name}".*?</select>', html, re.S)
    assert select is not None, f"no <select name={name!r}> on the page"
    return dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(0)))


def test_bulk_form_offers_a_supervisor_the_officers_and_office_they_may_see(
    speaker: Callable[..., Participant],
    make_user: Callable[..., User],
    make_office: Callable[..., Office],
    client_for: Callable[[User], Client],
) -> None:
    supervisor = make_user(Role.SUPERVISOR)
    colleague = make_user(Role.OFFICER)
    elsewhere = make_user(Role.OFFICER, office=make_office("Elizabeth"))
    speaker("es", officer=colleague)
    speaker("es", officer=elsewhere)
    html = client_for(supervisor).get("/messaging/bulk/new/").content.decode()
    officers = _options(html, "officer")
    assert {"", str(supervisor.pk), str(colleague.pk)} <= set(officers)
    assert str(elsewhere.pk) not in officers, "an officer of another office is not offered"
    assert list(_options(html, "office").values()) == ["Any office", "Newark"]


def test_bulk_form_gives_an_officer_no_officer_picker(
    speaker: Callable[..., Participant], client_for: Callable[[User], Client]
) -> None:
    participant = speaker("es")
    html = client_for(officer_of(participant)).get("/messaging/bulk/new/").content.decode()
    assert 'name="officer"' not in html
    assert list(_options(html, "office").values()) == ["Any office", "Newark"]


def test_bulk_preview_for_one_officer_of_the_office_counts_only_their_caseload(
    speaker: Callable[..., Participant],
    make_user: Callable[..., User],
    make_office: Callable[..., Office],
    client_for: Callable[[User], Client],
) -> None:
    supervisor = make_user(Role.SUPERVISOR)
    colleague, other = make_user(Role.OFFICER), make_user(Role.OFFICER)
    speaker("es", officer=colleague)
    speaker("ht", officer=other)
    speaker("pt", officer=other)
    client = client_for(supervisor)
    form = {"template": "office_closure", "purpose": "Holiday closure", "date": "2026-12-24"}
    preview = client.post(
        "/messaging/bulk/new/",
        {**form, "officer": str(colleague.pk), "preview": "1"},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "1 participant<" in preview
    outsider = make_user(Role.OFFICER, office=make_office("Trenton"))
    refused = client.post("/messaging/bulk/new/", {**form, "officer": outsider.pk, "send": "1"})
    assert refused.status_code == 200
    assert "Select a valid choice" in refused.content.decode()
    assert not Broadcast.objects.exists()


def test_operator_cannot_open_the_bulk_form(
    make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    assert client_for(make_user(Role.OPERATOR)).get("/messaging/bulk/new/").status_code == 403


def test_supervisor_edits_a_template_and_officer_may_not(
    speaker: Callable[..., Participant],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    supervisor = make_user(Role.SUPERVISOR)
    client = client_for(supervisor)
    page = client.get("/messaging/templates/help_reply/")
    assert page.status_code == 200
    assert "segment" in page.content.decode()
    response = client.post(
        "/messaging/templates/help_reply/", {"language": "ht", "body": "Rele {office_phone}."}
    )
    assert response.status_code == 302
    assert (
        TemplateBody.objects.get(template__key="help_reply", language="ht").body
        == "Rele {office_phone}."
    )
    officer = make_user(Role.OFFICER)
    assert client_for(officer).get("/messaging/templates/help_reply/").status_code == 403


def test_template_preview_renders_example_values_and_counts_segments(
    make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    client = client_for(make_user(Role.SUPERVISOR))
    html = client.post(
        "/messaging/templates/preview/", {"body": "Olá {name}, " + "ã" * 60, "language": "pt"}
    ).content.decode()
    assert "Olá María, " in html
    assert "UCS-2" in html
    assert "2 segments" in html


def test_api_lists_messages_sends_one_and_reads_the_conversation(
    speaker: Callable[..., Participant], client_for: Callable[[User], Client]
) -> None:
    participant = speaker("es")
    failed_text(participant)
    _, secret = api_token_create(user=officer_of(participant), name="t")
    headers = {"Authorization": f"Bearer {secret}"}
    from django.test import Client

    api = Client()
    listed = api.get(f"/api/messages?participant={participant.pk}", headers=headers)
    assert listed.status_code == 200
    assert listed.json()["results"][0]["error_code"] == "30003"
    sent = api.post(
        f"/api/participants/{participant.pk}/messages",
        {"body": "Hola"},
        content_type="application/json",
        headers=headers,
    )
    assert sent.status_code == 201
    assert sent.json()["body"] == "Hola"
    conversation = api.get(
        f"/api/participants/{participant.pk}/conversation", headers=headers
    ).json()
    assert [e["body"] for e in conversation][-1] == "Hola"


def test_demo_can_try_a_creole_reply_from_the_conversation_page(
    speaker: Callable[..., Participant], client_for: Callable[[User], Client]
) -> None:
    participant = speaker("ht")
    client = client_for(officer_of(participant))
    assert (
        "Try a reply" in client.get(f"/messaging/participants/{participant.pk}/").content.decode()
    )
    client.post(f"/messaging/participants/{participant.pk}/simulate/", {"body": "ÈD"})
    answer = Message.objects.get(participant=participant, template_key="help_reply")
    assert answer.language == "ht"


def test_replies_cannot_be_simulated_with_a_real_provider(
    speaker: Callable[..., Participant], client_for: Callable[[User], Client], settings: Settings
) -> None:
    settings.ONTRACK_MESSAGING_PROVIDERS = {"sms": "twilio", "email": "smtp"}
    participant = speaker("es")
    client = client_for(officer_of(participant))
    client.post(f"/messaging/participants/{participant.pk}/simulate/", {"body": "STOP"})
    assert not InboundMessage.objects.exists()
