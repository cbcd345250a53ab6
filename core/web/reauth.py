"""Re-authentication before sensitive changes (policy, users, API tokens).

:func:`fresh_login` on a view: a change (any method but GET/HEAD) is let through only when this session's
user gave password and code less than ``REAUTH_TIMEOUT`` (``REAUTH_MINUTES``) ago; otherwise the browser is
sent to ``/reauthenticate``, which asks both and goes back to the page (a same-site path only). Put it
below :func:`core.auth.access.requires`, so the access check comes first.
"""
from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, request, url_for
from flask_babel import gettext as _

from core.auth import sessions


def safe_next(target: str | None) -> str:
    """*target* when it is a path on this site, else the start page."""
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and not urlsplit(target).netloc and not urlsplit(target).scheme):
        return target
    return url_for("web.home")


def _back() -> str:
    """Where to return after re-authenticating: the page the form was on (same site), else this path."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path:
        return safe_next(referrer.path + (f"?{referrer.query}" if referrer.query else ""))
    return safe_next(request.path)


def is_fresh() -> bool:
    return sessions.authenticated_within(current_app.config["REAUTH_TIMEOUT"])


def fresh_login(view):
    """Ask for password and code again before *view* changes anything, when the last time is too long ago."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if request.method not in ("GET", "HEAD") and not is_fresh():
            flash(_("For this change, confirm it is you: give your password and a code again."), "info")
            return redirect(url_for("web.reauthenticate", next=_back()), 303)
        return view(*args, **kwargs)

    return wrapper
