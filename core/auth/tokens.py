"""API bearer tokens: created once, stored hashed, scoped, expiring, revocable."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import select

from core.auth import roles as R
from core.auth.models import ApiToken
from core.extensions import db
from core.types import utcnow

PREFIX = "kpl_"
_FORMAT = re.compile(r"^kpl_[A-Za-z0-9_-]{43}$")


class TokenRejected(Exception):
    """The presented token cannot be used; ``reason`` says why (for the audit log)."""

    def __init__(self, reason: str, token: ApiToken | None = None):
        super().__init__(reason)
        self.reason = reason
        self.token = token


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create(name, roles, *, municipality=None, consortium=None, days=None, created_by=None) -> tuple[str, ApiToken]:
    """Create a token and return ``(raw token, row)``; the raw token is not kept."""
    roles = sorted(set(roles))
    errors = {}
    if not name or len(name) > 120:
        errors["name"] = ["give a name of 1 to 120 characters"]
    unknown = [r for r in roles if r not in R.ROLES]
    if not roles or unknown:
        errors["roles"] = [f"choose roles from {', '.join(R.ROLES)}" + (f"; unknown: {', '.join(unknown)}" if unknown else "")]
    elif municipality is not None and consortium is not None:
        errors["scope"] = ["a token is scoped to a municipality or a consortium, not both"]
    else:
        allowed = R.MUNICIPALITY_ROLES if municipality else R.CONSORTIUM_ROLES if consortium else R.GLOBAL_ROLES
        wrong = [r for r in roles if r not in allowed]
        if wrong:
            where = "a municipality" if municipality else "a consortium" if consortium else "no municipality or consortium"
            errors["roles"] = [f"{', '.join(wrong)} cannot be given to a token for {where}"]
    days = current_app.config["API_TOKEN_DEFAULT_DAYS"] if days is None else days
    if not isinstance(days, int) or not 1 <= days <= 366:
        errors["days"] = ["a token lives 1 to 366 days"]
    if errors:
        raise ValidationError(errors)
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        token_hash=digest(raw),
        prefix=raw[:12],
        roles=",".join(roles),
        municipality=municipality,
        consortium=consortium,
        created_by_id=created_by.id if created_by else None,
        expires_at=utcnow() + timedelta(days=days),
    )
    db.session.add(token)
    db.session.flush()
    return raw, token


def revoke(token: ApiToken) -> None:
    """Revoke at once in this process; other processes stop accepting it within ``AUTH_CACHE_SECONDS``."""
    from core import cache

    if token.revoked_at is None:
        token.revoked_at = utcnow()
    cache.get("tokens").discard(token.token_hash)


def authenticate(raw: str) -> ApiToken:
    """The live token for *raw*, or :class:`TokenRejected`."""
    if not _FORMAT.match(raw or ""):
        raise TokenRejected("malformed")
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(raw)))
    if token is None:
        raise TokenRejected("unknown")
    if token.revoked_at is not None:
        raise TokenRejected("revoked", token)
    now = utcnow()
    if token.expires_at <= now:
        raise TokenRejected("expired", token)
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now  # written at most every five minutes
        db.session.commit()
    return token
