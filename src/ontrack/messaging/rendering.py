"""Fill a template body's ``{variables}`` (pure; no Django).

Bodies are edited by staff in the console, so they are never given to ``str.format``
(which would let ``{x.__class__}`` walk objects): only ``{word}`` placeholders are replaced,
by plain values, with dates written in the reader's language and on their clock. A
placeholder with no value is left as it is, so a preview shows what is missing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from ontrack.messaging.datefmt import format_date, format_datetime

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def variables(body: str) -> list[str]:
    """The placeholders a body uses, in order of first use."""
    return list(dict.fromkeys(PLACEHOLDER.findall(body)))


def display(value: object, language: str, tz: ZoneInfo) -> str:
    if isinstance(value, dt.datetime):
        return format_datetime(value, language, tz)
    if isinstance(value, dt.date):
        return format_date(value, language)
    return str(value)


def render(body: str, values: Mapping[str, object], language: str, tz: ZoneInfo) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        return display(values[name], language, tz)

    return PLACEHOLDER.sub(fill, body)


def _example_values() -> dict[str, object]:
    when = dt.datetime(2026, 3, 10, 14, 30, tzinfo=dt.UTC)
    return {
        "name": "María", "office": "Newark Field Office", "office_phone": "+1 973 555 0100",
        "office_address": "970 Broad St, Newark, NJ 07102", "when": when, "until": when,
        "date": when.date(), "place": "970 Broad St, Newark", "purpose": "Plan review",
        "code": "482913", "link": "https://ontrack.example.org/me/link/abc/",
        "reference": "C-204118", "outcome": "level lowered to standard",
        "client": "María García", "notice": "(the notice)",
    }  # fmt: skip


def preview_render(body: str, language: str) -> str:
    """``body`` with example values, for the template editor: what a reader in New York
    would get, so its length and encoding are the real ones."""
    from ontrack.messaging.datefmt import LANGUAGES

    fmt = language if language in LANGUAGES else "en"
    return render(body, _example_values(), fmt, ZoneInfo("America/New_York"))
