"""Bulk messages: audience limited by role, preview per language, expansion in each
person's language, pause and cancel, progress, access log."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from ontrack.accounts.models import Role
from ontrack.audit.models import AccessLogEntry
from ontrack.messaging.broadcasts import (
    AudienceFilter,
    broadcast_cancel,
    broadcast_create,
    broadcast_pause,
    broadcast_preview,
    broadcast_progress,
    broadcast_resume,
    expand_chunk,
)
from ontrack.messaging.models import Broadcast, BroadcastStatus, Message, MessageStatus, Template
from ontrack.messaging.services import opt_out_record
from ontrack.schedule.queries import nearest_free_slot
from ontrack.schedule.services import appointment_book

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_quiet_hours(settings):
    settings.ONTRACK_MESSAGING_QUIET_HOURS = ()


@pytest.fixture
def create(django_capture_on_commit_callbacks):
    """broadcast_create, then what it defers to the commit (starting the expansion)."""

    def make(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            broadcast = broadcast_create(**kwargs)
        broadcast.refresh_from_db()
        return broadcast

    return make


@pytest.fixture
def closure():
    return Template.objects.get(key="office_closure")


def test_officer_sends_only_to_their_caseload_each_in_their_language(
    speaker, make_user, closure, create
):
    mine = [speaker(lang) for lang in ("es", "ht", "pt", "fr", "en")]
    other_officer = make_user(Role.OFFICER)
    theirs = speaker("es", officer=other_officer)
    officer = mine[0].officer
    broadcast = create(
        user=officer,
        f=AudienceFilter(),
        template=closure,
        purpose="Office closed for the holiday",
        context={"date": "2026-12-24"},
    )
    broadcast.refresh_from_db()
    assert broadcast.status == BroadcastStatus.SENDING and broadcast.expanded == 5
    texts = {m.participant_id: m for m in Message.objects.filter(broadcast=broadcast)}
    assert theirs.pk not in texts
    assert "jueves 24 de diciembre" in texts[mine[0].pk].body
    assert "jedi 24 desanm" in texts[mine[1].pk].body
    assert "quinta-feira, 24 de dezembro" in texts[mine[2].pk].body
    assert "jeudi 24 décembre" in texts[mine[3].pk].body
    assert "Thursday, December 24" in texts[mine[4].pk].body
    assert all(
        m.traffic == "bulk" and m.purpose == "Office closed for the holiday" for m in texts.values()
    )
    assert AccessLogEntry.objects.filter(what__contains=f"bulk message {broadcast.pk}").exists()


def test_preview_counts_per_language_and_renders_a_sample(speaker, closure):
    people = [speaker("es"), speaker("es"), speaker("ht"), speaker("quc")]
    opt_out_record(participant_id=people[1].pk, source="STOP")
    preview = broadcast_preview(
        user=people[0].officer, f=AudienceFilter(), template=closure, context={"date": "2026-12-24"}
    )
    assert preview.total == 4 and dict(preview.by_language) == {"es": 2, "ht": 1, "en": 1}
    assert preview.opted_out == 1 and "24 de diciembre" in preview.sample
    assert preview.segments >= 1 and preview.encoding in {"GSM-7", "UCS-2"}


def test_filters_narrow_the_audience(speaker, closure, create):
    speaker("es")
    creole = speaker("ht")
    broadcast = create(
        user=creole.officer,
        f=AudienceFilter(language="ht"),
        template=closure,
        purpose="x",
        context={},
    )
    assert list(
        Message.objects.filter(broadcast=broadcast).values_list("participant_id", flat=True)
    ) == [creole.pk]


def test_opted_out_people_are_skipped(speaker, closure, create):
    keep, stop = speaker("es"), speaker("es")
    opt_out_record(participant_id=stop.pk, source="STOP")
    broadcast = create(
        user=keep.officer, f=AudienceFilter(), template=closure, purpose="x", context={}
    )
    broadcast.refresh_from_db()
    assert broadcast.expanded == 1 and broadcast.skipped == 1


def test_operators_and_administrators_cannot_send_bulk(speaker, make_user, closure, create):
    speaker("es")
    for role in (Role.OPERATOR, Role.ADMINISTRATOR, Role.AUDITOR):
        with pytest.raises(PermissionDenied):
            create(
                user=make_user(role), f=AudienceFilter(), template=closure, purpose="x", context={}
            )


def test_purpose_is_required_and_template_must_be_for_bulk(speaker, create):
    participant = speaker("es")
    closure = Template.objects.get(key="office_closure")
    sign_in = Template.objects.get(key="portal_sign_in")
    officer = participant.officer
    with pytest.raises(ValidationError):
        create(user=officer, f=AudienceFilter(), template=closure, purpose="  ", context={})
    with pytest.raises(ValidationError):
        create(user=officer, f=AudienceFilter(), template=sign_in, purpose="x", context={})


def test_expansion_resumes_after_a_stop_without_writing_anyone_twice(speaker, closure, settings):
    settings.ONTRACK_MESSAGING_BULK_CHUNK = 2
    people = [speaker("es") for _ in range(5)]
    broadcast = Broadcast.objects.create(
        created_by=people[0].officer, template=closure, purpose="x", audience={}, context={},
        send_at=people[0].enrolled_at, created_at=people[0].enrolled_at, audience_size=5,
        status=BroadcastStatus.EXPANDING,
    )  # fmt: skip
    assert expand_chunk(broadcast.pk)  # a worker wrote one chunk, then stopped
    while expand_chunk(broadcast.pk):  # another picks it up from the cursor
        pass
    counts = list(
        Message.objects.filter(broadcast=broadcast).values_list("participant_id", flat=True)
    )
    assert sorted(counts) == sorted(p.pk for p in people)


def test_pause_holds_messages_and_cancel_cancels_them(
    speaker, closure, create, django_capture_on_commit_callbacks
):
    from ontrack.messaging.outbox import claim

    participant = speaker("es")
    broadcast = create(
        user=participant.officer, f=AudienceFilter(), template=closure, purpose="x", context={}
    )
    broadcast_pause(user=participant.officer, broadcast=broadcast)
    from django.utils import timezone

    assert claim(channel="sms", provider_name="console", limit=10, now=timezone.now()) == []
    broadcast.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        broadcast_resume(user=participant.officer, broadcast=broadcast)
    broadcast.refresh_from_db()
    assert broadcast.status == BroadcastStatus.SENDING
    assert broadcast_cancel(user=participant.officer, broadcast=broadcast) == 1
    assert broadcast_progress(broadcast) == {MessageStatus.CANCELLED: 1}


def test_only_the_sender_or_their_supervisor_may_pause(speaker, make_user, closure, create):
    participant = speaker("es")
    broadcast = create(
        user=participant.officer, f=AudienceFilter(), template=closure, purpose="x", context={}
    )
    with pytest.raises(PermissionDenied):
        broadcast_pause(user=make_user(Role.OFFICER), broadcast=broadcast)
    broadcast_pause(user=make_user(Role.SUPERVISOR), broadcast=broadcast)


def test_appointment_range_narrows_the_audience_to_people_due_then(speaker, closure, create):
    due, later, without = speaker("es"), speaker("es"), speaker("ht")
    office = due.office
    office.opening_hours = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    office.save()
    now = timezone.now()

    def book(participant, days):
        slot = nearest_free_slot(office, now + dt.timedelta(days=days), not_before=now)
        return appointment_book(
            participant, actor=None, type="routine_checkin", starts_at=slot.starts_at
        )

    soon = book(due, 3)
    book(later, 20)
    day = timezone.localdate(soon.starts_at).isoformat()
    broadcast = create(
        user=due.officer,
        f=AudienceFilter(appointment_from=day, appointment_to=day),
        template=closure,
        purpose="Office closed that day",
        context={"date": day},
    )
    sent_to = set(
        Message.objects.filter(broadcast=broadcast).values_list("participant_id", flat=True)
    )
    assert sent_to == {due.pk}
    assert without.pk not in sent_to and broadcast.audience_size == 1
