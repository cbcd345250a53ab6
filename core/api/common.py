"""What the API views share: loading by id (404 across tenants), ETags, keyset pages."""
from __future__ import annotations

import base64
import binascii
import json
from datetime import date, datetime

from flask import Response, request
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import tuple_

from core.errors import PreconditionFailed, PreconditionRequired
from core.lookup import get_child_or_404, get_or_404  # noqa: F401  (re-exported for the views)
from core.extensions import db


def etag(obj) -> str:
    """The (unquoted) entity tag of a versioned object."""
    return f"{obj.__tablename__}-{obj.id}-v{obj.version}"


def with_etag(obj, data, status: int = 200):
    """Answer *data* (for the view's response schema) with the object's ETag; 304 when the client has it."""
    tag = etag(obj)
    if request.if_none_match.contains(tag):
        return Response(status=304, headers={"ETag": f'"{tag}"'})
    return data, status, {"ETag": f'"{tag}"'}


def require_if_match(obj) -> None:
    """Refuse a change made without, or against an old, version of *obj* (lost updates)."""
    if not request.if_match:
        raise PreconditionRequired()
    if not request.if_match.contains(etag(obj)) and not request.if_match.star_tag:
        raise PreconditionFailed()


class PageQuerySchema(Schema):
    """Keyset pagination: pass ``cursor`` from the previous page's ``next_cursor``."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String()
    order = fields.String(load_default="asc", validate=validate.OneOf(("asc", "desc")))


def _encode(values) -> str:
    def plain(v):
        return v.isoformat() if isinstance(v, (date, datetime)) else v

    return base64.urlsafe_b64encode(json.dumps([plain(v) for v in values]).encode()).decode().rstrip("=")


def _decode(cursor: str, columns) -> list:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(columns):
            raise ValueError
        values = []
        for value, column in zip(raw, columns):
            python_type = column.type.python_type
            if python_type is date:
                value = date.fromisoformat(value)
            elif python_type is datetime:
                value = datetime.fromisoformat(value)
            values.append(value)
        return values
    except (ValueError, TypeError, binascii.Error, NotImplementedError):
        raise ValidationError({"cursor": ["not a cursor from this list; start again without it"]}) from None


def keyset_page(statement, sort_column, id_column, query: dict):
    """Run *statement* one page at a time, ordered by (sort column, id); returns (rows, next cursor)."""
    columns = (sort_column, id_column)
    descending = query["order"] == "desc"
    if "cursor" in query:
        last = tuple_(*_decode(query["cursor"], columns))
        statement = statement.where(tuple_(*columns) < last if descending else tuple_(*columns) > last)
    order = [c.desc() if descending else c.asc() for c in columns]
    rows = db.session.scalars(statement.order_by(*order).limit(query["limit"] + 1)).all()
    more = len(rows) > query["limit"]
    rows = rows[: query["limit"]]
    next_cursor = None
    if more:
        last_row = rows[-1]
        next_cursor = _encode([getattr(last_row, sort_column.key), getattr(last_row, id_column.key)])
    return rows, next_cursor
