"""One timeline per person: every app's events in plain words, newest first, filtered by
kind and paged by keyset without gaps or repeats, through the gate."""

from __future__ import annotations

import datetime as dt
import io
import re
import zoneinfo
from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from ontrack.accounts.models import Role, User
from ontrack.alerts.services import alert_acknowledge, alert_raise, alert_resolve
from ontrack.audit.models import AccessLogEntry
from ontrack.messaging.services import inbound_receive
from ontrack.messaging.services.notices import message_send_direct
from ontrack.participants.models import EventKind, Hearing, Participant
from ontrack.participants.services import participant_event_record
from ontrack.participants.timeline import Cursor, timeline_page
from ontrack.reviews.models import ReviewOrigin, SupervisionReview
from ontrack.schedule.models import Appointment, AppointmentKind, AppointmentStatus, AppointmentType
from ontrack.schedule.services import checkins
from ontrack.schedule.services.windows import window_adhoc
from ontrack.tracking.protocols.records import DeviceEvent
from ontrack.tracking.protocols.records import EventKind as DeviceEventKind
from ontrack.tracking.services import device_directory, store_batch
from tests.support import first_phone, photo_bytes

pytestmark = pytest.mark.django_db

ClientFor = Callable[[User], Client]


def _visible_text(html: str) -> str:
    """The page as read without opening any "technical details" disclosure."""
    without = re.sub(r"<details class=\"technical\">.*?</details>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", without)


def one_of_each_kind(participant: Participant, officer: User) -> None:
    """One of each kind of entry, an hour apart, through the owning apps' services."""
    now = timezone.now()
    device = participant.device_assignments.get().device
    store_batch(
        [
            (
                device_directory()[device.identifier],
                DeviceEvent(
                    device.identifier, now - dt.timedelta(hours=8), DeviceEventKind.TAMPER, "0x13"
                ),
            )
        ],
        received_at=now - dt.timedelta(hours=8),
    )
    alert = alert_raise(
        participant_id=participant.pk,
        kind="strap_tamper",
        source=f"device:{device.pk}",
        occurred_at=now - dt.timedelta(hours=7),
        device_id=device.pk,
        now=now - dt.timedelta(hours=7),
    )
    assert alert is not None
    if alert.status == "pending":
        from ontrack.alerts.services import alerts_promote_due

        alerts_promote_due(now=now - dt.timedelta(hours=6, minutes=30))
    alert_acknowledge(user=officer, alert_id=alert.pk, now=now - dt.timedelta(hours=6))
    alert_resolve(
        user=officer,
        alert_id=alert.pk,
        disposition="false_alarm",
        note="Strap caught on a chair",
        now=now - dt.timedelta(hours=5),
    )
    window_adhoc(
        participant,
        actor=officer,
        opens_at=now - dt.timedelta(hours=5),
        closes_at=now - dt.timedelta(hours=3),
        now=now - dt.timedelta(hours=5),
    )
    checkins.checkin_submit(
        participant=participant,
        client_ref="tl-1",
        attempted_at=now - dt.timedelta(hours=4),
        photo=photo_bytes(640, 480),
        photo_content_type="image/jpeg",
        lat=40.73,
        lon=-74.17,
        accuracy_m=12,
        now=now - dt.timedelta(hours=4),
    )
    message_send_direct(
        participant=participant, body="Please call the office.", purpose="test", sent_by=officer
    )
    inbound_receive(
        provider="test",
        provider_message_id="SM-tl-1",
        from_number=first_phone(participant),
        body="Running ten minutes late",
        received_at=now - dt.timedelta(hours=2),
    )
    Hearing.objects.create(
        participant=participant,
        scheduled_at=now - dt.timedelta(days=2),
        time_zone="America/New_York",
        court="Newark Immigration Court",
        kind="master_calendar",
        outcome="attended",
    )
    Appointment.objects.create(
        participant=participant,
        office=participant.office,
        kind=AppointmentKind.HOME_VISIT,
        type=AppointmentType.ROUTINE_CHECKIN,
        starts_at=now - dt.timedelta(days=3),
        ends_at=now - dt.timedelta(days=3) + dt.timedelta(hours=1),
        status=AppointmentStatus.ATTENDED,
        created_at=now - dt.timedelta(days=4),
    )
    SupervisionReview.objects.create(
        participant=participant,
        origin=ReviewOrigin.REVIEW_DATE,
        opened_at=now - dt.timedelta(days=1),
        period_days=90,
        proposal="Step down to standard",
    )


@pytest.fixture
def everything(worn_gt06: Callable[[str], Participant], officer: User) -> Participant:
    participant = worn_gt06("359710049095095")
    one_of_each_kind(participant, officer)
    return participant


def test_every_kind_appears_in_plain_words_newest_first(
    everything: Participant, officer: User, client_for: ClientFor
) -> None:
    response = client_for(officer).get(f"/participants/{everything.pk}/timeline/")
    assert response.status_code == 200
    html = response.content.decode()
    text = _visible_text(html)
    for words in [
        "Enrolled",
        "Device assigned or returned",
        "Strap or case tampered with",
        "Alert: Strap tamper",
        "Alert acknowledged",
        "Alert resolved",
        "False alarm",
        "Strap caught on a chair",
        "Checked in on the phone app",
        "Text message to the participant",
        "Please call the office.",
        "Text received",
        "Running ten minutes late",
        "Court hearing: Master calendar",
        "Home visit: attended",
        "Supervision review opened",
    ]:
        assert words in text, words
    # Codes stay in the technical details.
    for code in ["strap_tamper", "device:", "0x13", "escalation", "gt06"]:
        assert code not in text, code
    assert "0x13" in html  # ...where they are kept
    page = timeline_page(everything, officer, before=Cursor.top(timezone.now()), limit=100)
    keys = [e.cursor for e in page.entries]
    assert keys == sorted(keys, reverse=True)
    assert page.next_cursor is None


def test_times_are_shown_in_the_office_zone_with_its_abbreviation(
    everything: Participant, officer: User, client_for: ClientFor
) -> None:
    html = client_for(officer).get(f"/participants/{everything.pk}/timeline/").content.decode()
    resolved = everything.alerts.get().closed_at
    assert resolved is not None
    local = resolved.astimezone(zoneinfo.ZoneInfo("America/New_York"))  # the office's zone
    assert f"{local:%Y-%m-%d %H:%M} {local.tzname()}" in html
    assert local.tzname() in {"EST", "EDT"}
    assert "Check-in requested" in html  # the officer's ad-hoc window, written in local time
    assert "UTC" not in _visible_text(html)  # UTC belongs in exports only


def test_pages_have_no_gap_or_repeat_when_entries_share_a_timestamp(
    make_participant: Callable[..., Participant], officer: User, client_for: ClientFor
) -> None:
    participant = make_participant()
    at = timezone.now() - dt.timedelta(hours=1)
    for n in range(23):
        participant_event_record(
            participant, actor=officer, kind=EventKind.EDITED, summary=f"change {n}", at=at
        )
    for n in range(4):
        inbound_receive(
            provider="test",
            provider_message_id=f"SM-same-{n}",
            from_number=first_phone(participant),
            body=f"same moment {n}",
            received_at=at,
        )
    everything_at_once = timeline_page(
        participant, officer, before=Cursor.top(timezone.now()), limit=1000
    ).entries
    seen: list[tuple[str, int]] = []
    before = Cursor.top(timezone.now())
    while True:
        page = timeline_page(participant, officer, before=before, limit=5)
        seen += [(e.kind, e.id) for e in page.entries]
        if page.next_cursor is None:
            break
        before = page.next_cursor
    assert len(seen) == len(set(seen)) == len(everything_at_once) == 28  # 23 + 4 + enrolled
    assert seen == [(e.kind, e.id) for e in everything_at_once]


def test_older_entries_link_continues_the_filtered_timeline_over_http(
    make_participant: Callable[..., Participant], officer: User, client_for: ClientFor
) -> None:
    participant = make_participant()
    at = timezone.now() - dt.timedelta(hours=1)
    for n in range(45):
        participant_event_record(
            participant, actor=officer, kind=EventKind.EDITED, summary=f"change {n:02d}", at=at
        )
    inbound_receive(
        provider="test",
        provider_message_id="SM-filtered-out",
        from_number=first_phone(participant),
        body="not a case change",
        received_at=at,
    )
    client = client_for(officer)
    url = f"/participants/{participant.pk}/timeline/"
    first = client.get(url, {"kind": "case"}).content.decode()
    older = re.search(r'href="([^"]*\?before=[^"]*)"', first)
    assert older is not None
    second = client.get(older.group(1).replace("&amp;", "&"), HTTP_HX_REQUEST="true").content
    shown = re.findall(r"change (\d\d)", first) + re.findall(r"change (\d\d)", second.decode())
    assert sorted(shown) == [f"{n:02d}" for n in range(45)]
    assert "not a case change" not in first + second.decode()
    assert "Older entries" not in second.decode()  # 46 entries: two pages of 30


def test_filter_shows_only_the_chosen_kinds(
    everything: Participant, officer: User, client_for: ClientFor
) -> None:
    html = client_for(officer).get(
        f"/participants/{everything.pk}/timeline/", {"kind": ["alerts", "devices"]}
    )
    kinds = set(re.findall(r'data-kind="(\w+)"', html.content.decode()))
    assert kinds == {"alerts", "devices"}


def test_unknown_kind_and_bad_cursor_are_refused_with_400(
    everything: Participant, officer: User, client_for: ClientFor
) -> None:
    client = client_for(officer)
    url = f"/participants/{everything.pk}/timeline/"
    assert client.get(url, {"kind": "nonsense"}).status_code == 400
    assert client.get(url, {"before": "yesterday"}).status_code == 400
    assert client.get(url, {"before": "2026-01-01T00:00:00|case|x"}).status_code == 400


def test_out_of_scope_answers_404_like_a_missing_id(
    everything: Participant, make_user: Callable[..., User], client_for: ClientFor
) -> None:
    stranger = make_user(Role.OFFICER, username="someone_else")
    client = client_for(stranger)
    assert client.get(f"/participants/{everything.pk}/timeline/").status_code == 404
    assert client.get("/participants/987654/timeline/").status_code == 404


def test_each_page_view_writes_one_access_log_row_with_its_purpose(
    everything: Participant, officer: User, client_for: ClientFor
) -> None:
    before = AccessLogEntry.objects.count()
    client_for(officer).get(f"/participants/{everything.pk}/timeline/", {"kind": "alerts"})
    rows = list(AccessLogEntry.objects.order_by("pk")[before:])
    assert [(r.participant_id, r.user_id, r.what) for r in rows] == [
        (everything.pk, officer.pk, "timeline (alerts)")
    ]


def test_checkin_thumbnail_is_small_and_covered_by_the_pages_own_log_row(
    everything: Participant,
    officer: User,
    make_user: Callable[..., User],
    client_for: ClientFor,
) -> None:
    client = client_for(officer)
    html = client.get(f"/participants/{everything.pk}/timeline/").content.decode()
    src = re.search(r'<img class="thumb" src="([^"]+)"', html)
    assert src is not None
    url = src.group(1).replace("&amp;", "&")
    logged = AccessLogEntry.objects.count()
    thumb = client.get(url)
    assert thumb.status_code == 200
    assert thumb["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(thumb.content)) as image:
        assert max(image.size) <= 160
    assert AccessLogEntry.objects.count() == logged
    # Only the reader it was issued to can use it; anyone else gets 404 (and no photo).
    colleague = make_user(Role.SUPERVISOR, username="sup")
    assert client_for(colleague).get(url).status_code == 404
    # Without the token the photo view serves the photo and logs its read, as before.
    whole = client.get(url.split("?")[0])
    assert whole.status_code == 200
    assert AccessLogEntry.objects.count() == logged + 1


def test_empty_timeline_says_so(
    make_participant: Callable[..., Participant], officer: User, client_for: ClientFor
) -> None:
    participant = make_participant()
    client = client_for(officer)
    html = client.get(f"/participants/{participant.pk}/timeline/", {"kind": "alerts"}).content
    assert "Nothing of these kinds recorded yet." in html.decode()


def test_participant_page_shows_the_newest_entries_and_links_the_timeline(
    everything: Participant, officer: User, client_for: ClientFor
) -> None:
    html = client_for(officer).get(f"/participants/{everything.pk}/").content.decode()
    assert f'href="/participants/{everything.pk}/timeline/"' in html
    assert "Running ten minutes late" in html
