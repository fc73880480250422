"""A caseload file through the import page while the console is in use: the worker checks
and imports it in short transactions, the page shows its progress as it goes, and meanwhile
other people's pages answer (on SQLite, each page's access-log entry needs the one write
lock the import keeps taking; a file held it once for six minutes and pages failed with
"database is locked")."""

from __future__ import annotations

import os
import re
import threading
import time

import pytest

from tests.system.harness import OFFICE, Browser, System, eventually

pytestmark = pytest.mark.xdist_group("system")

ROWS = 500
_PROGRESS = re.compile(r"(\d+) of about (\d+) rows? done")


def _caseload_file() -> bytes:
    prefix = f"IMP-{os.getpid()}"
    # Area code 202: the other scenarios' own numbers (``harness.new_phone``) are in 201, and
    # a text from a number an import gave to someone else would reach that person's record.
    lines = ["case_number,given_name,family_name,date_of_birth,office,phone"]
    lines += [
        f"{prefix}-{n:04d},Rosa,Importada {n},1988-04-12,{OFFICE},202-555-01{n % 100:02d}"
        for n in range(ROWS)
    ]
    return ("\n".join(lines) + "\n").encode()


class _Watcher:
    """Someone else at work: opens their caseload page again and again, noting how each
    request went, until stopped."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.answers: list[tuple[int, float]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            response = self.browser.get("/participants/")
            self.answers.append((response.status_code, time.monotonic() - started))
            time.sleep(0.3)

    def __enter__(self) -> _Watcher:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=90)


def _follow(sam: Browser, status_page: str, done_text: str) -> list[tuple[int, int]]:
    """Poll the status card as the page's htmx does until ``done_text`` shows; return the
    progress figures seen on the way."""
    seen: list[tuple[int, int]] = []

    def finished() -> str | None:
        response = sam.session.get(
            sam.base_url + status_page, headers={"HX-Request": "true"}, timeout=60
        )
        assert response.status_code == 200, f"status card: {response.status_code}"
        match = _PROGRESS.search(response.text)
        if match:
            seen.append((int(match.group(1)), int(match.group(2))))
        return response.text if done_text in response.text else None

    eventually(finished, what=f"{done_text!r} on {status_page}", timeout=300)
    return seen


def test_a_large_import_runs_in_the_worker_with_progress_while_other_pages_answer(
    system: System,
) -> None:
    sam = system.browser("sam")
    with _Watcher(system.browser("olivia")) as watcher:
        uploaded = sam.submit(
            "/participants/import/",
            {},
            files={"file": ("caseload.csv", _caseload_file(), "text/csv")},
        )
        assert uploaded.status_code == 302, f"upload refused: {uploaded.text[-1500:]}"
        status_page = uploaded.headers["Location"]
        assert re.fullmatch(r"/participants/import/\d+/", status_page)
        checked = _follow(sam, status_page, "Check before importing")
        page = sam.page(status_page)
        assert f"<strong>{ROWS}</strong> ready to import" in page

        confirm = f"{status_page}confirm/"
        confirmed = sam.submit(status_page, {}, action=confirm)
        assert confirmed.status_code == 302
        imported = _follow(sam, status_page, "participants enrolled")
        page = sam.page(status_page)
        assert f"<strong>{ROWS}</strong> participants enrolled" in page

    for seen in (checked, imported):
        assert any(0 < done < total for done, total in seen), (
            f"the page showed the rows done part way (saw {seen})"
        )
    assert len(watcher.answers) >= 5, "the other person kept working during the import"
    slow = [(status, round(seconds, 1)) for status, seconds in watcher.answers if seconds > 10]
    failed = [status for status, _ in watcher.answers if status != 200]
    assert not failed, (
        f"every caseload page answered 200 within 10 s while the import ran "
        f"(failed {failed}, slow {slow})"
    )
    assert not slow, (
        f"every caseload page answered 200 within 10 s while the import ran "
        f"(failed {failed}, slow {slow})"
    )
    found = sam.page("/participants/", q=f"IMP-{os.getpid()}-0007")
    assert "Importada 7" in found
