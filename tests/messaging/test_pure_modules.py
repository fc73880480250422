"""Plain modules: segment counting, reminder-time arithmetic across DST, the token bucket
and fair share, keyword folding, rendering, and the status machine (property-tested)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ontrack.messaging import keywords, segments
from ontrack.messaging.models import FINAL_STATUSES, STATUS_TRANSITIONS, MessageStatus
from ontrack.messaging.ratelimit import TokenBucket, fair_split, interleave, reserve
from ontrack.messaging.reminder_time import in_quiet_hours, reminder_due
from ontrack.messaging.rendering import render

NY = ZoneInfo("America/New_York")
GSM_TEXT = st.text(alphabet=sorted(segments.GSM_BASIC | segments.GSM_EXTENSION), max_size=1000)
ANY_TEXT = st.text(max_size=600)


# --- segments -------------------------------------------------------------------------


def test_known_lengths() -> None:
    assert segments.count("a" * 160).segments == 1
    assert segments.count("a" * 161).segments == 2
    assert segments.count("a" * 306).segments == 2
    assert segments.count("a" * 307).segments == 3
    assert segments.count("€" * 80).segments == 1  # two septets each
    assert segments.count("ã" * 70) == segments.SegmentCount("UCS-2", 70, 1, 70)
    assert segments.count("ã" * 71).segments == 2


def test_creole_stays_gsm_but_spanish_accents_do_not() -> None:
    assert segments.count("Rapèl: ou gen yon randevou madi").encoding == "GSM-7"
    assert segments.count("Recordatorio: tiene una cita el sábado").encoding == "UCS-2"


@given(GSM_TEXT)
def test_gsm_segments_hold_the_text(text: str) -> None:
    cost = segments.count(text)
    assert cost.encoding == "GSM-7"
    if cost.units <= 160:
        assert cost.segments == 1
    else:
        assert (cost.segments - 1) * 153 < cost.units <= cost.segments * 153 + cost.segments


@given(ANY_TEXT)
def test_segments_never_decrease_when_text_grows(text: str) -> None:
    assert segments.count(text + "x").segments >= segments.count(text).segments


@given(ANY_TEXT)
def test_ucs2_is_chosen_exactly_when_a_character_is_outside_gsm(text: str) -> None:
    assert (segments.count(text).encoding == "GSM-7") == segments.is_gsm7(text)


@given(ANY_TEXT)
def test_a_split_puts_the_text_back_together_in_as_many_parts_as_counted(text: str) -> None:
    encoding, parts = segments.split(text)
    cost = segments.count(text)
    assert "".join(parts) == text
    assert encoding == cost.encoding
    assert len(parts) == max(cost.segments, 1)


def test_a_split_never_cuts_an_escape_or_a_surrogate_pair_in_half() -> None:
    gsm = "a" * 152 + "€" + "b" * 10  # the euro sign costs two septets: it may not straddle
    _, parts = segments.split(gsm)
    assert parts[0] == "a" * 152
    assert parts[1].startswith("€")
    ucs2 = "á" * 66 + "😀" + "é" * 10  # an emoji is a surrogate pair in UTF-16
    _, parts = segments.split(ucs2)
    assert parts[0] == "á" * 66
    assert parts[1].startswith("😀")


# --- reminder time --------------------------------------------------------------------


def test_three_days_before_at_nine_across_spring_forward() -> None:
    anchor = dt.datetime(2026, 3, 9, 10, 0, tzinfo=NY)  # Monday after DST starts (Mar 8)
    now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    due = reminder_due(
        anchor_at=anchor, offset=dt.timedelta(days=-3), local_time=dt.time(9), tz=NY, now=now
    )
    assert due is not None
    assert due.astimezone(NY) == dt.datetime(2026, 3, 6, 9, 0, tzinfo=NY)
    assert due.utcoffset() == dt.timedelta(0)
    assert due.hour == 14  # EST


def test_two_hours_before_is_elapsed_time_across_fall_back() -> None:
    anchor = dt.datetime(2026, 11, 1, 2, 30, tzinfo=NY)  # after the clocks went back
    now = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    due = reminder_due(
        anchor_at=anchor, offset=dt.timedelta(hours=-2), local_time=None, tz=NY, now=now
    )
    assert due is not None
    assert anchor - due == dt.timedelta(hours=2)


def test_local_time_in_the_spring_gap_is_taken_after_the_gap() -> None:
    anchor = dt.datetime(2026, 3, 9, 10, 0, tzinfo=NY)
    now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    due = reminder_due(
        anchor_at=anchor, offset=dt.timedelta(days=-1), local_time=dt.time(2, 30), tz=NY, now=now
    )
    assert due is not None
    assert due.astimezone(NY).hour == 3


def test_past_reminder_and_reminder_after_the_anchor_are_none() -> None:
    anchor = dt.datetime(2026, 3, 9, 8, 0, tzinfo=NY)
    assert (
        reminder_due(
            anchor_at=anchor, offset=dt.timedelta(days=-1), local_time=dt.time(9), tz=NY, now=anchor
        )
        is None
    )
    same_day_later = reminder_due(
        anchor_at=anchor, offset=dt.timedelta(0), local_time=dt.time(9), tz=NY,
        now=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
    )  # fmt: skip
    assert same_day_later is None


ZONES = st.sampled_from(
    [
        "America/New_York",
        "America/Los_Angeles",
        "Europe/Paris",
        "America/Sao_Paulo",
        "America/Port-au-Prince",
        "UTC",
    ]
)
# Hypothesis takes naive bounds (it refuses aware ones); timezones= makes every drawn value aware.
INSTANTS = st.datetimes(
    min_value=dt.datetime(2025, 1, 1),  # noqa: DTZ001
    max_value=dt.datetime(2028, 12, 31),  # noqa: DTZ001
    timezones=st.just(dt.UTC),
)


@given(INSTANTS, ZONES, st.integers(1, 10), st.integers(0, 23), st.integers(0, 59))
def test_day_rules_land_on_the_local_clock_before_the_anchor(
    anchor: dt.datetime, zone: str, days: int, hour: int, minute: int
) -> None:
    tz = ZoneInfo(zone)
    now = anchor - dt.timedelta(days=30)
    due = reminder_due(
        anchor_at=anchor,
        offset=dt.timedelta(days=-days),
        local_time=dt.time(hour, minute),
        tz=tz,
        now=now,
    )
    if due is None:
        return
    assert now < due < anchor
    local = due.astimezone(tz)
    assert local.date() == anchor.astimezone(tz).date() - dt.timedelta(days=days)
    # On the wall clock it is the rule's time, or later by at most the DST gap.
    shown = dt.datetime.combine(local.date(), local.time())
    wanted = dt.datetime.combine(local.date(), dt.time(hour, minute))
    assert dt.timedelta(0) <= shown - wanted <= dt.timedelta(hours=1)


@given(INSTANTS, ZONES, st.integers(1, 72 * 60))
def test_quiet_hours_are_always_respected(anchor: dt.datetime, zone: str, minutes: int) -> None:
    tz = ZoneInfo(zone)
    quiet = (dt.time(21), dt.time(8))
    due = reminder_due(
        anchor_at=anchor, offset=dt.timedelta(minutes=-minutes), local_time=None, tz=tz,
        now=anchor - dt.timedelta(days=10), quiet=quiet,
    )  # fmt: skip
    if due is not None:
        assert not in_quiet_hours(due, tz, quiet)
        assert due < anchor


# --- rate limits ------------------------------------------------------------------------


def test_bucket_allows_a_burst_then_paces() -> None:
    bucket = TokenBucket(rate=10, burst=10)
    assert all(bucket.take(1, now=0.0) == 0.0 for _ in range(10))
    assert bucket.take(1, now=0.0) == 0.1
    assert bucket.take(1, now=1.0) == 0.0


@given(st.lists(st.tuples(st.floats(0, 5), st.integers(1, 5)), max_size=50), st.floats(0.5, 50))
def test_bucket_never_exceeds_its_rate_over_time(
    takes: list[tuple[float, int]], rate: float
) -> None:
    bucket = TokenBucket(rate=rate, burst=rate)
    clock, finish = 0.0, 0.0
    total = 0
    for gap, amount in takes:
        clock += gap
        wait = bucket.take(amount, now=clock)
        finish = max(finish, clock + wait)
        total += amount
    assert total <= rate * finish + rate + 1e-6


@given(st.integers(0, 100), st.integers(0, 200), st.integers(0, 200), st.floats(0, 1))
def test_fair_split_fills_capacity_and_keeps_shares(
    capacity: int, direct: int, bulk: int, share: float
) -> None:
    d, b = fair_split(capacity, direct, bulk, share)
    assert 0 <= d <= direct
    assert 0 <= b <= bulk
    assert d + b <= capacity
    assert d + b == min(capacity, direct + bulk)
    if bulk >= capacity:
        assert d >= min(direct, int(capacity * share))


def test_reserve_gives_a_second_sender_the_turns_after_the_first() -> None:
    shared = TokenBucket(rate=10, burst=10)
    first = reserve(shared, [1] * 12, now=0.0, horizon=30)
    second = reserve(shared, [1] * 3, now=0.0, horizon=30)
    assert first == [0.0] * 10 + [pytest.approx(0.1), pytest.approx(0.2)]
    assert second == [pytest.approx(0.3), pytest.approx(0.4), pytest.approx(0.5)]


def test_reserve_stops_at_the_horizon_but_always_lets_one_long_message_through() -> None:
    assert len(reserve(TokenBucket(rate=1, burst=1), [1] * 10, now=0.0, horizon=3)) == 4
    assert reserve(TokenBucket(rate=1, burst=1), [50], now=0.0, horizon=3) == [49.0]
    in_debt = TokenBucket(rate=1, burst=1)
    reserve(in_debt, [50], now=0.0, horizon=3)
    assert reserve(in_debt, [1], now=10.0, horizon=3) == [], "40 s of debt: nothing fits"


@given(
    st.lists(st.tuples(st.floats(0, 2), st.lists(st.integers(1, 4), max_size=20)), max_size=20),
    st.floats(0.5, 50),
)
def test_senders_sharing_a_bucket_never_exceed_its_rate(
    claims: list[tuple[float, list[int]]], rate: float
) -> None:
    """Whatever the claims of any number of senders, the turns they are given keep to the
    rate: by any time t, no more than burst + rate * t tokens' worth has gone."""
    bucket = TokenBucket(rate=rate, burst=rate)
    clock, turns = 0.0, []
    for gap, costs in claims:
        clock += gap
        delays = reserve(bucket, costs, now=clock, horizon=30)
        turns += [(clock + d, c) for d, c in zip(delays, costs, strict=False)]
    turns.sort()
    spent = 0.0
    for at, cost in turns:
        spent += cost
        assert spent <= rate + rate * at + max(c for _, c in turns) + 1e-6


@given(st.integers(0, 30), st.integers(0, 30))
def test_interleave_keeps_every_item_and_the_proportion_of_each_prefix(a: int, b: int) -> None:
    merged = interleave(list(range(a)), [-1 - n for n in range(b)])
    assert sorted(merged) == sorted([*range(a), *(-1 - n for n in range(b))])
    for n in range(1, len(merged) + 1):
        firsts = sum(1 for x in merged[:n] if x >= 0)
        assert abs(firsts - n * a / (a + b)) <= 1


# --- keywords and rendering -------------------------------------------------------------


def test_keywords_in_every_shipped_language() -> None:
    assert {keywords.classify(w) for w in ["YES", "Sí", "sim", "Wi", "Oui."]} == {"confirm"}
    assert {keywords.classify(w) for w in ["HELP", "ayuda", "Ajuda", "ÈD", "aide"]} == {"help"}
    assert {
        keywords.classify(w) for w in ["STOP", "parar", "SISPANN", "Arrêter", "unsubscribe"]
    } == {"stop"}
    assert {keywords.classify(w) for w in ["START", "comenzar", "Kòmanse", "démarrer"]} == {"start"}
    assert keywords.classify("4812") == "pin"
    assert keywords.classify("123") == ""
    assert keywords.classify("si pero no puedo ir el martes") == ""


def test_the_first_word_decides_when_free_text_follows() -> None:
    assert keywords.classify("CAMBIAR por favor") == "reschedule"
    assert keywords.classify("YES thanks") == "confirm"
    assert keywords.classify("Sí gracias") == "confirm"  # the accent makes it "yes"
    assert keywords.classify("Si, ahí estaré") == "confirm"
    assert keywords.classify("Mwen konfime wi") == "confirm"
    assert keywords.classify("STOP texting me") == "stop"
    assert keywords.classify("Y si no voy?") == ""  # "and if I do not go?"
    assert keywords.classify("Cancel my appointment please") == ""  # not an opt-out
    assert keywords.classify("Cancel.") == "stop"
    assert keywords.classify("I said STOP") == ""


def test_language_change_in_every_shipped_language() -> None:
    asks = {
        "LANG ES": "es", "IDIOMA español": "es", "Español": "es", "ESPAÑOL por favor": "es",
        "LANGUE FR": "fr", "Français": "fr", "LANG HT": "ht", "Kreyòl": "ht",
        "LÍNGUA PT": "pt", "Português": "pt", "ENGLISH": "en", "idioma inglés": "en",
    }  # fmt: skip
    for text, language in asks.items():
        assert keywords.parse(text) == keywords.Reply("language", language), text
    assert keywords.parse("LANG") == keywords.Reply("")  # which one? the officer asks
    assert keywords.parse("Frances called me") == keywords.Reply("")  # a name


def test_rendering_fills_only_plain_placeholders() -> None:
    body = "Hola {name}, {when} {missing} {name.__class__}"
    when = dt.datetime(2026, 3, 10, 14, tzinfo=dt.UTC)
    assert render(body, {"name": "Ana", "when": when}, "es", NY) == (
        "Hola Ana, martes 10 de marzo a las 10:00 {missing} {name.__class__}"
    )


# --- status machine ---------------------------------------------------------------------

STATUSES = st.sampled_from(list(MessageStatus.values))
RANK = {
    "queued": 0, "errored": 1, "sending": 2, "held": 2, "sent": 3,
    "delivered": 4, "undelivered": 4, "failed": 4, "cancelled": 4, "suppressed": 4,
}  # fmt: skip


@given(st.lists(STATUSES, max_size=30))
def test_any_sequence_of_updates_moves_forward_and_stops_at_a_final_status(
    updates: list[str],
) -> None:
    status = "queued"
    for wanted in updates:
        if wanted in STATUS_TRANSITIONS[status]:
            # The only step back is errored -> sending, a retry.
            assert (
                RANK[wanted] >= RANK[status]
                or (status, wanted) == ("errored", "sending")
                or (status, wanted) == ("sending", "errored")
            )
            status = wanted
    if status in FINAL_STATUSES:
        assert all(s not in STATUS_TRANSITIONS[status] for s in MessageStatus.values)
