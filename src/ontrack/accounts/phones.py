"""Phone numbers in E.164, for staff here and for participants above (``participants``
re-exports ``phone_normalise``): one reading of a number, whoever it belongs to, so that the
outbox and the inbound matcher compare like with like."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError


def phone_normalise(raw: str, *, region: str = "US") -> str:
    """Return the number in E.164, or raise ValidationError saying why it is not one.
    Numbers written without a country code are read as ``region``'s."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(f"{raw!r} is not a phone number ({exc}).") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(f"{raw!r} is not a valid phone number.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def validate_e164(value: str) -> None:
    """Model validator: a stored number is already in E.164 (forms normalise it first)."""
    if value and phone_normalise(value) != value:
        raise ValidationError(f"{value!r} is not written in E.164 (e.g. +12025550143).")
