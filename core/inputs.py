"""Guards on what a request brings, applied before any view or query runs.

* ``<int:...>`` in a URL matches 1 to 2147483647 only (a PostgreSQL ``integer``): a larger id is 404.
* A NUL byte in the path, a query parameter or a form field, and a NUL byte or a lone surrogate in a
  JSON string (``"\\u0000"``, ``"\\ud800"``), is refused with 400 ``invalid_characters`` naming the
  field (``members[0].first_name``). The database cannot store either.
* JSON nested deeper than :data:`MAX_JSON_DEPTH` is refused with 400 ``too_deep``.
* A page (not the API) takes forms: a JSON body there is 415 (Flask-WTF would read any JSON as a form).
* A body larger than ``MAX_CONTENT_LENGTH`` (``IMPORT_MAX_BYTES`` for the import endpoints) is refused
  with 413 from its ``Content-Length``, before it is read.
* An uploaded file's name is the client's: :func:`file_label` makes it a label to show, never a path.

The JSON checks sit in the app's JSON provider (``request.get_json``) and in :func:`check_request`, which
parses a JSON body once with the same checks before webargs parses it with its own ``json.loads``.
"""
from __future__ import annotations

import json
import re
import unicodedata

from flask import current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter, ValidationError

from core.errors import KoppelHTTPError
from core.messages import Message

#: The largest value of a PostgreSQL ``integer`` (ids are ``integer``).
MAX_ID = 2**31 - 1
#: Nesting deeper than this (objects and arrays) is refused.
MAX_JSON_DEPTH = 64
#: The blueprint whose endpoints take uploads up to ``IMPORT_MAX_BYTES``, and the import's web page.
IMPORT_BLUEPRINT = "imports"
IMPORT_PAGE = "web.import_upload"


def is_upload() -> bool:
    """Whether the request is a spreadsheet import (API or web page), which may be as large as
    ``IMPORT_MAX_BYTES``."""
    return request.blueprint == IMPORT_BLUEPRINT or request.endpoint == IMPORT_PAGE

_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")
#: What a file name keeps of its length as a label.
LABEL_LENGTH = 120
#: Unicode categories a label drops: controls (newlines, escapes), format characters (right-to-left
#: overrides, zero widths), surrogates, private use, unassigned, line and paragraph separators.
_UNSHOWN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def file_label(filename: str | None, fallback: str) -> str:
    """A client's file name as a label to show: its last path segment, without control or format
    characters, whitespace collapsed, leading dots dropped, cut to :data:`LABEL_LENGTH` characters (the
    extension kept); *fallback* when nothing is left. Never use it, or the name it came from, as a path."""
    name = re.split(r"[/\\]", filename or "")[-1]
    name = "".join(" " if unicodedata.category(c) in _UNSHOWN else c for c in name)
    name = " ".join(name.split()).lstrip(". ")
    if len(name) > LABEL_LENGTH:
        stem, dot, extension = name.rpartition(".")
        extension = dot + extension if stem and len(extension) < 10 else ""
        name = name[:LABEL_LENGTH - len(extension) - 1].rstrip() + "…" + extension
    return name or fallback


class InvalidCharacters(KoppelHTTPError):
    status = 400
    code = "invalid_characters"


class TooDeep(KoppelHTTPError):
    status = 400
    code = "too_deep"


class NotAForm(KoppelHTTPError):
    status = 415
    code = "not_a_form"


def invalid_characters(field: str) -> InvalidCharacters:
    return InvalidCharacters(Message(
        "%(field)s contains a character that is not allowed (a NUL byte or an unpaired surrogate)",
        {"field": _FORBIDDEN.sub("?", field)[:200]}, code="invalid_characters"))


def too_deep() -> TooDeep:
    return TooDeep(Message("The JSON is nested too deep (more than %(limit)s levels)", {"limit": MAX_JSON_DEPTH},
                           code="too_deep"))


class IdConverter(IntegerConverter):
    """``<int:...>``: 1 to 2147483647; anything else does not match (404) and never reaches a query."""

    def __init__(self, map, fixed_digits=0, min=1, max=MAX_ID, signed=False):  # noqa: A002 - werkzeug's names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str):
        if len(value) > len(str(self.max if self.max is not None else MAX_ID)):
            raise ValidationError()  # also spares int() a string of thousands of digits
        return super().to_python(value)


def check_json(data, path: str = "") -> None:
    """Refuse NUL bytes and lone surrogates in strings and keys, and nesting deeper than MAX_JSON_DEPTH."""
    stack = [(data, path, 0)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, str):
            if _FORBIDDEN.search(value):
                raise invalid_characters(where or "body")
        elif isinstance(value, (dict, list)):
            if depth >= MAX_JSON_DEPTH:
                raise too_deep()
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    if _FORBIDDEN.search(key):
                        raise invalid_characters(where or "body")
                    inner = f"{where}.{key}" if where else key
                else:
                    inner = f"{where}[{key}]"
                stack.append((item, inner, depth + 1))


def loads(text: str | bytes, **kwargs):
    """``json.loads``, with :func:`check_json` applied; a ``RecursionError`` (very deep input) is 400."""
    try:
        data = json.loads(text, **kwargs)
    except RecursionError:
        raise too_deep() from None
    check_json(data)
    return data


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, with the checks of :func:`loads` on what it reads."""

    def loads(self, s: str | bytes, **kwargs):
        return loads(s, **kwargs)


def check_request(endpoint=None, values=None) -> None:
    """Refuse a body that is too large (by its Content-Length), and forbidden characters anywhere.

    Registered as the app's first URL value preprocessor, so it runs before the tenant is looked up."""
    if is_upload():
        request.max_content_length = current_app.config["IMPORT_MAX_BYTES"]
    limit = request.max_content_length
    if limit is not None and request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    for name, value in (values or {}).items():
        if isinstance(value, str) and _FORBIDDEN.search(value):
            raise invalid_characters(name)
    if _FORBIDDEN.search(request.path):
        raise invalid_characters("path")
    for name, value in request.args.items(multi=True):
        if _FORBIDDEN.search(name) or _FORBIDDEN.search(value):
            raise invalid_characters(name)
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        for name, value in request.form.items(multi=True):
            if _FORBIDDEN.search(name) or _FORBIDDEN.search(value):
                raise invalid_characters(name)
        for name, upload in request.files.items(multi=True):
            if _FORBIDDEN.search(name) or _FORBIDDEN.search(upload.filename or ""):
                raise invalid_characters(name)
    elif request.is_json and not request.path.startswith("/api/") and request.get_data(cache=True):
        raise NotAForm(Message("This page takes a form, not JSON", code="not_a_form"))
    elif request.is_json:
        data = request.get_data(cache=True)
        if data:
            try:
                loads(data)
            except ValueError:
                pass  # not JSON at all: the view's parser says so in its own words


def init_app(app) -> None:
    """Install the guards; call before any blueprint is registered (the converter applies to rules as added)."""
    app.url_map.converters["int"] = IdConverter
    app.json = JSONProvider(app)
    app.url_value_preprocessor(check_request)
