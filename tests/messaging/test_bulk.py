"""Bulk messages: audience limited by role, preview per language, expansion in each
person's language, pause and cancel, progress, access log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks, Settings

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import Role, User
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
from ontrack.messaging.services.opt_out import opt_out_record
from ontrack.participants.models import Participant
from ontrack.schedule.models import Appointment
from ontrack.schedule.queries import nearest_free_slot
from ontrack.schedule.services import appointment_book
from tests.support import officer_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_quiet_hours(settings: Settings) -> None:
    settings.ONTRACK_MESSAGING_QUIET_HOURS = ()


@pytest.fixture
def create(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> Callable[..., Broadcast]:
    """broadcast_create of what its preview showed, then what it defers to the commit
    (starting the expansion)."""

    def make(**kwargs: Any) -> Broadcast:
        shown = {key: kwargs[key] for key in ("user", "f", "template", "context")}
        kwargs.setdefault("preview_token", broadcast_preview(**shown).token)
        with django_capture_on_commit_callbacks(execute=True):
            broadcast = broadcast_create(**kwargs)
        broadcast.refresh_from_db()
        return broadcast

    return make


@pytest.fixture
def closure() -> Template:
    return Template.objects.get(key="office_closure")


def test_officer_sends_only_to_their_caseload_each_in_their_language(
    speaker: Callable[..., Participant],
    make_user: Callable[..., User],
    closure: Template,
    create: Callable[..., Broadcast],
) -> None:
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
    assert broadcast.status == BroadcastStatus.SENDING
    assert broadcast.expanded == 5
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


def test_preview_counts_per_language_and_renders_a_sample(
    speaker: Callable[..., Participant], closure: Template
) -> None:
    people = [speaker("es"), speaker("es"), speaker("ht"), speaker("quc")]
    opt_out_record(participant_id=people[1].pk, source="STOP")
    preview = broadcast_preview(
        user=officer_of(people[0]),
        f=AudienceFilter(),
        template=closure,
        context={"date": "2026-12-24"},
    )
    assert preview.total == 4
    assert dict(preview.by_language) == {"es": 2, "ht": 1, "en": 1}
    assert preview.opted_out == 1
    assert "24 de diciembre" in preview.sample
    assert preview.segments >= 1
    assert preview.encoding in {"GSM-7", "UCS-2"}


def test_a_send_refuses_an_audience_that_changed_since_its_preview(
    speaker: Callable[..., Participant], closure: Template, create: Callable[..., Broadcast]
) -> None:
    first = speaker("es")
    shown: dict[str, Any] = {
        "user": officer_of(first),
        "f": AudienceFilter(),
        "template": closure,
        "context": {"date": "2026-12-24"},
    }
    token = broadcast_preview(**shown).token
    speaker("ht", officer=officer_of(first))  # one more since the preview: 2 now, 1 shown
    with pytest.raises(ValidationError, match="1 were shown, 2 match now"):
        create(**shown, purpose="Holiday closure", preview_token=token)
    assert not Broadcast.objects.exists()


def test_a_send_refuses_a_message_other_than_the_one_previewed_or_no_preview(
    speaker: Callable[..., Participant], closure: Template, create: Callable[..., Broadcast]
) -> None:
    officer = officer_of(speaker("es"))
    shown: dict[str, Any] = {
        "user": officer,
        "f": AudienceFilter(),
        "template": closure,
        "context": {"date": "2026-12-24"},
    }
    token = broadcast_preview(**shown).token
    with pytest.raises(ValidationError, match="changed since the preview"):
        create(**{**shown, "context": {"date": "2026-12-31"}}, purpose="x", preview_token=token)
    with pytest.raises(ValidationError, match="does not match a preview you were shown"):
        create(**shown, purpose="x", preview_token="")
    assert not Broadcast.objects.exists()


def test_filters_narrow_the_audience(
    speaker: Callable[..., Participant], closure: Template, create: Callable[..., Broadcast]
) -> None:
    speaker("es")
    creole = speaker("ht")
    broadcast = create(
        user=officer_of(creole),
        f=AudienceFilter(language="ht"),
        template=closure,
        purpose="x",
        context={},
    )
    assert list(
        Message.objects.filter(broadcast=broadcast).values_list("participant_id", flat=True)
    ) == [creole.pk]


def test_opted_out_people_are_skipped(
    speaker: Callable[..., Participant], closure: Template, create: Callable[..., Broadcast]
) -> None:
    keep, stop = speaker("es"), speaker("es")
    opt_out_record(participant_id=stop.pk, source="STOP")
    broadcast = create(
        user=officer_of(keep), f=AudienceFilter(), template=closure, purpose="x", context={}
    )
    broadcast.refresh_from_db()
    assert broadcast.expanded == 1
    assert broadcast.skipped == 1


def test_operators_and_administrators_cannot_send_bulk(
    speaker: Callable[..., Participant],
    make_user: Callable[..., User],
    closure: Template,
    create: Callable[..., Broadcast],
) -> None:
    speaker("es")
    for role in (Role.OPERATOR, Role.ADMINISTRATOR, Role.AUDITOR):
        with pytest.raises(PermissionDenied):
            create(
                user=make_user(role), f=AudienceFilter(), template=closure, purpose="x", context={}
            )


def test_purpose_is_required_and_template_must_be_for_bulk(
    speaker: Callable[..., Participant], create: Callable[..., Broadcast]
) -> None:
    participant = speaker("es")
    closure = Template.objects.get(key="office_closure")
    sign_in = Template.objects.get(key="portal_sign_in")
    officer = officer_of(participant)
    with pytest.raises(ValidationError):
        create(user=officer, f=AudienceFilter(), template=closure, purpose="  ", context={})
    with pytest.raises(ValidationError):
        create(user=officer, f=AudienceFilter(), template=sign_in, purpose="x", context={})


def test_expansion_resumes_after_a_stop_without_writing_anyone_twice(
    speaker: Callable[..., Participant], closure: Template, settings: Settings
) -> None:
    settings.ONTRACK_MESSAGING_BULK_CHUNK = 2
    people = [speaker("es") for _ in range(5)]
    broadcast = Broadcast.objects.create(
        created_by=officer_of(people[0]), template=closure, purpose="x", audience={}, context={},
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
    speaker: Callable[..., Participant],
    closure: Template,
    create: Callable[..., Broadcast],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    from ontrack.messaging.outbox import claim

    participant = speaker("es")
    broadcast = create(
        user=officer_of(participant), f=AudienceFilter(), template=closure, purpose="x", context={}
    )
    broadcast_pause(user=officer_of(participant), broadcast=broadcast)
    from django.utils import timezone

    assert claim(channel="sms", provider_name="console", limit=10, now=timezone.now()) == []
    broadcast.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        broadcast_resume(user=officer_of(participant), broadcast=broadcast)
    broadcast.refresh_from_db()
    assert broadcast.status == BroadcastStatus.SENDING
    assert broadcast_cancel(user=officer_of(participant), broadcast=broadcast) == 1
    assert broadcast_progress(broadcast) == {MessageStatus.CANCELLED: 1}


def test_only_the_sender_or_their_supervisor_may_pause(
    speaker: Callable[..., Participant],
    make_user: Callable[..., User],
    closure: Template,
    create: Callable[..., Broadcast],
) -> None:
    participant = speaker("es")
    broadcast = create(
        user=officer_of(participant), f=AudienceFilter(), template=closure, purpose="x", context={}
    )
    with pytest.raises(PermissionDenied):
        broadcast_pause(user=make_user(Role.OFFICER), broadcast=broadcast)
    broadcast_pause(user=make_user(Role.SUPERVISOR), broadcast=broadcast)


def test_appointment_range_narrows_the_audience_to_people_due_then(
    speaker: Callable[..., Participant], closure: Template, create: Callable[..., Broadcast]
) -> None:
    due, later, without = speaker("es"), speaker("es"), speaker("ht")
    office = due.office
    office.opening_hours = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    office.save()
    now = timezone.now()

    def book(participant: Participant, days: int) -> Appointment:
        slot = nearest_free_slot(office, now + dt.timedelta(days=days), not_before=now)
        assert slot is not None
        return appointment_book(
            participant, actor=SYSTEM, type="routine_checkin", starts_at=slot.starts_at
        )

    soon = book(due, 3)
    book(later, 20)
    day = timezone.localdate(soon.starts_at).isoformat()
    broadcast = create(
        user=officer_of(due),
        f=AudienceFilter(appointment_from=day, appointment_to=day),
        template=closure,
        purpose="Office closed that day",
        context={"date": day},
    )
    sent_to = set(
        Message.objects.filter(broadcast=broadcast).values_list("participant_id", flat=True)
    )
    assert sent_to == {due.pk}
    assert without.pk not in sent_to
    assert broadcast.audience_size == 1
