"""Server-rendered pages (Dutch first, English too)."""
from flask import Blueprint

bp = Blueprint("web", __name__)

from core.web import account, labels, pages  # noqa: E402,F401  (register the views)
