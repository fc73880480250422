"""Pages that answer htmx with a fragment (``ontrack.fragments``): the fragment says it
varies by the htmx headers, and htmx 2's history restore gets the whole page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.http import HttpResponseBase
from django.test import Client

from ontrack.accounts.models import User

pytestmark = pytest.mark.django_db


def _vary(response: HttpResponseBase) -> set[str]:
    return {name.strip().lower() for name in response["Vary"].split(",")}


def test_a_fragment_says_it_varies_by_the_htmx_headers(
    officer: User, client_for: Callable[[User], Client]
) -> None:
    response = client_for(officer).get("/alerts/", headers={"HX-Request": "true"})
    assert b"<html" not in response.content, "the queue's table alone"
    assert {"hx-request", "hx-history-restore-request"} <= _vary(response)


def test_the_whole_page_says_so_too(officer: User, client_for: Callable[[User], Client]) -> None:
    """A cache that kept the page must not hand it to htmx for a swap, either."""
    response = client_for(officer).get("/alerts/")
    assert b"<html" in response.content
    assert "hx-request" in _vary(response)


def test_a_history_restore_gets_the_whole_page(
    officer: User, client_for: Callable[[User], Client]
) -> None:
    response = client_for(officer).get(
        "/alerts/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert b"<html" in response.content, "htmx puts it in place of the whole body"


def test_a_fragment_for_one_target_varies_by_the_target(
    officer: User, client_for: Callable[[User], Client]
) -> None:
    client = client_for(officer)
    table = client.get("/participants/", headers={"HX-Request": "true", "HX-Target": "caseload"})
    other = client.get("/participants/", headers={"HX-Request": "true", "HX-Target": "search"})
    assert b"<html" not in table.content
    assert b"<html" in other.content
    assert "hx-target" in _vary(table)
