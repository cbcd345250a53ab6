"""Logging in: the password, then the second factor; throttled, audited, the same answer for every failure.

Failures are counted in the rate limiter's storage (Redis in production, memory in the embedded default)
under three limits, all settings (``core/config.py``):

* ``LOGIN_LIMIT_PER_IP``: failures from one client address, over all accounts (password spraying);
* ``LOGIN_LIMIT_PER_ACCOUNT_IP``: failures for one account from one address;
* ``LOGIN_LIMIT_PER_ACCOUNT``: failures for one account from all addresses together (a botnet). This one
  does not apply at an address from which the user completed a login before (:class:`LoginSource`), so
  an attacker elsewhere cannot lock the user out.

An unknown account, a disabled one, a wrong password and a throttled attempt all get the same answer, and
every attempt verifies an argon2 hash first (a dummy one for an unknown account), so neither the answer
nor its timing tells which it was. Only the audit log says. A wrong or replayed second factor counts as a
failure under the same limits.
"""
from __future__ import annotations

import hashlib
import hmac

from flask import current_app
from limits import parse_many
from sqlalchemy import func, select

from core import audit
from core.auth import mfa, passwords
from core.auth.models import LoginSource, User
from core.extensions import db, limiter
from core.types import utcnow

#: Addresses remembered per user (the most recent).
KNOWN_SOURCES = 10


def _digest(*parts) -> str:
    key = mfa.derive_key(b"koppel.login.throttle")
    return hmac.new(key, "\x1f".join(str(p) for p in parts).encode(), hashlib.sha256).hexdigest()


def _limits(account: str, ip: str | None, known: bool):
    config = current_app.config
    keyed = [("LOGIN_LIMIT_PER_ACCOUNT_IP", ("login-account-ip", _digest(account, ip))),
             ("LOGIN_LIMIT_PER_IP", ("login-ip", _digest(ip)))]
    if not known:
        keyed.append(("LOGIN_LIMIT_PER_ACCOUNT", ("login-account", _digest(account))))
    return [(limit, keys) for setting, keys in keyed for limit in parse_many(config[setting])]


def _throttled(limits) -> bool:
    return any(not limiter.limiter.test(limit, *keys) for limit, keys in limits)


def _count_failure(limits) -> None:
    for limit, keys in limits:
        limiter.limiter.hit(limit, *keys)


def _account(user: User | None, email: str) -> str:
    return f"user:{user.id}" if user is not None else f"email:{email}"


def is_known_source(user: User, ip: str | None) -> bool:
    return db.session.scalar(select(LoginSource.id).where(LoginSource.user_id == user.id,
                                                          LoginSource.ip_digest == _digest(ip))) is not None


def check_password(email: str, password: str, ip: str | None) -> User | None:
    """The user whose credentials these are, or None (unknown, disabled, wrong, or throttled). Commits the
    audit event."""
    email = (email or "").strip().lower()
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    limits = _limits(_account(user, email), ip, user is not None and is_known_source(user, ip))
    throttled = _throttled(limits)
    right = passwords.verify(user.password_hash if user else None, password)  # always: the same time
    if throttled or not right or not user.active:
        reason = ("throttled" if throttled else "unknown user" if user is None else
                  "inactive" if not user.active else "wrong password")
        if not throttled:
            _count_failure(limits)
        audit.record("auth.login", outcome=audit.FAILURE, actor=email, user_id=user.id if user else None,
                     detail={"reason": reason})
        db.session.commit()
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    audit.record("auth.login", actor=email, user_id=user.id, detail={"step": "password"})
    db.session.commit()
    return user


def check_code(user: User, code: str, ip: str | None) -> bool:
    """Whether *code* (TOTP or recovery code) completes *user*'s login; on success the address becomes known
    to the user and their failures from it are forgotten. Commits."""
    account = _account(user, user.email)
    limits = _limits(account, ip, is_known_source(user, ip))
    throttled = _throttled(limits)
    kind = None if throttled else mfa.verify(user, code)
    if kind is None:
        if not throttled:
            _count_failure(limits)
        audit.record("auth.login", outcome=audit.FAILURE, actor=user.email, user_id=user.id,
                     detail={"reason": "throttled" if throttled else "wrong code", "step": "code"})
        db.session.commit()
        return False
    remember_source(user, ip)
    for limit, keys in limits:  # this account's failures from this address are forgotten
        if keys[0] == "login-account-ip":
            limiter.limiter.clear(limit, *keys)
    user.last_login_at = utcnow()
    audit.record("auth.login", actor=user.email, user_id=user.id, detail={"step": "code", "factor": kind})
    db.session.commit()
    return True


def remember_source(user: User, ip: str | None) -> None:
    """Mark *ip* as an address *user* logs in from (keeping the :data:`KNOWN_SOURCES` most recent)."""
    digest, now = _digest(ip), utcnow()
    row = db.session.scalar(select(LoginSource).where(LoginSource.user_id == user.id,
                                                      LoginSource.ip_digest == digest))
    if row is None:
        db.session.add(LoginSource(user_id=user.id, ip_digest=digest, last_success_at=now))
        db.session.flush()
        stale = db.session.scalars(select(LoginSource).where(LoginSource.user_id == user.id)
                                   .order_by(LoginSource.last_success_at.desc(), LoginSource.id.desc())
                                   .offset(KNOWN_SOURCES)).all()
        for old in stale:
            db.session.delete(old)
    else:
        row.last_success_at = now


def check_reauthentication(user: User, password: str, code: str, ip: str | None) -> bool:
    """Password and second factor again, in a live session (before a sensitive change), under the same limits.
    Commits a failure; on success the caller records it in the session and commits."""
    account = _account(user, user.email)
    limits = _limits(account, ip, is_known_source(user, ip))
    throttled = _throttled(limits)
    right = passwords.verify(user.password_hash, password or "")
    kind = mfa.verify(user, code) if right and not throttled else None
    if kind is None:
        if not throttled:
            _count_failure(limits)
        audit.record("auth.reauthenticate", outcome=audit.FAILURE, actor=user.email, user_id=user.id,
                     detail={"reason": "throttled" if throttled else "wrong password" if not right else "wrong code"})
        db.session.commit()
        return False
    audit.record("auth.reauthenticate", actor=user.email, user_id=user.id, detail={"factor": kind})
    return True
