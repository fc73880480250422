import json

import pytest

from ontrack.accounts.models import Role
from ontrack.accounts.services import api_token_create
from ontrack.audit.models import AccessAction, AccessLogEntry

pytestmark = pytest.mark.django_db


def test_viewing_a_participant_page_is_logged_with_who_and_from_where(
    make_participant, officer, client_for
):
    p = make_participant()
    client_for(officer).get(f"/participants/{p.pk}/", REMOTE_ADDR="10.1.2.3")
    entry = AccessLogEntry.objects.get(action=AccessAction.VIEW)
    assert (entry.user, entry.participant_id, entry.ip_address) == (officer, p.pk, "10.1.2.3")
    assert entry.path == f"/participants/{p.pk}/"


def test_every_participant_shown_in_a_list_is_logged(make_participant, officer, client_for):
    people = [make_participant() for _ in range(3)]
    client_for(officer).get("/participants/")
    logged = set(
        AccessLogEntry.objects.filter(action=AccessAction.LIST).values_list(
            "participant_id", flat=True
        )
    )
    assert logged == {p.pk for p in people}


def test_api_read_is_logged(make_participant, officer, client):
    p = make_participant()
    _, secret = api_token_create(user=officer, name="t")
    client.get(f"/api/participants/{p.pk}", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert AccessLogEntry.objects.filter(
        action=AccessAction.API_READ, participant_id=p.pk, user=officer
    ).exists()


def test_a_refused_read_is_not_logged_as_a_read(make_participant, make_user, client_for):
    p = make_participant()
    client_for(make_user(Role.OFFICER)).get(f"/participants/{p.pk}/")
    assert not AccessLogEntry.objects.filter(action=AccessAction.VIEW).exists()


def test_auditor_filters_the_log_by_participant(make_participant, officer, make_user, client_for):
    a, b = make_participant(), make_participant()
    officer_client = client_for(officer)
    officer_client.get(f"/participants/{a.pk}/")
    officer_client.get(f"/participants/{b.pk}/")
    body = client_for(make_user(Role.AUDITOR)).get("/audit/", {"participant": a.pk}).content
    assert f">{a.pk}<".encode() in body and f">{b.pk}<".encode() not in body


def test_log_survives_the_participant_it_describes(make_participant, officer, client_for):
    p = make_participant()
    client_for(officer).get(f"/participants/{p.pk}/")
    pk = p.pk
    p.delete()
    assert AccessLogEntry.objects.filter(participant_id=pk).exists()


def test_api_list_returns_json_and_logs(make_participant, officer, client_for):
    make_participant()
    data = json.loads(client_for(officer).get("/api/participants").content)
    assert data["count"] == 1
    assert AccessLogEntry.objects.filter(action=AccessAction.LIST).count() == 1
