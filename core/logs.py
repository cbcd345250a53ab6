"""Structured (JSON) logging, configured once per process."""
from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

_configured = False


class _RequestFields(logging.Filter):
    """Adds the request's method, path and tenant to records made during a request."""

    def filter(self, record):
        from flask import g, has_request_context, request

        if has_request_context():
            record.method = request.method
            record.path = request.path
            tenant = g.get("tenant")
            record.tenant = tenant.slug if tenant is not None else None
        return True


def configure(level: str = "INFO") -> None:
    """Send JSON lines to stderr; a second call changes only the level."""
    global _configured
    root = logging.getLogger()
    root.setLevel(level)
    if _configured:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter("{asctime}{levelname}{name}{message}", style="{", rename_fields={"levelname": "level"}))
    handler.addFilter(_RequestFields())
    root.handlers[:] = [handler]
    _configured = True
