"""The simulator's opening incidents: what a demo shows in its first minute."""

from __future__ import annotations

import datetime as dt

from ontrack.tracking.simulator.wearers import (
    EXCLUSION,
    LOW_BATTERY,
    OPENING_WITHIN_S,
    SILENT,
    TAMPER,
    Wearer,
    _distance_m,
)

START = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
RATE_S = 30.0


def _wearer(opening: str) -> Wearer:
    for n in range(1000):
        wearer = Wearer.create(f"35{n:013d}", 2026)
        if wearer.opening == opening:
            return wearer
    raise AssertionError(f"no wearer with the {opening} opening among 1000")


def _run(wearer: Wearer, seconds: float) -> list[list[str]]:
    """The events of each report sent over ``seconds`` at the demo's rate."""
    sent = []
    at = START
    while at <= START + dt.timedelta(seconds=seconds):
        sent += [list(report.events) for report in wearer.step(at, RATE_S)]
        at += dt.timedelta(seconds=RATE_S)
    return sent


def test_a_tamper_opening_reports_the_strap_once_within_the_first_minute() -> None:
    reports = _run(_wearer(TAMPER), OPENING_WITHIN_S + RATE_S)
    assert sum("tamper" in events for events in reports) == 1


def test_a_low_battery_opening_starts_below_the_alert_threshold_and_off_charge() -> None:
    wearer = _wearer(LOW_BATTERY)
    first = wearer.step(START.replace(hour=3), RATE_S)[0]  # even at night, on no charger
    assert first.battery_pct < 20
    assert not first.charging
    assert "low_battery" in first.events


def test_a_silent_opening_sends_nothing_until_the_silence_is_over_then_its_backlog() -> None:
    wearer = _wearer(SILENT)
    silence = wearer.opening_after_s + wearer.opening_for_s
    assert _run(wearer, silence - RATE_S) == []
    later = wearer.step(START + dt.timedelta(seconds=silence + RATE_S), RATE_S)
    assert len(later) > 10, "the held reports come in one burst"


def test_an_exclusion_opening_starts_at_the_errand_and_returns_without_a_jump() -> None:
    wearer = _wearer(EXCLUSION)
    first = wearer.step(START, RATE_S)[0]
    assert _distance_m((first.lat, first.lon), wearer.errand) < 60
    end = START + dt.timedelta(seconds=wearer.opening_after_s + wearer.opening_for_s)
    before, after = wearer.position(end - dt.timedelta(seconds=1)), wearer.position(end)
    assert _distance_m(before[:2], after[:2]) < 100


def test_openings_do_not_change_homes_routes_or_habits() -> None:
    """The opening is drawn after everything else, so a seeded demo's zones still fit."""
    wearer = Wearer.create("350000000000042", 2026)
    again = Wearer.create("350000000000042", 2026)
    assert (wearer.home, wearer.work, wearer.leave_home) == (
        again.home,
        again.work,
        again.leave_home,
    )
    assert wearer.opening == again.opening
