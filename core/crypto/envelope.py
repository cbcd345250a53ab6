"""AES-256-GCM of one value: ``v1:<key id>:<base64url(nonce + ciphertext + tag)>``.

The associated data is not stored: the caller gives it again to decrypt (tenant, table, column and
row), so a ciphertext moved anywhere else fails the tag check with :class:`DecryptionError`.
"""
from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
NONCE_BYTES = 12


class DecryptionError(ValueError):
    """A stored value cannot be decrypted: not ours, moved to another row, column or tenant, or tampered with."""


def is_sealed(token) -> bool:
    return isinstance(token, str) and token.startswith(VERSION + ":") and token.count(":") == 2


def key_id(token: str) -> str:
    """The data key id a sealed value names."""
    if not is_sealed(token):
        raise DecryptionError("not an encrypted value (expected v1:<key id>:<data>)")
    return token.split(":", 2)[1]


def seal(cipher: AESGCM, key_id_: str, plaintext: bytes, aad: bytes) -> str:
    nonce = os.urandom(NONCE_BYTES)
    data = nonce + cipher.encrypt(nonce, plaintext, aad)
    return f"{VERSION}:{key_id_}:{base64.urlsafe_b64encode(data).decode().rstrip('=')}"


def open_(cipher: AESGCM, token: str, aad: bytes) -> bytes:
    if not is_sealed(token):
        raise DecryptionError("not an encrypted value (expected v1:<key id>:<data>)")
    encoded = token.split(":", 2)[2]
    try:
        data = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        return cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError) as error:
        raise DecryptionError("an encrypted value does not belong here (tenant, table, column or row differ) "
                              "or was changed") from error
