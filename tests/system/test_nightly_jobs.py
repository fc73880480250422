"""The daily, nightly and weekly jobs, run by the worker on its schedule (every 10 s here) and
by an operator with ``ontrack jobs run`` after an outage: what they do shows on the pages
and in the mailbox."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest

from tests.messaging.sinks import mail_attachments
from tests.system.harness import Browser, System, enrol, eventually, mail_text

# One running system serves every scenario (session fixture): keep them on one
# xdist worker so that it starts once.
pytestmark = [pytest.mark.xdist_group("system"), pytest.mark.both_databases]

HOME = (40.7357, -74.1724)


def _fix(days_ago: float) -> dict[str, object]:
    when = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
    return {"at": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "lat": HOME[0], "lon": HOME[1]}


def _exported_times(officer: Browser, pid: int) -> list[str]:
    """The fix times in the participant's full location history, as the officer downloads
    it from the track page."""
    response = officer.submit(
        f"/tracking/participants/{pid}/track/",
        {"purpose": "system test: retention check"},
        action=f"/tracking/participants/{pid}/export.csv",
    )
    assert response.status_code == 200, response.text[:500]
    return sorted(row["time"] for row in csv.DictReader(io.StringIO(response.text)))


def _long_worn_device(system: System) -> tuple[int, str, str]:
    """A seeded participant's device fitted at least three days ago, as an administrator
    finds it in the inventory: (participant id, identifier, protocol)."""
    administrator = system.browser("ada")
    devices = system.api("ada").get("/devices", status="assigned", page_size=200)["results"]
    three_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    for device in devices:
        if device["protocol"] not in ("gt06", "teltonika", "osmand"):
            continue
        page = administrator.page(f"/tracking/devices/{device['id']}/")
        wearer = re.search(r'<dt>Worn by</dt><dd><a href="/participants/(\d+)/"', page)
        fitted = re.search(r'<li><time datetime="([^"]+)">', page)
        if wearer and fitted and dt.datetime.fromisoformat(fitted.group(1)) < three_days_ago:
            return int(wearer.group(1)), device["identifier"], device["protocol"]
    raise AssertionError("ontrack seed fitted no device three days ago or more")


def test_positions_past_a_shortened_retention_period_are_purged_by_the_worker(
    system: System,
) -> None:
    pid, identifier, protocol = _long_worn_device(system)
    old, older, recent = _fix(2.0), _fix(2.1), _fix(0.001)
    system.simulate(
        {"wearers": [{"device": identifier, "protocol": protocol,
                      "steps": [older, old, recent]}]}
    )  # fmt: skip
    administrator = system.browser("ada")
    sent = {str(fix["at"]) for fix in (older, old, recent)}
    eventually(
        lambda: sent <= set(_exported_times(administrator, pid)),
        what="the three fixes in the location history",
    )

    added = administrator.submit(
        "/admin/audit/retentionpolicy/add/", {"kind": "positions", "days": "1", "_save": "Save"}
    )
    assert added.status_code == 302, f"policy not saved: {added.text[-2000:]}"

    def purged() -> list[str] | None:
        times = _exported_times(administrator, pid)
        return times if older["at"] not in times and old["at"] not in times else None

    remaining = eventually(
        purged, what="the worker's nightly purge to remove the fixes older than a day"
    )
    assert recent["at"] in remaining, "a fix within the period is kept"

    # An operator making good a missed night runs the job by hand: recorded like a run.
    result = system.ontrack("jobs", "run", "retention_purge_nightly")
    assert result.stdout.startswith("retention_purge_nightly: done")
    assert _exported_times(administrator, pid) == remaining


def test_a_plan_whose_review_date_has_come_gets_a_review_in_the_supervisors_queue(
    system: System,
) -> None:
    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).date().isoformat()
    participant = enrol(system, plan={"level": "intensive", "review_date": yesterday})
    name = f"{participant['given_name']} {participant['family_name']}"
    supervisor = system.browser("sam")
    eventually(
        lambda: name in supervisor.page("/reviews/"),
        what="the worker's review-due job to open a review for the participant",
    )


def test_a_supervisor_gets_the_weekly_summary_once_with_its_pdf(system: System) -> None:
    def summaries() -> list[Any]:
        return [
            mail
            for mail in system.mailbox.received
            if mail["To"] == "sam@example.org"
            and str(mail["Subject"]).startswith("Weekly summary of Newark Field Office: ")
        ]

    (mail,) = eventually(summaries, what="the supervisor's weekly summary at the SMTP server")
    text = mail_text(mail)
    assert "Check-in windows: On time " in text
    assert "Alerts that reached the queue: Alerts " in text
    ((filename, content_type, pdf),) = mail_attachments(mail)
    assert filename.startswith("weekly-summary-")
    assert content_type == "application/pdf"
    assert pdf.startswith(b"%PDF-")

    # The job ran every 10 s since; run by hand too, it still sends nothing more this week.
    result = system.ontrack("jobs", "run", "reports_weekly_summaries")
    assert result.stdout.startswith("reports_weekly_summaries: done")
    assert result.stdout.split()[-1] == "0", "no second summary for the same week"
