"""What the API views share: the blueprint, loading by id (404 across tenants), ETags and If-Match, keyset
pages."""
from __future__ import annotations

from functools import wraps

import flask_smorest
from flask import Response, current_app, request
from itsdangerous import BadSignature, URLSafeSerializer
from marshmallow import RAISE, Schema, ValidationError, fields, validate
from sqlalchemy import literal, select, tuple_
from webargs.flaskparser import FlaskParser

from core.errors import PreconditionFailed, PreconditionRequired
from core.extensions import db
from core.lookup import get_child_or_404, get_or_404  # noqa: F401  (re-exported for the views)
from core.messages import Message


class _Parser(FlaskParser):
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": RAISE}


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's blueprint, but an unknown query parameter is refused (422 naming it), as an unknown
    field of a body is: a misspelt filter would otherwise be ignored and answer every row."""

    ARGUMENTS_PARSER = _Parser()


#: The largest page a client may ask for.
MAX_LIMIT = 200


def etag(obj) -> str:
    """The (unquoted) entity tag of a versioned object."""
    return f"{obj.__tablename__}-{obj.id}-v{obj.version}"


def with_etag(obj, data, status: int = 200):
    """Answer *data* (for the view's response schema) with the object's ETag; 304 when the client has it."""
    tag = etag(obj)
    if request.if_none_match.contains(tag):
        return Response(status=304, headers={"ETag": f'"{tag}"'})
    return data, status, {"ETag": f'"{tag}"'}


def _require_a_tag() -> None:
    if not request.if_match:
        raise PreconditionRequired()
    if request.if_match.star_tag:
        raise PreconditionRequired(Message("If-Match: * is not accepted; send the ETag of the version you read.",
                                           code="if_match_star"))


def require_if_match(obj) -> None:
    """Refuse a change made without, or against an old, version of *obj* (lost updates)."""
    _require_a_tag()
    if not request.if_match.contains(etag(obj)):
        raise PreconditionFailed()


#: One or more quoted entity tags (RFC 9110); ``*`` is not one.
ENTITY_TAGS = r'^\s*(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*\s*$'
IF_MATCH = {"in": "header", "name": "If-Match", "required": True, "schema": {"type": "string", "pattern": ENTITY_TAGS},
            "description": "The ETag of the version you read (a GET, or the answer to your last change); "
                           "`*` is refused."}
ETAG = {"description": "The ETag of the new version, for the next change.", "schema": {"type": "string"}}


def versioned(view):
    """A change of a versioned object (a family, a match): ``If-Match`` is required (428 without it or with
    ``*``, before the body is read; 412 when stale, which ``require_if_match`` checks once the object is
    loaded) and the answer carries the new ETag. Also says so in the OpenAPI document.

    Put it under ``@requires`` and above ``@blp.arguments``/``@blp.response``.
    """
    @wraps(view)
    def wrapper(*args, **kwargs):
        _require_a_tag()
        return view(*args, **kwargs)

    statuses = getattr(view, "_apidoc", {}).get("success_status_codes") or [200]
    responses = {status: {"headers": {"ETag": ETAG}} for status in statuses}
    responses.update({412: "PRECONDITION_FAILED", 428: "PRECONDITION_REQUIRED"})
    return Blueprint.doc(parameters=[IF_MATCH], responses=responses)(wrapper)


class PageQuerySchema(Schema):
    """One page of a list: pass a page's ``next_cursor`` back as ``cursor`` for the next (empty: the first)."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(load_default="", validate=validate.Length(max=200),
                           metadata={"description": "opaque; from the previous page's next_cursor"})


_PAGES: dict = {}


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """The envelope every list answers: ``{"items": [...], "next_cursor": "..." | null}``."""
    if item_schema not in _PAGES:
        name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
        _PAGES[item_schema] = type(name, (Schema,), {
            "items": fields.List(fields.Nested(item_schema)),
            "next_cursor": fields.String(allow_none=True, metadata={"description": "null on the last page"}),
        })
    return _PAGES[item_schema]


def _serializer(query: dict) -> URLSafeSerializer:
    """Signs a cursor for this list only: its path (with the municipality, the family...) and its order."""
    scope = [request.path, query.get("sort"), query.get("order")]
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=f"koppel.cursor:{scope!r}")


def _last_id(query: dict) -> int:
    try:
        value = _serializer(query).loads(query["cursor"])
    except BadSignature:
        value = None
    if type(value) is not int or not 1 <= value <= 2**63 - 1:
        raise ValidationError({"cursor": [Message("Not a cursor of this list; start again without it.",
                                                  code="invalid_cursor")]})
    return value


def keyset_page(statement, query: dict, id_column, sort_column=None, *, descending: bool = False):
    """Run *statement* one page at a time, ordered by (sort column, id); returns (rows, next cursor).

    The cursor is signed and holds the last row's id only, never its name or date: the sort value is
    looked up by that id (a subquery on the same, tenant-scoped, table). The sort column must not be null.
    A row deleted since the previous page ends the list there.
    """
    columns = (id_column,) if sort_column is None or sort_column is id_column else (sort_column, id_column)
    if query["cursor"]:
        last_id = _last_id(query)
        if len(columns) == 1:
            after = id_column < last_id if descending else id_column > last_id
        else:
            last_sort = select(sort_column).where(id_column == last_id).correlate(None).scalar_subquery()
            bound = tuple_(last_sort, literal(last_id))
            after = tuple_(*columns) < bound if descending else tuple_(*columns) > bound
        statement = statement.where(after)
    order = [c.desc() if descending else c.asc() for c in columns]
    rows = db.session.scalars(statement.order_by(None).order_by(*order).limit(query["limit"] + 1)).all()
    more = len(rows) > query["limit"]
    rows = rows[: query["limit"]]
    next_cursor = _serializer(query).dumps(getattr(rows[-1], id_column.key)) if more else None
    return rows, next_cursor


def page(statement, query: dict, id_column, sort_column=None, *, descending: bool = False) -> dict:
    """:func:`keyset_page` as the envelope of :func:`page_of`."""
    items, next_cursor = keyset_page(statement, query, id_column, sort_column, descending=descending)
    return {"items": items, "next_cursor": next_cursor}
