"""E-mail through Django's SMTP backend (``EMAIL_*`` settings).

The idempotency key becomes the Message-ID, so a receiving server that sees the same
message twice can drop the copy; SMTP has no way to ask afterwards whether a message was
accepted, so ``lookup`` cannot tell and a message stuck mid-send is not resent blindly.
"""

from __future__ import annotations

import smtplib
import threading

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from ontrack.messaging.providers.base import Lookup, Outgoing, ProviderError


class SmtpProvider:
    name = "smtp"
    can_lookup = False

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def send(self, message: Outgoing) -> str:
        domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ") or "ontrack"
        message_id = f"<{message.idempotency_key}@{domain}>"
        email = EmailMessage(
            subject=message.subject or "ontrack",
            body=message.body,
            to=[message.to],
            headers={"Message-ID": message_id},
            connection=get_connection("django.core.mail.backends.smtp.EmailBackend", timeout=30),
        )
        for attachment in message.attachments:
            email.attach(attachment.filename, attachment.content, attachment.content_type)
        try:
            with self._lock:
                email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise ProviderError(f"recipient refused: {exc}", code="550", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise ProviderError(f"SMTP error: {exc}") from exc
        return message_id

    def lookup(self, message: Outgoing) -> Lookup:
        return Lookup(accepted=None)

    def close(self) -> None:
        return None
