"""The key-encryption keys (KEKs): ``FIELD_ENCRYPTION_KEYS``, or a fixed development key.

``FIELD_ENCRYPTION_KEYS`` is a comma-separated list of ``<key id>:<base64 of 32 random bytes>``; the
first is current (new data keys are wrapped with it), the others are kept only to unwrap data keys
until ``koppel keys rotate`` has re-wrapped them. In development and testing, when it is unset, a fixed
key derived from a public string is used: it protects nothing, and production refuses to start with
it or without the setting.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

#: The development KEK: derived from a public string, so NOT SECRET. Refused in production.
DEV_KEK_ID = "dev"
DEV_KEK = hashlib.sha256(b"koppel development key-encryption key - public, NOT SECRET, never for real data").digest()

_ID = re.compile(r"[A-Za-z0-9_.-]{1,32}")
_EXAMPLE = "2026a:<base64 of 32 random bytes>, 2025b:<...>"


class MissingKeyError(LookupError):
    """A data key is wrapped by a KEK that is not configured (any more)."""


@dataclass(frozen=True)
class KeyRing:
    """The configured KEKs, the current one first."""

    keys: tuple[tuple[str, bytes], ...]

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    def get(self, key_id: str) -> bytes:
        for found, material in self.keys:
            if found == key_id:
                return material
        raise MissingKeyError(f"key-encryption key {key_id!r} is not in FIELD_ENCRYPTION_KEYS")

    @property
    def is_development(self) -> bool:
        return any(key_id == DEV_KEK_ID or material == DEV_KEK for key_id, material in self.keys)

    def __repr__(self) -> str:  # never the key material
        return f"KeyRing({', '.join(key_id for key_id, _ in self.keys)})"


DEVELOPMENT = KeyRing(((DEV_KEK_ID, DEV_KEK),))


def parse(value: str, koppel_env: str) -> KeyRing:
    """The key ring of a ``FIELD_ENCRYPTION_KEYS`` value (empty: the development key outside production)."""
    from core.config import ConfigError

    value = (value or "").strip()
    if not value:
        if koppel_env == "production":
            raise ConfigError(
                "FIELD_ENCRYPTION_KEYS is missing; set it to at least one key-encryption key (" + _EXAMPLE + "), "
                "or KOPPEL_ENV=development for a local run",
                "FIELD_ENCRYPTION_KEYS ontbreekt; zet er minstens één sleutel in (" + _EXAMPLE + "), "
                "of KOPPEL_ENV=development om lokaal te werken")
        return DEVELOPMENT
    keys = []
    for part in value.split(","):
        key_id, _, encoded = part.strip().partition(":")
        material = _decode(encoded.strip())
        if not _ID.fullmatch(key_id) or material is None or key_id in dict(keys):
            raise ConfigError(
                f"FIELD_ENCRYPTION_KEYS must be distinct <id>:<base64 of 32 bytes> separated by commas ({_EXAMPLE}); "
                f"entry {len(keys) + 1} is not",
                f"FIELD_ENCRYPTION_KEYS moet bestaan uit verschillende <id>:<base64 van 32 bytes> gescheiden door "
                f"komma's ({_EXAMPLE}); item {len(keys) + 1} is dat niet")
        keys.append((key_id, material))
    ring = KeyRing(tuple(keys))
    if koppel_env == "production" and ring.is_development:
        raise ConfigError("FIELD_ENCRYPTION_KEYS holds the development key; use a random key in production",
                          "FIELD_ENCRYPTION_KEYS bevat de ontwikkelsleutel; gebruik in productie een willekeurige sleutel")
    return ring


def _decode(encoded: str) -> bytes | None:
    try:
        material = base64.b64decode(encoded.replace("-", "+").replace("_", "/") + "=" * (-len(encoded) % 4),
                                    validate=True)
    except (binascii.Error, ValueError):
        return None
    return material if len(material) == 32 else None


def generate(key_id: str) -> str:
    """A new ``FIELD_ENCRYPTION_KEYS`` entry with a random key (for an operator)."""
    import secrets

    return f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"
