"""Server-side web sessions on top of Flask-Login.

The signed cookie holds only a random session id; the row in
``user_session`` decides whether it is still valid (idle and absolute
timeouts, logout), so a session can be ended on the server.

Between the password and the second factor there is no session: the signed cookie holds only a pending
login (the user's id, when it started, where to go after), which :func:`pending_user` honours for
:data:`PENDING_MINUTES`. The session row keeps when its user last gave password and code (``auth_at``), for
re-authentication before sensitive changes (:mod:`core.web.reauth`).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, request, session
from flask_login import login_user, logout_user
from sqlalchemy import delete, select

from core.auth.models import User, UserSession
from core.extensions import db
from core.types import utcnow


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


#: How long the second step of a login may take after the password.
PENDING_MINUTES = 5


def _drop_current() -> None:
    old = session.get("sid")
    session.clear()
    if old:
        db.session.execute(delete(UserSession).where(UserSession.sid_hash == _digest(old)))


def begin_pending(user: User, next_url: str | None = None) -> None:
    """The password was right: remember *user* for the second step (any session of this browser ends)."""
    _drop_current()
    db.session.commit()
    logout_user()
    session["pending"] = {"user": user.id, "at": int(utcnow().timestamp()), "next": next_url or ""}


def pending_user() -> User | None:
    """The active user of this browser's pending login, or None (none, or older than PENDING_MINUTES)."""
    pending = session.get("pending")
    if not isinstance(pending, dict) or not isinstance(pending.get("user"), int):
        return None
    if utcnow().timestamp() - pending.get("at", 0) > PENDING_MINUTES * 60:
        session.pop("pending", None)
        return None
    user = db.session.get(User, pending["user"])
    return user if user is not None and user.active else None


def pending_next() -> str:
    pending = session.get("pending")
    return pending.get("next", "") if isinstance(pending, dict) else ""


def start(user: User) -> None:
    """Log *user* in with a fresh session id (the old session and a pending login are dropped)."""
    _drop_current()
    sid = secrets.token_urlsafe(32)
    db.session.add(UserSession(sid_hash=_digest(sid), user_id=user.id, ip=request.remote_addr))
    db.session.commit()
    session["sid"] = sid
    login_user(user)


def current_row() -> UserSession | None:
    sid = session.get("sid")
    return db.session.scalar(select(UserSession).where(UserSession.sid_hash == _digest(sid))) if sid else None


def authenticated_within(window: timedelta) -> bool:
    """Whether this session's user gave password and code less than *window* ago."""
    row = current_row()
    return row is not None and utcnow() - row.auth_at < window


def confirm_authentication() -> None:
    """Password and code were given again in this session (the caller commits)."""
    row = current_row()
    if row is not None:
        row.auth_at = utcnow()


def of_user(user: User) -> list[UserSession]:
    """*user*'s live sessions (not timed out), the most recently used first."""
    now, config = utcnow(), current_app.config
    return list(db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id,
                                  UserSession.last_seen_at > now - config["SESSION_IDLE_TIMEOUT"],
                                  UserSession.created_at > now - config["SESSION_ABSOLUTE_TIMEOUT"])
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())))


def current_digest() -> str | None:
    """The stored hash of this request's session id (to keep this session when ending a user's others)."""
    sid = session.get("sid")
    return _digest(sid) if sid else None


def end_all(user: User, keep: str | None = None) -> int:
    """End every session of *user* at once (but the one whose hash is *keep*); the caller commits."""
    statement = delete(UserSession).where(UserSession.user_id == user.id)
    if keep:
        statement = statement.where(UserSession.sid_hash != keep)
    return db.session.execute(statement.execution_options(synchronize_session=False)).rowcount or 0


def end() -> None:
    sid = session.get("sid")
    if sid:
        db.session.execute(delete(UserSession).where(UserSession.sid_hash == _digest(sid)))
        db.session.commit()
    logout_user()
    session.clear()


def load_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the user of a live session, or None."""
    sid = session.get("sid")
    if not sid:
        return None
    row = db.session.scalar(select(UserSession).where(UserSession.sid_hash == _digest(sid)))
    if row is None or str(row.user_id) != str(user_id):
        return None
    now = utcnow()
    config = current_app.config
    if now - row.last_seen_at > config["SESSION_IDLE_TIMEOUT"] or now - row.created_at > config["SESSION_ABSOLUTE_TIMEOUT"]:
        db.session.delete(row)
        db.session.commit()
        session.clear()
        return None
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now  # written at most once a minute
        db.session.commit()
    # a user without a confirmed second factor (reset by an admin, or from before MFA) has no session
    return row.user if row.user.active and row.user.mfa_enabled_at is not None else None
