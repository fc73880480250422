"""What a short reply means, in every shipped language (pure).

Carriers and Twilio treat STOP and its synonyms as an opt-out only when the whole message is
the keyword, so every keyword here must be the whole reply (case, accents and surrounding
punctuation do not matter: "Sí.", "si", "SÍ!" are the same). A reply that is only 4 to 8
digits is a PIN (phone check-in). Anything else is free text for the officer.
"""

from __future__ import annotations

import re
import unicodedata

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
            "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE",
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

_PIN = re.compile(r"^\d{4,8}$")
_EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$")


def normalise(text: str) -> str:
    """Upper-case, accents removed, inner spaces collapsed, edge punctuation dropped."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _EDGE_PUNCTUATION.sub("", " ".join(plain.upper().split()))


def classify(text: str) -> str:
    """The action a reply asks for ("confirm", "reschedule", "help", "stop", "start",
    "pin"), or "" for free text."""
    stripped = text.strip()
    if _PIN.match(stripped):
        return "pin"
    word = normalise(stripped)
    for action, words in KEYWORDS.items():
        if word in words:
            return action
    return ""
