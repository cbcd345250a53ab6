"""Logging, configured once per process: JSON lines in production, readable text lines otherwise.

Two formats, one handler on the root logger, writing to stderr:

``json``
    One JSON object per line (python-json-logger): ``asctime``, ``level``,
    ``name``, ``message`` and the extra fields (``audit``, and ``method``,
    ``path``, ``tenant`` during a request). For log collectors; production.
``text``
    ``12:01:02 INFO  koppel.audit  audit family.create family 12 tenant=3 user=5 success``: time,
    level, logger, message. For a person at a terminal; development and testing.

The format is *fmt* when given, else ``LOG_FORMAT`` (``json`` or ``text``) from
the environment, else ``json`` when ``KOPPEL_ENV`` is ``production`` or not
set (the configuration's default environment) and ``text`` otherwise.

Query strings are cut from the development server's request lines
(``GET /aalten/families?...``): a search for part of a family's name would
otherwise put that name in the log.
"""
from __future__ import annotations

import logging
import os
import re
import sys

from pythonjsonlogger.json import JsonFormatter

from core.config import ConfigError

JSON, TEXT = "json", "text"
FORMATS = (JSON, TEXT)

_handler: logging.StreamHandler | None = None
_extra: list[logging.Handler] = []  # handlers added with add_handler (the tests' log scan)
_werkzeug = None
_format: str | None = None


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


_QUERY = re.compile(r"\?[^\s\"\x1b]*")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _WerkzeugLines(logging.Filter):
    """Cuts query strings from werkzeug's request lines (they may carry a family's name: ``?q=...``),
    and its colours unless the lines go to a terminal as text."""

    colours = False

    def filter(self, record):
        if record.name == "werkzeug":
            if not self.colours:
                record.msg = _ANSI.sub("", str(record.msg))
            if isinstance(record.args, tuple):
                record.args = tuple(self._clean(a) if isinstance(a, str) else a for a in record.args)
        return True

    def _clean(self, text: str) -> str:
        text = _QUERY.sub("?...", text)
        return text if self.colours else _ANSI.sub("", text)


class TextFormatter(logging.Formatter):
    """``HH:MM:SS LEVEL logger  message``; an audit record shows what was done, without its detail."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)-5s %(name)s  %(message)s", datefmt="%H:%M:%S")

    def formatMessage(self, record):
        line = super().formatMessage(record)
        audit = getattr(record, "audit", None)
        if isinstance(audit, dict):
            line += " " + _audit_text(audit)
        tenant = getattr(record, "tenant", None)
        if getattr(record, "path", None) and not isinstance(audit, dict):
            line += f"  [{record.method} {record.path}{f' tenant={tenant}' if tenant else ''}]"
        return line


def _audit_text(audit: dict) -> str:
    """The action, object, tenant and acting user or token by id (no e-mail addresses) and outcome."""
    parts = [str(audit.get("action"))]
    if audit.get("object_type"):
        parts.append(f"{audit['object_type']} {audit.get('object_id') or ''}".rstrip())
    for key, label in (("tenant_id", "tenant"), ("actor_user_id", "user"), ("actor_token_id", "token")):
        if audit.get(key) is not None:
            parts.append(f"{label}={audit[key]}")
    parts.append(str(audit.get("outcome")))
    return " ".join(parts)


def default_format(koppel_env: str | None = None) -> str:
    """``LOG_FORMAT`` if set, else by environment: ``json`` in production, ``text`` in development/testing.

    *koppel_env* is the environment the app runs in; without it, ``KOPPEL_ENV`` from the process
    environment (not set means production, as in the configuration)."""
    chosen = os.environ.get("LOG_FORMAT", "").strip().lower()
    if chosen:
        if chosen not in FORMATS:
            raise ConfigError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {chosen!r}")
        return chosen
    env = koppel_env if koppel_env is not None else os.environ.get("KOPPEL_ENV", "production")
    return JSON if env == "production" else TEXT


def formatter(fmt: str) -> logging.Formatter:
    if fmt == JSON:
        return JsonFormatter("{asctime}{levelname}{name}{message}", style="{", rename_fields={"levelname": "level"})
    if fmt == TEXT:
        return TextFormatter()
    raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")


def configure(level: str = "INFO", fmt: str | None = None) -> None:
    """Send log lines to stderr in *fmt* (see :func:`default_format` when None).

    A second call changes the level, and the format only when *fmt* is given."""
    global _handler, _format, _werkzeug
    root = logging.getLogger()
    if _handler is None:
        _handler, _werkzeug = logging.StreamHandler(sys.stderr), _WerkzeugLines()
        _handler.addFilter(_RequestFields())
        _handler.addFilter(_werkzeug)
        root.handlers[:] = [_handler, *_extra]
        fmt = fmt or default_format()
    _handler.setLevel(level)
    root.setLevel(min([_handler.level, *(h.level for h in _extra)]))
    if fmt is not None and fmt != _format:
        _handler.setFormatter(formatter(fmt))
        _format = fmt
        isatty = getattr(_handler.stream, "isatty", None)
        _werkzeug.colours = fmt == TEXT and bool(isatty and isatty())


def add_handler(handler: logging.Handler) -> None:
    """Also give every record of *handler*'s level and up to *handler*, after the same filters as the log
    lines (query strings cut); kept when :func:`configure` runs again. For the tests' log scan."""
    configure()
    for log_filter in _handler.filters:
        handler.addFilter(log_filter)
    _extra.append(handler)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(min(root.level, handler.level))


def formatted(record: logging.LogRecord) -> str:
    """*record* as the log line shows it (with its traceback, if any)."""
    return (_handler.formatter if _handler is not None and _handler.formatter else logging.Formatter()).format(record)


def current_format() -> str | None:
    """The format of the log lines (None before :func:`configure`)."""
    return _format
