"""Secrets in texts (a sign-in code, a one-time link) are kept sealed until the provider
gets them, so that no staff page, export or API answer shows them.

A message that carries a secret is written twice: ``Message.body`` with placeholders
("[sign-in code]"), which is what staff see, and ``Message.sealed_body`` with the real text,
encrypted with a key derived from the deployment's ``SECRET_KEY`` (Fernet: AES-128-CBC and
HMAC-SHA256, from the ``cryptography`` package). The sender unseals it for the provider
call and clears it once the provider has the message. Changing ``SECRET_KEY`` makes texts
still queued unreadable; they fail with that reason instead of going out with placeholders.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

# What staff see in place of each secret a template may carry.
PLACEHOLDERS = {"code": "[sign-in code]", "link": "[one-time link]"}


class Unsealable(ValueError):
    """The sealed text cannot be opened with this deployment's key."""


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"ontrack message sealing\x00" + settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


def seal(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode()


def unseal(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise Unsealable("the sealed text cannot be read with this deployment's key") from exc
