"""What a short reply means, in every shipped language (pure).

Case, accents and punctuation do not matter ("Sí.", "si", "SÍ!" are the same word). The first
word (or the first two or three, for "MWEN KONFIME", "CHANJE DAT") decides, so "CAMBIAR por
favor" and "YES thanks" count as their keyword; the whole text is kept for the officer all
the same. Two kinds of keyword need more than a first word, because they also begin ordinary
sentences:

- STOP synonyms that are everyday verbs ("Cancel my appointment", "Baja el volumen", "End
  of month") count only as the whole reply, which is also how carriers and Twilio read
  them; an opt-out read into a question would silence a person's reminders.
- "Y" (Spanish "and") and "SI" (Spanish and French "if") count with more text only when a
  punctuation mark sets them apart ("Sí, gracias", "Y!") or, for "SÍ", when it carries its
  accent: "si no puedo ir el martes" is a question for the officer, not a confirmation.

A change of language is "LANG ES", "IDIOMA español", "LANGUE FR", "LÍNGUA PT", "LANG HT"...
(a language word, then a code or a name in any shipped language), or a language's own name
alone ("ESPAÑOL", "KREYÒL", "FRANÇAIS", "PORTUGUÊS", "ENGLISH"). A reply that is only 4 to 8
digits is a PIN (phone check-in). Anything else is free text for the officer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

KEYWORDS: dict[str, frozenset[str]] = {
    "confirm": frozenset(
        {
            "CONFIRM", "CONFIRMED", "YES", "Y",  # en
            "SI", "CONFIRMO", "CONFIRMAR", "CONFIRMADO",  # es (SÍ folds to SI)
            "SIM", "CONFIRMA", "CONFIRMADA",  # pt
            "WI", "KONFIME", "MWEN KONFIME",  # ht
            "OUI", "CONFIRME", "JE CONFIRME",  # fr
        }
    ),
    "reschedule": frozenset(
        {
            "RESCHEDULE", "CHANGE",  # en
            "REPROGRAMAR", "CAMBIAR", "CAMBIO",  # es
            "REMARCAR", "REAGENDAR", "MUDAR",  # pt
            "CHANJE", "CHANJE DAT", "REPWOGRAME",  # ht
            "REPORTER", "CHANGER", "DEPLACER",  # fr (DÉPLACER folds)
        }
    ),
    "help": frozenset({"HELP", "INFO", "AYUDA", "AJUDA", "ED", "AIDE"}),
    "stop": frozenset(
        {
            "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "OPT OUT",
            "REVOKE",
            "PARAR", "PARE", "ALTO", "BAJA", "CANCELAR",  # es / pt
            "SISPANN", "KANPE", "RETIRE",  # ht
            "ARRET", "ARRETER", "ARRETE", "DESABONNER",  # fr (ARRÊT, ARRÊTER...)
        }
    ),
    "start": frozenset(
        {
            "START", "UNSTOP", "SUBSCRIBE",
            "COMENZAR", "INICIAR", "REANUDAR",  # es
            "COMECAR", "VOLTAR",  # pt (COMEÇAR)
            "KOMANSE", "REKOMANSE",  # ht (KÒMANSE)
            "DEMARRER", "COMMENCER", "REPRENDRE",  # fr
        }
    ),
}  # fmt: skip

# Keywords that count only as the whole reply (see the module docstring).
WHOLE_REPLY_ONLY = frozenset(
    {"CANCEL", "CANCELAR", "END", "QUIT", "REVOKE", "ALTO", "BAJA", "RETIRE"}
)
# Keywords that count before more text only when set apart by punctuation, or when written
# with the accent that makes them unambiguous (the value; None when there is none).
SET_APART_ONLY: dict[str, str | None] = {"Y": None, "SI": "SÍ"}

# "LANG ES": the word for "language" in each shipped language (LÍNGUA folds to LINGUA).
LANGUAGE_WORDS = frozenset({"LANG", "LANGUAGE", "IDIOMA", "LENGUA", "LINGUA", "LANGUE"})
# Codes and names of the shipped languages, in each shipped language (folded).
LANGUAGE_NAMES: dict[str, frozenset[str]] = {
    "en": frozenset({"EN", "ENGLISH", "INGLES", "ANGLAIS", "ANGLE"}),
    "es": frozenset({"ES", "ESPANOL", "SPANISH", "CASTELLANO", "ESPANHOL", "ESPAGNOL", "PANYOL"}),
    "pt": frozenset({"PT", "PORTUGUES", "PORTUGUESE", "PORTUGAIS", "POTIGE"}),
    "ht": frozenset({"HT", "KREYOL", "CREOLE", "CRIOLLO", "CRIOULO", "HAITIAN", "AYISYEN"}),
    "fr": frozenset({"FR", "FRANCAIS", "FRENCH", "FRANCES", "FRANSE"}),
}
# Names that mean a language only after a language word: codes, a given name ("Frances")
# and an English word ("angle").
_NOT_ALONE = frozenset({"FRANCES", "ANGLE"})

_ACTION_OF = {word: action for action, words in KEYWORDS.items() for word in words}
_LANGUAGE_OF = {name: code for code, names in LANGUAGE_NAMES.items() for name in names}
_LONGEST_KEYWORD = max(len(word.split()) for word in _ACTION_OF)
_PIN = re.compile(r"^\d{4,8}$")
_EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$")
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Reply:
    """What a reply asks for: ``action`` is "confirm", "reschedule", "help", "stop",
    "start", "pin", "language" or "" (free text); ``language`` is the code asked for."""

    action: str
    language: str = ""


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()


def normalise(text: str) -> str:
    """Upper-case, accents removed, inner spaces collapsed, edge punctuation dropped."""
    return _EDGE_PUNCTUATION.sub("", " ".join(_fold(text).split()))


def _language_asked(words: list[str]) -> str | None:
    """The language code a reply asks for; "" when it starts with a language word but names
    no shipped language (the officer reads it); None when it is not about language."""
    if words[0] in LANGUAGE_WORDS:
        return _LANGUAGE_OF.get(words[1], "") if len(words) > 1 else ""
    first = words[0]
    if len(first) > 2 and first not in _NOT_ALONE and first in _LANGUAGE_OF:
        return _LANGUAGE_OF[first]
    return None


def parse(text: str) -> Reply:
    stripped = text.strip()
    if _PIN.match(stripped):
        return Reply("pin")
    folded = _fold(stripped)
    tokens = list(_WORD.finditer(folded))
    words = [token.group() for token in tokens]
    if not words:
        return Reply("")
    language = _language_asked(words)
    if language is not None:
        return Reply("language", language) if language else Reply("")
    for n in range(min(_LONGEST_KEYWORD, len(words)), 0, -1):
        phrase = " ".join(words[:n])
        action = _ACTION_OF.get(phrase)
        if action is None:
            continue
        if n == len(words):
            return Reply(action)
        if phrase in WHOLE_REPLY_ONLY:
            return Reply("")
        if phrase in SET_APART_ONLY:
            between = folded[tokens[n - 1].end() : tokens[n].start()]
            raw_first = _WORD.match(unicodedata.normalize("NFC", stripped).upper())
            accented = raw_first is not None and raw_first.group() == SET_APART_ONLY[phrase]
            if not (between.strip() or accented):
                return Reply("")
        return Reply(action)
    return Reply("")


def classify(text: str) -> str:
    """The action a reply asks for (``Reply.action``)."""
    return parse(text).action
