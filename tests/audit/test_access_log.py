import json
from collections.abc import Callable

import pytest
from django.test import Client

from ontrack import paging
from ontrack.accounts.models import Role, User
from ontrack.accounts.services import api_token_create
from ontrack.audit.models import AccessAction, AccessLogEntry, AccessLogSubject
from ontrack.audit.services import access_log_record
from ontrack.participants.models import Participant

pytestmark = pytest.mark.django_db


def test_viewing_a_participant_page_is_logged_with_who_and_from_where(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    p = make_participant()
    client_for(officer).get(f"/participants/{p.pk}/", REMOTE_ADDR="10.1.2.3")
    entry = AccessLogEntry.objects.get(action=AccessAction.VIEW)
    assert (entry.user, entry.participant_id, entry.ip_address) == (officer, p.pk, "10.1.2.3")
    assert entry.path == f"/participants/{p.pk}/"


def test_a_list_view_is_one_entry_carrying_every_participant_it_showed(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    people = [make_participant() for _ in range(3)]
    client_for(officer).get("/participants/")
    (entry,) = AccessLogEntry.objects.filter(action=AccessAction.LIST)
    assert sorted(entry.listed_ids) == sorted(p.pk for p in people), (
        "one row for the page, naming each participant it showed"
    )


def test_api_read_is_logged(
    make_participant: Callable[..., Participant], officer: User, client: Client
) -> None:
    p = make_participant()
    _, secret = api_token_create(user=officer, name="t")
    client.get(f"/api/participants/{p.pk}", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert AccessLogEntry.objects.filter(
        action=AccessAction.API_READ, participant_id=p.pk, user=officer
    ).exists()


def test_a_refused_read_is_not_logged_as_a_read(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    p = make_participant()
    client_for(make_user(Role.OFFICER)).get(f"/participants/{p.pk}/")
    assert not AccessLogEntry.objects.filter(action=AccessAction.VIEW).exists()


def test_auditor_filters_the_log_by_participant(
    make_participant: Callable[..., Participant],
    officer: User,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    a, b = make_participant(), make_participant()
    officer_client = client_for(officer)
    officer_client.get(f"/participants/{a.pk}/")
    officer_client.get(f"/participants/{b.pk}/")
    body = client_for(make_user(Role.AUDITOR)).get("/audit/", {"participant": a.pk}).content
    assert a.case_number.encode() in body
    assert b.case_number.encode() not in body


def test_log_survives_the_participant_it_describes(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    p = make_participant()
    client_for(officer).get(f"/participants/{p.pk}/")
    pk = p.pk
    p.delete()
    assert AccessLogEntry.objects.filter(participant_id=pk).exists()


def test_api_list_returns_json_and_logs(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    make_participant()
    data = json.loads(client_for(officer).get("/api/participants").content)
    assert data["count"] == 1
    assert AccessLogEntry.objects.filter(action=AccessAction.LIST).count() == 1


# --- what an auditor sees ---------------------------------------------------------------------


def test_the_auditor_sees_participants_by_name_and_case_number_without_a_way_into_records(
    make_participant: Callable[..., Participant],
    officer: User,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    person = make_participant(given_name="Rosa", family_name="Quispe")
    client_for(officer).get(f"/participants/{person.pk}/")
    auditor = client_for(make_user(Role.AUDITOR))
    body = auditor.get("/audit/").content.decode()
    assert f"Quispe, Rosa ({person.case_number})" in body
    assert f'href="/participants/{person.pk}/' not in body
    assert auditor.get(f"/participants/{person.pk}/").status_code in (403, 404), (
        "the auditor still reads the log, not the record"
    )


def test_the_filters_find_a_participant_who_appeared_in_a_list(
    make_participant: Callable[..., Participant],
    officer: User,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    listed = [make_participant() for _ in range(4)]
    client_for(officer).get("/participants/")
    auditor = client_for(make_user(Role.AUDITOR))
    target = listed[2]
    for query in (str(target.pk), target.case_number, target.family_name):
        body = auditor.get("/audit/", {"participant": query, "action": "list"}).content.decode()
        assert "caseload list" in body, f"the list entry is found by {query!r}"
        assert f"{target.family_name}, {target.given_name} ({target.case_number})" in body
    assert (
        "No entry matches"
        in auditor.get("/audit/", {"participant": "C-99999", "action": "list"}).content.decode()
    )


def test_ten_list_pages_are_ten_entries_not_one_per_participant(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    for _ in range(12):
        make_participant()
    client = client_for(officer)
    for _ in range(10):
        client.get("/participants/")
    assert AccessLogEntry.objects.filter(action=AccessAction.LIST).count() == 10


def test_a_portal_read_shows_the_participant_as_the_reader(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    portal_client: Callable[..., Client],
    client_for: Callable[[User], Client],
) -> None:
    person = make_participant(given_name="Rosa", family_name="Quispe")
    portal_client(person).get("/me/my-data/")
    entry = AccessLogEntry.objects.filter(what__startswith="participant self-service").first()
    assert entry is not None
    assert entry.reader_participant_id == person.pk
    body = client_for(make_user(Role.AUDITOR)).get("/audit/").content.decode()
    assert f"Quispe, Rosa ({person.case_number}) (the participant)" in body


# --- finding a participant: the index of whom each entry is about ---------------------------


def test_each_entry_is_indexed_by_everyone_it_is_about_at_its_time() -> None:
    access_log_record(user=None, action=AccessAction.LIST, what="a list", participant_ids=[7, 8, 9])
    access_log_record(user=None, action=AccessAction.VIEW, what="a record", participant_ids=[7])
    access_log_record(
        user=None,
        action=AccessAction.VIEW,
        what="own data",
        participant_ids=[None],
        by_participant=5,
    )
    indexed = {
        (row.entry.what, row.subject_id, row.at == row.entry.at)
        for row in AccessLogSubject.objects.select_related("entry")
    }
    assert indexed == {
        ("a list", 7, True),
        ("a list", 8, True),
        ("a list", 9, True),
        ("a record", 7, True),
        ("own data", 5, True),
    }, "a list's every participant, a record's one, a participant reading their own data"


def test_the_participant_filter_finds_their_records_read_and_the_lists_they_were_in(
    make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    access_log_record(
        user=None, action=AccessAction.VIEW, what="record of 41", participant_ids=[41]
    )
    access_log_record(
        user=None, action=AccessAction.LIST, what="list with 41", participant_ids=[40, 41, 42]
    )
    access_log_record(
        user=None, action=AccessAction.VIEW, what="record of 42", participant_ids=[42]
    )
    access_log_record(
        user=None, action=AccessAction.LIST, what="list without 41", participant_ids=[40, 42, 410]
    )
    body = client_for(make_user(Role.AUDITOR)).get("/audit/", {"participant": "41"}).content
    assert b"record of 41" in body
    assert b"list with 41" in body
    assert b"record of 42" not in body
    assert b"list without 41" not in body, "41 is not 410"
    assert b"2 entries" in body


def test_past_ten_thousand_the_log_says_how_many_at_least(
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(paging, "COUNT_CAP", 2)
    for n in range(3):
        access_log_record(
            user=None, action=AccessAction.VIEW, what=f"read {n}", participant_ids=[n]
        )
    auditor = client_for(make_user(Role.AUDITOR))
    assert "2+ entries" in auditor.get("/audit/").content.decode()
    assert "1 entry" in auditor.get("/audit/", {"participant": "1"}).content.decode(), (
        "under the cap, the count is exact"
    )


def test_a_long_list_entry_names_a_few_and_counts_the_rest_with_the_one_filtered_for_first(
    make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    listed = list(range(1000, 1300))
    access_log_record(user=None, action=AccessAction.LIST, what="live map", participant_ids=listed)
    auditor = client_for(make_user(Role.AUDITOR))
    body = auditor.get("/audit/").content.decode()
    assert "300 participants" in body
    assert "participant 1000 (no longer on file)" in body
    assert "participant 1299 (no longer on file)" not in body
    assert "and 275 more" in body
    body = auditor.get("/audit/", {"participant": "1299"}).content.decode()
    assert "participant 1299 (no longer on file)" in body, "the one filtered for is named"
    assert "and 275 more" in body
