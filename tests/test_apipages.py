"""The JSON API's pages (``ontrack.apipages``): keyset pages that follow on from their
cursor whatever is added meanwhile and never count the table, and the schema that says so."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ontrack.accounts.models import User
from ontrack.accounts.services import api_token_create
from ontrack.alerts.services import alert_raise
from ontrack.participants.models import Participant

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(officer: User) -> Client:
    _, secret = api_token_create(user=officer, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def raise_alert(make_participant: Callable[..., Participant]) -> Callable[[int], int]:
    def make(minutes_ago: int) -> int:
        alert = alert_raise(
            participant_id=make_participant().pk,
            kind="strap_tamper",
            source=f"device:{minutes_ago}",
            occurred_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
        )
        assert alert is not None
        return alert.pk

    return make


def test_an_alert_raised_between_two_pages_neither_repeats_nor_hides_a_row(
    api: Client, raise_alert: Callable[[int], int]
) -> None:
    older = [raise_alert(minutes) for minutes in (10, 20, 30)]
    first = api.get("/api/alerts", {"page_size": 2}).json()
    raise_alert(0)  # the newest: it sorts before the first page
    second = api.get("/api/alerts", {"page_size": 2, "cursor": first["next"]}).json()
    assert [row["id"] for row in first["results"] + second["results"]] == older
    assert second["next"] is None


def test_a_keyset_page_does_not_count_the_rows(
    api: Client, raise_alert: Callable[[int], int]
) -> None:
    for minutes in (1, 2, 3):
        raise_alert(minutes)
    cursor = api.get("/api/alerts", {"page_size": 1}).json()["next"]
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/alerts", {"page_size": 1, "cursor": cursor}).status_code == 200
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]


def test_a_cursor_the_list_did_not_give_is_refused(
    api: Client, raise_alert: Callable[[int], int]
) -> None:
    raise_alert(1)
    raise_alert(2)
    alerts_cursor = api.get("/api/alerts", {"page_size": 1}).json()["next"]
    assert api.get("/api/alerts", {"cursor": "WyIyMDI2Il0:forged"}).status_code == 422
    assert api.get("/api/messages", {"cursor": alerts_cursor}).status_code == 422, "another list"


def test_the_schema_documents_each_page_and_its_parameters(api: Client) -> None:
    schema = api.get("/api/openapi.json").json()
    pages = schema["components"]["schemas"]
    assert set(pages["PagedAlertOut"]["properties"]) == {"next", "results"}
    assert set(pages["ParticipantPage"]["properties"]) == {
        "next", "previous", "count", "count_capped", "results"
    }  # fmt: skip

    def limit(path: str) -> int:
        parameters = schema["paths"][path]["get"]["parameters"]
        [size] = [p for p in parameters if p["name"] == "page_size"]
        assert any(p["name"] == "cursor" for p in parameters), path
        return int(size["schema"]["maximum"])

    assert limit("/api/alerts") == 200
    assert limit("/api/participants/{participant_id}/positions") == 10_000
