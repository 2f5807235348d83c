"""Secrets at rest: client secrets and ID tokens are encrypted with a key derived from the secret key.

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) keyed through HKDF so that the one secret key
the admin manages can also serve other purposes without key reuse.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretBox:
    """Authenticated encryption under a key derived from the secret key for one `purpose` (HKDF info)."""

    def __init__(self, secret_key: str, *, purpose: bytes = b"deskgate/secrets-at-rest/v1") -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
            secret_key.encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("cannot decrypt: wrong secret key or corrupted value") from exc


def digest(value: str) -> str:
    """Stable one-way form of a bearer value (session id, login state) for use as a database key."""
    return hashlib.sha256(value.encode()).hexdigest()
