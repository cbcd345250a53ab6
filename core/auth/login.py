"""Password login with throttling, audited either way."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select

from core import audit
from core.auth import passwords
from core.auth.models import User
from core.errors import TooManyAttempts
from core.extensions import db
from core.types import utcnow


def _throttled(user: User, now) -> bool:
    window = current_app.config["LOGIN_FAILURE_WINDOW"]
    return (
        user.failed_login_window_start is not None
        and now - user.failed_login_window_start < window
        and user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]
    )


def check_password(email: str, password: str) -> User | None:
    """The user whose credentials these are, or None.

    After ``LOGIN_MAX_FAILURES`` failures within ``LOGIN_FAILURE_WINDOW`` the
    account is throttled for the rest of the window: even the right password
    raises :class:`TooManyAttempts`. Commits the counters and the audit event.
    """
    email = (email or "").strip().lower()
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    now = utcnow()
    if user is not None and _throttled(user, now):
        audit.record("auth.login", outcome=audit.FAILURE, actor=email, user_id=user.id, detail={"reason": "throttled"})
        raise TooManyAttempts()
    if user is None or not user.active or not passwords.verify(user.password_hash if user else None, password):
        reason = "unknown user" if user is None else "inactive" if not user.active else "wrong password"
        if user is not None:
            window = current_app.config["LOGIN_FAILURE_WINDOW"]
            if user.failed_login_window_start is None or now - user.failed_login_window_start >= window:
                user.failed_login_window_start, user.failed_logins = now, 0
            user.failed_logins += 1
            db.session.commit()
        audit.record("auth.login", outcome=audit.FAILURE, actor=email, user_id=user.id if user else None,
                     detail={"reason": reason})
        return None
    user.failed_logins, user.failed_login_window_start, user.last_login_at = 0, None, now
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    audit.record("auth.login", actor=email, user_id=user.id)
    db.session.commit()
    return user
