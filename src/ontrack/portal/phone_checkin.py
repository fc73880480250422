"""Phone check-in: a text that is only the participant's PIN, from their registered number,
inside an open window, checks them in (no location). Registered with messaging's reply
handlers (``messaging.reply_handlers``) in ``PortalConfig.ready``."""

from __future__ import annotations

import logging

from django.utils import translation
from django.utils.translation import gettext as _

from ontrack.messaging.reply_handlers import InboundReply
from ontrack.participants.models import Participant
from ontrack.portal.services import pin_verify
from ontrack.schedule.services import checkin_phone

logger = logging.getLogger(__name__)


def pin_reply(reply: InboundReply) -> str | None:
    """Check the PIN (failures count towards the same lockout as on the web), then check in;
    the answer is in the participant's language."""
    participant = Participant.objects.filter(pk=reply.participant_id).first()
    if participant is None:
        return None
    with translation.override(reply.language or participant.preferred_language):
        result = pin_verify(participant, reply.body.strip())
        if result.locked:
            return _("Too many wrong PINs. Wait 30 minutes, or call your officer.")
        if not result.ok:
            return _("This PIN is not right. Send your PIN again.")
        checkin = checkin_phone(participant=participant, received_at=reply.received_at)
        if checkin is None:
            return _("There is no check-in open for you now.")
        logger.info("phone check-in participant=%s checkin=%s", participant.pk, checkin.pk)
        return _("Check-in received. Your reference number is %(reference)s.") % {
            "reference": checkin.reference
        }
