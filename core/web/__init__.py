"""Server-rendered pages (Dutch first, English too).

Views stay thin: they read a form, call one use case (through :func:`core.web.forms.attempt`)
and render. Templates are in ``core/templates``, one folder per kind of user.
"""
from flask import Blueprint

bp = Blueprint("web", __name__)

from core.web import (  # noqa: E402,F401  (register the views)
    account, admin, charts, evaluations, families, funder, imports, labels, matches, nav, notifications, pages, platform,
    policy, region, registration, statements,
)
from core.web import retention, subject  # noqa: E402,F401
from core.web import audit  # noqa: E402,F401
