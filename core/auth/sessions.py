"""Server-side web sessions on top of Flask-Login.

The signed cookie holds only a random session id; the row in
``user_session`` decides whether it is still valid (idle and absolute
timeouts, logout), so a session can be ended on the server.
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


def start(user: User) -> None:
    """Log *user* in with a fresh session id (the old session is dropped)."""
    old = session.get("sid")
    session.clear()
    if old:
        db.session.execute(delete(UserSession).where(UserSession.sid_hash == _digest(old)))
    sid = secrets.token_urlsafe(32)
    db.session.add(UserSession(sid_hash=_digest(sid), user_id=user.id, ip=request.remote_addr))
    db.session.commit()
    session["sid"] = sid
    login_user(user)


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
    return row.user if row.user.active else None
