"""The caseload a page at a time by keyset: every sort, both ways, through ties, to the last
page and back, on the console page and the API; a cursor the list did not give is a 400 on
the page and a 422 on the API."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Callable
from urllib.parse import parse_qs

import pytest
from django.core import signing
from django.db import connection
from django.db.models import QuerySet
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ontrack.accounts.models import User
from ontrack.participants import caseload_pages
from ontrack.participants.caseload_pages import (
    CURSOR_SALT,
    BadCursor,
    CaseloadPage,
    caseload_page,
    cursor_key,
    row_cursor,
)
from ontrack.participants.models import Level, Participant, Status
from ontrack.participants.queries import SORTS

pytestmark = pytest.mark.django_db

# Ties on purpose: two people with the same name, several sharing a status, a level and an
# enrolment time, so that only the id tells them apart.
NAMES = [
    ("Ortiz", "Ana"),
    ("Ortiz", "Ana"),
    ("Baptiste", "Luc"),
    ("Zhou", "Wei"),
    ("Adams", "Kim"),
    ("Ortiz", "Bea"),
    ("Mbeki", "Thabo"),
]


@pytest.fixture
def caseload(make_participant: Callable[..., Participant]) -> list[Participant]:
    people = [make_participant(family_name=f, given_name=g) for f, g in NAMES]
    same_time = timezone.now() - dt.timedelta(days=3)
    Participant.objects.filter(pk__in=[p.pk for p in people[:4]]).update(enrolled_at=same_time)
    Participant.objects.filter(pk__in=[people[1].pk, people[4].pk, people[5].pk]).update(
        status=Status.ACTIVE, level=Level.HIGH
    )
    return people


def _in_order(sort: str) -> list[int]:
    return list(Participant.objects.order_by(*SORTS[sort]).values_list("pk", flat=True))


def _walk_forward(rows: QuerySet[Participant], sort: str, size: int) -> list[CaseloadPage]:
    pages = [caseload_page(rows, sort, size=size)]
    while pages[-1].next_cursor:
        pages.append(caseload_page(rows, sort, after=pages[-1].next_cursor, size=size))
    return pages


def _walk_back(rows: QuerySet[Participant], sort: str, size: int) -> list[CaseloadPage]:
    pages = [caseload_page(rows, sort, last=True, size=size)]
    while pages[0].previous_cursor:
        pages.insert(0, caseload_page(rows, sort, before=pages[0].previous_cursor, size=size))
    return pages


@pytest.mark.parametrize("sort", list(SORTS))
def test_every_sort_pages_forward_and_back_through_ties_in_the_lists_order(
    caseload: list[Participant], sort: str
) -> None:
    expected = _in_order(sort)
    rows = Participant.objects.all()
    forward = _walk_forward(rows, sort, size=2)
    assert [p.pk for page in forward for p in page.rows] == expected
    assert forward[0].previous_cursor is None
    assert forward[-1].next_cursor is None
    assert forward[-1].at_end
    assert all(len(page.rows) == 2 for page in forward[:-1])
    back = _walk_back(rows, sort, size=2)
    assert [p.pk for page in back for p in page.rows] == expected
    assert [p.pk for p in back[-1].rows] == expected[-2:]  # the last page is full
    assert back[0].previous_cursor is None
    assert back[-1].next_cursor is None


def test_a_middle_page_links_both_ways_to_its_neighbours(caseload: list[Participant]) -> None:
    expected = _in_order("name")
    rows = Participant.objects.all()
    second = caseload_page(
        rows, "name", after=_walk_forward(rows, "name", 3)[0].next_cursor, size=3
    )
    assert [p.pk for p in second.rows] == expected[3:6]
    assert second.previous_cursor
    assert second.next_cursor
    before = caseload_page(rows, "name", before=second.previous_cursor, size=3)
    after = caseload_page(rows, "name", after=second.next_cursor, size=3)
    assert [p.pk for p in before.rows] == expected[:3]
    assert [p.pk for p in after.rows] == expected[6:]


def test_a_deep_page_reads_no_offset_and_counts_no_further_than_the_cap(
    caseload: list[Participant], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(caseload_pages, "COUNT_CAP", 3)
    rows = Participant.objects.all()
    cursor = _walk_forward(rows, "-enrolled", 2)[1].next_cursor
    with CaptureQueriesContext(connection) as queries:
        page = caseload_page(rows, "-enrolled", after=cursor, size=2)
    assert not [q["sql"] for q in queries.captured_queries if "OFFSET" in q["sql"].upper()]
    assert (page.count, page.count_capped) == (3, True)
    assert caseload_page(rows.filter(family_name="Ortiz"), "name").count_capped is False


def test_a_cursor_the_list_did_not_give_is_refused(caseload: list[Participant]) -> None:
    cursor = row_cursor(caseload[0], "name")
    assert cursor_key(cursor, "name")[-1] == caseload[0].pk
    forged = [
        (cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB"), "name"),  # altered
        ("not-a-cursor", "name"),
        (row_cursor(caseload[0], "case"), "name"),  # another sort's
        (signing.dumps(["Ortiz"], salt=f"{CURSOR_SALT}:name"), "name"),  # too short
        (signing.dumps([1, 2, 3], salt=f"{CURSOR_SALT}:name"), "name"),  # wrong types
        (signing.dumps(["x", 7], salt=f"{CURSOR_SALT}:enrolled"), "enrolled"),  # not a time
        (signing.dumps("2026-01-01", salt=f"{CURSOR_SALT}:enrolled"), "enrolled"),  # not a list
    ]
    for bad, sort in forged:
        with pytest.raises(BadCursor):
            cursor_key(bad, sort)
        with pytest.raises(BadCursor):
            caseload_page(Participant.objects.all(), sort, after=bad)


def _next_link(page: str, rel: str) -> str | None:
    found = re.search(rf'href="\?([^"]*)" rel="{rel}"', page)
    return html.unescape(found.group(1)) if found else None


def test_console_next_and_previous_keep_sort_filters_and_search(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
    settings: pytest.FixtureRequest,
) -> None:
    settings.ONTRACK_PAGE_SIZE = 2  # type: ignore[attr-defined]
    for n in range(5):
        make_participant(family_name=f"Quintero {n}", given_name="Rosa")
    make_participant(family_name="Baptiste", given_name="Luc")
    client = client_for(officer)
    first = client.get("/participants/", {"q": "quinter", "status": "enrolled", "sort": "-name"})
    body = first.content.decode()
    assert "5 participants" in body
    assert body.index("Quintero 4") < body.index("Quintero 3")
    seen = re.findall(r"Quintero \d", body)
    link = _next_link(body, "next")
    while link:
        kept = parse_qs(link)
        assert (kept["q"], kept["status"], kept["sort"]) == (["quinter"], ["enrolled"], ["-name"])
        body = client.get("/participants/?" + link).content.decode()
        seen += re.findall(r"Quintero \d", body)
        link = _next_link(body, "next")
    assert seen == [f"Quintero {n}" for n in (4, 3, 2, 1, 0)]
    assert "Baptiste" not in "".join(seen)
    previous = _next_link(body, "prev")
    assert previous
    assert parse_qs(previous)["q"] == ["quinter"]
    back = client.get("/participants/?" + previous).content.decode()
    assert re.findall(r"Quintero \d", back) == ["Quintero 2", "Quintero 1"]


def test_console_answers_a_forged_cursor_with_400_and_a_way_back(
    caseload: list[Participant], officer: User, client_for: Callable[[User], Client]
) -> None:
    client = client_for(officer)
    for parameter in ("after", "before"):
        response = client.get("/participants/", {"sort": "case", parameter: "forged:cursor"})
        assert response.status_code == 400
        body = response.content.decode()
        assert "This page link is not valid" in body
        assert 'href="?sort=case">Go to the first page' in body
    other_sort = row_cursor(caseload[0], "name")
    assert client.get("/participants/", {"sort": "case", "after": other_sort}).status_code == 400


def test_console_says_more_than_the_cap_instead_of_counting_everyone(
    caseload: list[Participant],
    officer: User,
    client_for: Callable[[User], Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(caseload_pages, "COUNT_CAP", 5)
    client = client_for(officer)
    assert "More than 5 participants" in client.get("/participants/").content.decode()
    assert "3 participants" in client.get("/participants/", {"q": "ortiz"}).content.decode()


def test_api_pages_by_cursor_both_ways_and_refuses_a_forged_one_with_422(
    caseload: list[Participant], officer: User, client_for: Callable[[User], Client]
) -> None:
    client = client_for(officer)
    expected = _in_order("-level")
    seen: list[int] = []
    params: dict[str, str | int] = {"sort": "-level", "page_size": 3}
    data = json.loads(client.get("/api/participants", params).content)
    assert (data["count"], data["count_capped"], data["previous"]) == (7, False, None)
    seen += [row["id"] for row in data["results"]]
    while data["next"]:
        last = data
        data = json.loads(
            client.get("/api/participants", {**params, "cursor": data["next"]}).content
        )
        seen += [row["id"] for row in data["results"]]
    assert seen == expected
    back = client.get("/api/participants", {**params, "before": data["previous"]})
    assert [row["id"] for row in json.loads(back.content)["results"]] == [
        row["id"] for row in last["results"]
    ]
    for bad in ("forged", row_cursor(caseload[0], "name")):
        response = client.get("/api/participants", {**params, "cursor": bad})
        assert response.status_code == 422
        assert "cursor" in json.loads(response.content)["detail"]
