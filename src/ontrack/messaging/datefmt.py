"""Dates and times as a participant reads them, in their language and on their clock (pure).

Babel is not in the stack and Django ships no locale data for Haitian Creole, so the five
shipped languages carry their own day and month names and one pattern each, written the way
a short notice in that language puts a date: "Tuesday, March 10 at 9:00 AM",
"martes 10 de marzo a las 9:00", "terça-feira, 10 de março às 9:00", "madi 10 mas a 9:00",
"mardi 10 mars à 9 h 00". Any other language gets the caller's fallback language.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

DAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "pt": (
        "segunda-feira",
        "terça-feira",
        "quarta-feira",
        "quinta-feira",
        "sexta-feira",
        "sábado",
        "domingo",
    ),
    "ht": ("lendi", "madi", "mèkredi", "jedi", "vandredi", "samdi", "dimanch"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
}
MONTHS = {
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
    "es": (
        "enero", "febrero", "marzo", "abril", "mayo", "junio",
        "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
    ),
    "pt": (
        "janeiro", "fevereiro", "março", "abril", "maio", "junho",
        "julho", "agosto", "setembro", "outubro", "novembro", "dezembro",
    ),
    "ht": (
        "janvye", "fevriye", "mas", "avril", "me", "jen",
        "jiyè", "out", "septanm", "oktòb", "novanm", "desanm",
    ),
    "fr": (
        "janvier", "février", "mars", "avril", "mai", "juin",
        "juillet", "août", "septembre", "octobre", "novembre", "décembre",
    ),
}  # fmt: skip
LANGUAGES = frozenset(DAYS)


def _clock(local: dt.datetime, language: str) -> str:
    if language == "en":
        hour = local.hour % 12 or 12
        return f"{hour}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"
    if language == "fr":
        return f"{local.hour} h {local.minute:02d}"
    return f"{local.hour}:{local.minute:02d}"


def format_date(day: dt.date, language: str) -> str:
    weekday, month = DAYS[language][day.weekday()], MONTHS[language][day.month - 1]
    if language == "en":
        return f"{weekday}, {month} {day.day}"
    if language in {"es", "pt"}:
        return f"{weekday}{',' if language == 'pt' else ''} {day.day} de {month}"
    return f"{weekday} {day.day} {month}"


def format_datetime(instant: dt.datetime, language: str, tz: ZoneInfo) -> str:
    """``instant`` (aware) on ``tz``'s clock, in ``language`` (one of ``LANGUAGES``)."""
    if instant.tzinfo is None:
        raise ValueError("format_datetime needs an aware datetime")
    local = instant.astimezone(tz)
    day, clock = format_date(local.date(), language), _clock(local, language)
    joiner = {"en": " at ", "es": " a las ", "pt": " às ", "ht": " a ", "fr": " à "}[language]
    if local.hour == 1 and language in {"es", "pt"}:
        joiner = " a la " if language == "es" else " à "
    return f"{day}{joiner}{clock}"
