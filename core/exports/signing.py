"""The signature of a webhook delivery, and its check (for receivers, and the tests' receiver).

Every POST carries ``X-Koppel-Timestamp`` (seconds since 1970, UTC) and
``X-Koppel-Signature: sha256=<hex>``: HMAC-SHA256 under the schedule's
webhook secret over the timestamp, a full stop and the body, byte for byte.
A receiver computes the same, compares in constant time, and refuses a
timestamp too far from its own clock (a replayed request).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

TIMESTAMP, SIGNATURE = "X-Koppel-Timestamp", "X-Koppel-Signature"
EXPORT_ID, CONTENT_SHA256 = "X-Koppel-Export-Id", "X-Koppel-Content-SHA256"
PREFIX = "sha256="
#: What a receiver should accept between its clock and the timestamp (seconds).
TOLERANCE = 300


def new_secret() -> str:
    """A schedule's webhook secret: shown once, when made."""
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 under *secret* of ``timestamp + "." + body``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return PREFIX + mac.hexdigest()


def verify(secret: str, timestamp: str, signed: str, body: bytes, *, now: float, tolerance: int = TOLERANCE) -> bool:
    """Whether *signed* is the signature of *body* at *timestamp*, and *timestamp* within *tolerance* of *now*."""
    try:
        fresh = abs(now - int(timestamp)) <= tolerance
    except (TypeError, ValueError):
        return False
    return fresh and hmac.compare_digest(signature(secret, timestamp, body), signed or "")
