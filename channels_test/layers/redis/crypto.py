"""Encryption of the Redis layer's messages: ``symmetric_encryption_keys``."""

from __future__ import annotations

import base64
import hashlib
import logging
from typing import Any

from django.core.exceptions import ImproperlyConfigured

__all__ = ["make_crypter", "seal", "unseal"]

logger = logging.getLogger(__package__)


def make_crypter(keys: Any) -> Any:
    """Return a ``MultiFernet`` over ``keys`` (the first encrypts), or None without keys."""
    if not keys:
        return None
    if isinstance(keys, (str, bytes)) or not isinstance(keys, (list, tuple)):
        raise ImproperlyConfigured(
            "symmetric_encryption_keys must be a list of secrets (the first encrypts, any "
            f"decrypts), not {type(keys).__name__}: write [key]."
        )
    try:
        from cryptography.fernet import Fernet, MultiFernet
    except ImportError as error:
        raise ImproperlyConfigured(
            "symmetric_encryption_keys needs the 'cryptography' package: pip install channels_test[encryption]"
        ) from error
    fernets = []
    for key in keys:
        secret = key.encode() if isinstance(key, str) else key
        fernets.append(Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret).digest())))
    return MultiFernet(fernets)


def seal(crypter: Any, data: bytes) -> bytes:
    """Return ``data`` encrypted with ``crypter``'s first key (as is without a crypter)."""
    return data if crypter is None else crypter.encrypt(data)


def unseal(crypter: Any, channel: str, data: bytes) -> bytes | None:
    """Return ``data`` decrypted (as is without a crypter); log and return None if no key fits."""
    if crypter is None:
        return data
    from cryptography.fernet import InvalidToken

    try:
        return crypter.decrypt(data)
    except InvalidToken:
        logger.error(
            "Dropped a message on %r that none of symmetric_encryption_keys decrypts: "
            "give every process of this layer the same keys.",
            channel,
        )
        return None
