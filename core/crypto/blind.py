"""Blind indexes: a keyed hash of a value, for equality search and duplicate checks on encrypted fields.

HMAC-SHA256 under the tenant's index key (its own key, ``purpose='index'``, not derived from a data key
and never replaced by a data-key rotation, so stored digests stay valid), over the table, column and
the normalised value; 16 bytes, base64url. The same value gives the same digest within one tenant and
column only. A blind index shows which rows share a value, so it fits high-entropy fields (a name with
a birth date); on a field with few possible values (a problem area, an income bracket) it would give
the values away by their frequencies, and Koppel does not put one there.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata

from core.crypto import keystore


def normalise(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", str(value)).casefold().split())


def digest(connection, tenant_id: int, table: str, column: str, value) -> str | None:
    """The blind index of *value* in *table*.*column* of *tenant_id* (None for None)."""
    if value is None:
        return None
    key = keystore.index_key(connection, tenant_id)
    mac = hmac.new(key, f"{table}.{column}|{normalise(value)}".encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")
