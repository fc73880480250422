"""The caseload over the running web process: a supervisor pages through their office's
whole caseload by the console's Next links and back by its Previous links, the API's cursors
walk the same list in the same order, and a few letters from inside a name find the person
(the keyset pages and the trigram index of ``participants.caseload_pages`` and
``participants.search``)."""

from __future__ import annotations

import html
import os
import re
from typing import Any

import pytest

from tests.system.harness import Api, Browser, System, enrol

pytestmark = pytest.mark.xdist_group("system")

PAGE = 50  # the console's page size (ONTRACK_PAGE_SIZE)
_ROW = re.compile(r'<td data-label="Name"><a href="/participants/(\d+)/">')


def _link(page: str, rel: str) -> str | None:
    found = re.search(rf'href="\?([^"]*)" rel="{rel}"', page)
    return html.unescape(found.group(1)) if found else None


def _console_walk(browser: Browser, query: str, rel: str) -> list[list[int]]:
    """The pages reached by following ``rel`` links from the page at ``query``."""
    pages = []
    while True:
        page = browser.page("/participants/?" + query)
        pages.append([int(pk) for pk in _ROW.findall(page)])
        follow = _link(page, rel)
        if follow is None:
            return pages
        query = follow


def _api_walk(api: Api, **params: Any) -> list[int]:
    data = api.get("/participants", page_size=7, **params)
    ids = [row["id"] for row in data["results"]]
    while data["next"]:
        data = api.get("/participants", page_size=7, cursor=data["next"], **params)
        ids += [row["id"] for row in data["results"]]
    return ids


def test_a_supervisor_pages_through_the_caseload_and_finds_a_person_by_part_of_a_name(
    system: System,
) -> None:
    api = system.api("sam")
    shown = api.get("/participants", page_size=1)["count"]
    stem = f"Paging{os.getpid()}"
    for n in range(max(0, PAGE + 1 - shown) + 2):  # enough for a second console page
        enrol(system, family_name=f"{stem} {n:02d}", given_name="Ines")
    sought = enrol(system, family_name=f"Quillfeather{os.getpid()}", given_name="Odile")

    expected = _api_walk(api, sort="-name")
    assert len(expected) == len(set(expected)) == api.get("/participants")["count"]
    assert sought["id"] in expected

    browser = system.browser("sam")
    forward = _console_walk(browser, "sort=-name", "next")
    assert len(forward) >= 2
    assert all(len(page) == PAGE for page in forward[:-1])
    assert [pk for page in forward for pk in page] == expected
    back = _console_walk(browser, "sort=-name&last=1", "prev")
    assert [pk for page in reversed(back) for pk in page] == expected

    found = browser.page("/participants/", q="llfeath")
    assert f"Quillfeather{os.getpid()}, Odile" in found
    assert "1 participant</p>" in found
    assert [int(pk) for pk in _ROW.findall(found)] == [sought["id"]]
    assert [row["id"] for row in api.get("/participants", q="LLFEATH")["results"]] == [sought["id"]]

    assert browser.get("/participants/", after="forged:cursor").status_code == 400
    refused = api.session.get(api.base_url + "/participants", params={"cursor": "x"}, timeout=60)
    assert refused.status_code == 422
