"""Least-privilege access, proved through the console and the API by the denial each role
gets (403 or 404), never by a silently empty page."""

import json
from collections.abc import Callable
from typing import TypedDict

import pytest
from django.test import Client

from ontrack.accounts.models import Office, Role, User
from ontrack.accounts.services import api_token_create
from ontrack.participants.models import Participant, Phone
from ontrack.participants.queries import participant_visible_q, participants_visible_to

pytestmark = pytest.mark.django_db


class TwoOffices(TypedDict):
    """A participant of an officer, one of a colleague in the same office, one in Boston."""

    mine: Participant
    colleague: Participant
    boston: Participant
    newark_officer: User


@pytest.fixture
def two_offices(
    make_office: Callable[..., Office],
    make_user: Callable[..., User],
    make_participant: Callable[..., Participant],
) -> TwoOffices:
    newark_officer = make_user(Role.OFFICER, username="newark_officer")
    colleague = make_user(Role.OFFICER, username="newark_colleague")
    boston = make_office("Boston")
    boston_officer = make_user(Role.OFFICER, office=boston, username="boston_officer")
    return {
        "mine": make_participant(officer=newark_officer, case_number="MINE-1"),
        "colleague": make_participant(officer=colleague, case_number="COLL-1"),
        "boston": make_participant(officer=boston_officer, case_number="BOS-1"),
        "newark_officer": newark_officer,
    }


def _case_numbers(content: bytes) -> set[str]:
    return {row["case_number"] for row in json.loads(content)["results"]}


def test_officer_sees_only_own_caseload(
    two_offices: TwoOffices, client_for: Callable[[User], Client]
) -> None:
    client = client_for(two_offices["newark_officer"])
    page = client.get("/participants/")
    assert b"MINE-1" in page.content
    assert b"COLL-1" not in page.content
    assert b"BOS-1" not in page.content
    assert client.get(f"/participants/{two_offices['mine'].pk}/").status_code == 200
    assert client.get(f"/participants/{two_offices['colleague'].pk}/").status_code == 404
    assert client.get(f"/participants/{two_offices['boston'].pk}/").status_code == 404


def test_officer_cannot_edit_a_colleagues_participant(
    two_offices: TwoOffices, client_for: Callable[[User], Client]
) -> None:
    client = client_for(two_offices["newark_officer"])
    response = client.post(
        f"/participants/{two_offices['colleague'].pk}/close/", {"reason": "case_concluded"}
    )
    assert response.status_code == 404
    two_offices["colleague"].refresh_from_db()
    assert two_offices["colleague"].status == "enrolled"


def test_supervisor_sees_own_office_only(
    two_offices: TwoOffices,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    client = client_for(make_user(Role.SUPERVISOR))
    page = client.get("/participants/")
    assert b"MINE-1" in page.content
    assert b"COLL-1" in page.content
    assert b"BOS-1" not in page.content
    assert client.get(f"/participants/{two_offices['boston'].pk}/").status_code == 404


def test_operator_reads_all_offices_but_changes_nothing(
    two_offices: TwoOffices,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    client = client_for(make_user(Role.OPERATOR))
    assert client.get(f"/participants/{two_offices['boston'].pk}/").status_code == 200
    assert client.get(f"/participants/{two_offices['boston'].pk}/edit/").status_code == 403
    assert client.get("/participants/enrol/").status_code == 403
    response = client.post(
        f"/participants/{two_offices['boston'].pk}/close/", {"reason": "case_concluded"}
    )
    assert response.status_code == 403


def test_auditor_reads_only_the_access_log(
    two_offices: TwoOffices,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    client = client_for(make_user(Role.AUDITOR))
    assert client.get("/participants/").status_code == 403
    assert client.get(f"/participants/{two_offices['mine'].pk}/").status_code == 404
    assert client.get("/audit/").status_code == 200
    assert client.get("/api/participants").status_code == 200
    assert json.loads(client.get("/api/participants").content)["count"] == 0
    assert client.get(f"/api/participants/{two_offices['mine'].pk}").status_code == 404


def test_officer_cannot_read_the_access_log(
    two_offices: TwoOffices, client_for: Callable[[User], Client]
) -> None:
    assert client_for(two_offices["newark_officer"]).get("/audit/").status_code == 403


def test_anonymous_is_sent_to_sign_in_and_refused_by_the_api(
    two_offices: TwoOffices, client: Client
) -> None:
    response = client.get("/participants/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]
    assert client.get("/api/participants").status_code == 401


def test_api_token_gets_the_same_rules_as_the_console(
    two_offices: TwoOffices, client: Client
) -> None:
    _, secret = api_token_create(user=two_offices["newark_officer"], name="integration")
    auth = {"Authorization": f"Bearer {secret}"}
    listing = client.get("/api/participants", headers=auth)
    assert listing.status_code == 200
    assert _case_numbers(listing.content) == {"MINE-1"}
    boston = client.get(f"/api/participants/{two_offices['boston'].pk}", headers=auth)
    assert boston.status_code == 404
    response = client.post(
        f"/api/participants/{two_offices['colleague'].pk}/close",
        data={"reason": "case_concluded"},
        content_type="application/json",
        headers=auth,
    )
    assert response.status_code == 404


def test_revoked_or_forged_token_is_refused(two_offices: TwoOffices, client: Client) -> None:
    from ontrack.accounts.services import api_token_revoke

    token, secret = api_token_create(user=two_offices["newark_officer"], name="old")
    api_token_revoke(token=token)
    assert client.get("/api/participants", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401
    assert client.get("/api/participants", HTTP_AUTHORIZATION="Bearer ot_forged").status_code == 401


def test_operator_api_write_is_forbidden(
    two_offices: TwoOffices, make_user: Callable[..., User], client: Client
) -> None:
    _, secret = api_token_create(user=make_user(Role.OPERATOR), name="ops")
    response = client.patch(
        f"/api/participants/{two_offices['boston'].pk}",
        data={"given_name": "X"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 403


def test_the_scope_as_a_join_names_the_same_people_for_every_role(
    two_offices: TwoOffices, make_user: Callable[..., User]
) -> None:
    """``participant_visible_q`` (the scope as a condition on another table's participant,
    for the lists SQLite plans badly from ``IN (SELECT ...)``) and ``participants_visible_to``
    must never disagree on whom a role sees."""
    for person in Participant.objects.all():
        Phone.objects.create(participant=person, number=f"+1973555{person.pk:04d}")
    staff = [
        two_offices["newark_officer"],
        *(make_user(role) for role in Role.values if role != Role.OFFICER),
    ]
    for user in staff:
        as_join = Phone.objects.filter(participant_visible_q(user, "participant"))
        as_list = Phone.objects.filter(participant__in=participants_visible_to(user))
        assert sorted(as_join.values_list("pk", flat=True)) == sorted(
            as_list.values_list("pk", flat=True)
        ), user.role
        assert as_join.exists() == (user.role != Role.AUDITOR)
