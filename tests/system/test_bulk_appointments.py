"""Bulk cancellation from the day page over the running web process: the officer ticks two
appointments, sees the preview of which and whose (nothing changed yet), confirms with the
reason, and the day page and the API show both cancelled; the run's page then undoes it and
both are booked again at their time (``schedule.services.bulk_records``)."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest

from tests.system.harness import Api, System, enrol, office_id

pytestmark = pytest.mark.xdist_group("system")

_TOKEN = re.compile(r'name="token" value="([^"]+)"')


def _room_for_two(api: Api, office: int, day: dt.date) -> list[dict[str, Any]]:
    """The office's slots on ``day`` with at least two free places."""
    slots: list[dict[str, Any]] = api.get(f"/offices/{office}/slots", day=day.isoformat())
    return [s for s in slots if s["capacity"] - s["booked"] >= 2]


def _statuses(api: Api, people: list[dict[str, Any]]) -> set[str]:
    return {a["status"] for p in people for a in api.get(f"/participants/{p['id']}/appointments")}


def _two_booked(
    system: System, api: Api, name: str, days_ahead: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dt.date]:
    """Two people named ``name`` enrolled by the officer and booked into the same office
    slot, on the first day ``days_ahead`` or later with room for both: (people, their
    appointments, the day)."""
    office = office_id(api)
    people = [enrol(system, given_name=name) for _ in range(2)]
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=days_ahead)
    while not (slots := _room_for_two(api, office, day)):
        day += dt.timedelta(days=1)
    booked = [
        api.post(
            f"/participants/{p['id']}/appointments",
            {"type": "routine_checkin", "starts_at": slots[0]["starts_at"]},
        )
        for p in people
    ]
    return people, booked, day


def test_an_officer_cancels_two_appointments_through_a_preview_and_a_confirmation(
    system: System,
) -> None:
    api = system.api("olivia")
    people, booked, day = _two_booked(system, api, "Noor", 9)
    browser = system.browser("olivia")
    day_page = f"/schedule/today/?date={day.isoformat()}"
    preview = browser.submit(
        day_page,
        {
            "appointments": [a["id"] for a in booked],
            "action": "cancel",
            "reason": "The office is closed for repairs",
            "next": day_page,
        },
        action="/schedule/bulk/",
    )
    assert preview.status_code == 200, preview.text[-1500:]
    assert "Cancel: 2 appointments" in preview.text
    assert all(f"Noor {p['family_name']}" in preview.text for p in people)
    assert _statuses(api, people) == {"booked"}, "a preview changes nothing"

    token = html.unescape(_TOKEN.findall(preview.text)[0])
    done = browser.post_form(
        "/schedule/bulk/",
        preview.text,
        {"token": token, "reason": "The office is closed for repairs", "next": day_page},
    )
    assert done.status_code == 302
    assert "2 appointment(s) cancelled" in browser.page(day_page)
    assert _statuses(api, people) == {"cancelled"}


def test_a_supervisor_closes_a_day_through_a_preview_of_whom_it_moves(system: System) -> None:
    api = system.api("olivia")
    office = office_id(api)
    person = enrol(system, given_name="Yara")
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=40)
    while not (slots := _room_for_two(api, office, day)):
        day += dt.timedelta(days=1)
    booked = api.post(
        f"/participants/{person['id']}/appointments",
        {"type": "routine_checkin", "starts_at": slots[0]["starts_at"]},
    )
    browser = system.browser("sam")
    calendar = f"/schedule/offices/{office}/"
    close = {"form": "close", "day": day.isoformat(), "reason": "Staff training day"}
    preview = browser.submit(calendar, close)
    assert preview.status_code == 200, preview.text[-1500:]
    assert "1 appointment booked that day will move" in preview.text
    assert f"Yara {person['family_name']}" in preview.text
    assert day.isoformat() not in browser.page(calendar), "a preview closes nothing"

    token = html.unescape(_TOKEN.findall(preview.text)[0])
    done = browser.post_form(calendar, preview.text, {**close, "token": token})
    assert done.status_code == 302
    assert "1 appointment(s) moved" in browser.page(calendar)
    appointments = api.get(f"/participants/{person['id']}/appointments")
    (now_booked,) = [a for a in appointments if a["status"] == "booked"]
    assert now_booked["starts_at"] != booked["starts_at"]


def test_an_officer_cancels_two_appointments_with_a_reason_then_undoes_it(
    system: System,
) -> None:
    api = system.api("olivia")
    people, booked, day = _two_booked(system, api, "Ilse", 16)
    browser = system.browser("olivia")
    day_page = f"/schedule/today/?date={day.isoformat()}"
    ticked = {"appointments": [a["id"] for a in booked], "action": "cancel", "next": day_page}
    preview = browser.submit(day_page, {**ticked, "reason": ""}, action="/schedule/bulk/")
    assert preview.status_code == 200, preview.text[-1500:]
    token = html.unescape(_TOKEN.findall(preview.text)[0])

    no_reason = browser.post_form(
        "/schedule/bulk/", preview.text, {"token": token, "reason": " ", "next": day_page}
    )
    assert no_reason.status_code == 400, "the confirmation asks a reason"
    assert _statuses(api, people) == {"booked"}

    reason = "Olivia is called to court that morning"
    done = browser.post_form(
        "/schedule/bulk/", preview.text, {"token": token, "reason": reason, "next": day_page}
    )
    assert done.status_code == 302
    run_page = done.headers["Location"]
    shown = browser.page(run_page)
    assert "2 appointment(s) cancelled" in shown
    assert reason in shown
    assert all(f"Ilse {p['family_name']}" in shown for p in people)
    assert "Undo this" in shown
    assert _statuses(api, people) == {"cancelled"}

    undone = browser.submit(run_page, {}, action=run_page + "undo/")
    assert undone.status_code == 302
    assert "2 appointment(s) put back" in browser.page(undone.headers["Location"])
    for person, appointment in zip(people, booked, strict=True):
        now_booked = [
            a
            for a in api.get(f"/participants/{person['id']}/appointments")
            if a["status"] == "booked"
        ]
        assert [a["starts_at"] for a in now_booked] == [appointment["starts_at"]]
    assert "Undo this" not in browser.page(run_page), "a run is undone once"
