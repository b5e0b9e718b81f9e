"""Secrets a service must read back (a webhook's signing secret), sealed at rest.

Fernet (AES-128-CBC and HMAC-SHA256, from ``cryptography``) under ``PARLEY_SECRETS_KEY``, a
key from ``parley secrets-key``. A sealed value is stored as ``sealed:v1:<token>``; a value
without that prefix (stored before sealing existed) reads back as it is. Locally, without a
key, a fixed development key is used; any other environment refuses to seal or unseal without
one (``check`` at startup).
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from parley_common.settings import Settings, get_settings

PREFIX = "sealed:v1:"
LOCAL_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"parley local secrets key").digest())


def new_key() -> str:
    return Fernet.generate_key().decode()


def _fernet(settings: Settings | None = None) -> Fernet:
    settings = settings or get_settings()
    if settings.secrets_key:
        try:
            return Fernet(settings.secrets_key.encode())
        except ValueError as exc:
            raise RuntimeError("PARLEY_SECRETS_KEY is not a key from `parley secrets-key`") from exc
    if settings.environment != "local":
        raise RuntimeError("PARLEY_SECRETS_KEY must be set outside local (parley secrets-key)")
    return Fernet(LOCAL_KEY)


def check(settings: Settings | None = None) -> None:
    """Fail at startup, not at the first webhook, when the key is missing or malformed."""
    _fernet(settings)


def seal(value: str, settings: Settings | None = None) -> str:
    return PREFIX + _fernet(settings).encrypt(value.encode()).decode()


def unseal(stored: str, settings: Settings | None = None) -> str:
    if not stored.startswith(PREFIX):
        return stored
    try:
        return _fernet(settings).decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise RuntimeError("a sealed secret does not open with PARLEY_SECRETS_KEY") from exc
