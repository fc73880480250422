"""Where a message to a participant goes: by text, by e-mail, or held for their officer. An
opt-out (STOP) decides it, and an essential notice (a court date) is never simply dropped
for it.
"""

from __future__ import annotations

from ontrack.messaging.models import Channel, MessageStatus, OptOut
from ontrack.participants.models import Participant

S = MessageStatus


def is_opted_out(participant_id: int) -> bool:
    return OptOut.objects.filter(participant_id=participant_id).exists()


def sms_number(participant: Participant) -> str:
    phone = participant.phones.order_by("-is_primary", "id").first()
    return phone.number if phone is not None else ""


def message_route(participant: Participant, *, essential: bool) -> tuple[str, str, str, str]:
    """(channel, address, status, reason) for a message to the participant. Texts first;
    someone who said STOP gets essential notices by e-mail, or, without one, the notice is
    held for their officer to deliver (a court date must not be lost to an opt-out)."""
    opted_out = is_opted_out(participant.pk)
    number = "" if opted_out else sms_number(participant)
    if opted_out and not essential:
        return Channel.SMS, "", S.SUPPRESSED, "opted out of texts (STOP)"
    if number:
        return Channel.SMS, number, S.QUEUED, ""
    if participant.email:
        return Channel.EMAIL, participant.email, S.QUEUED, ""
    if essential:
        why = "opted out of texts" if opted_out else "no phone or e-mail"
        return Channel.OFFICER, "", S.HELD, f"{why}: the officer must deliver this notice"
    return Channel.SMS, "", S.SUPPRESSED, "no phone or e-mail on file"
