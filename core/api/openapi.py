"""What the OpenAPI document says beyond each operation's own schemas: the error body, the bearer security
scheme, and the error responses every operation can answer (derived from its access declaration and path)."""
from __future__ import annotations

import dataclasses
import functools
import types
import typing
from datetime import date
from decimal import Decimal
from http import HTTPStatus

from marshmallow import Schema, fields

SECURITY_SCHEME = "bearerAuth"


class BlockerFindingSchema(Schema):
    rule = fields.String(allow_none=True)
    result = fields.String(allow_none=True)
    explanation = fields.String(metadata={"description": "in the language of the request"})


class BlockerSchema(Schema):
    """A decision that keeps a family from being matched (409 ``match_not_allowed`` and overrides)."""

    family_id = fields.Integer()
    family_kind = fields.String()
    decision_kind = fields.String()
    decision_id = fields.Integer()
    outcome = fields.String()
    policy_version = fields.Integer(allow_none=True)
    awaiting_confirmation = fields.Integer(allow_none=True, metadata={
        "description": "the override that waits for a second coordinator's confirmation"})
    findings = fields.List(fields.Nested(BlockerFindingSchema))


class ErrorSchema(Schema):
    """Every error the API answers: a stable ``error`` code, and a message in the request's language."""

    code = fields.Integer(required=True, metadata={"description": "the HTTP status code"})
    status = fields.String(required=True, metadata={"description": "the HTTP status"})
    error = fields.String(required=True, metadata={"description": "stable code, e.g. not_found, invalid_input, "
                                                                   "match_not_allowed"})
    message = fields.String(required=True, metadata={"description": "in the request's language"})
    params = fields.Dict(required=True, metadata={"description": "the message's parameters, to translate it "
                                                                 "yourself"})
    errors = fields.Dict(metadata={"description": "invalid input: the wrong fields by location "
                                                  "(json, query, form, files), each with its messages"})
    problems = fields.List(fields.Nested(BlockerSchema), metadata={
        "description": "a refused match step: each decision that blocks it, with its failing findings"})


#: Descriptions of the error responses, where they say more than the status phrase.
DESCRIPTIONS = {
    HTTPStatus.UNAUTHORIZED: "No valid bearer token",
    HTTPStatus.FORBIDDEN: "Your role does not allow this, or the municipality is suspended",
    HTTPStatus.NOT_FOUND: "No such municipality or consortium for you, or an id that is not of this municipality",
    HTTPStatus.CONFLICT: "The current state does not allow this; ``error`` and ``message`` say why",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "The request body is too large",
    HTTPStatus.UNPROCESSABLE_ENTITY: "Invalid input; ``errors`` names each wrong field, nothing is written",
    HTTPStatus.TOO_MANY_REQUESTS: "Too many requests; try again later",
}

BODY_METHODS = ("post", "put", "patch")


def describe(spec, rule, view, openapi_path: str) -> None:
    """Add the security requirement and the error responses to the operations of *rule*."""
    from core.auth.access import PUBLIC, PUBLIC_TENANT, USER  # core.auth imports the extensions, which import this

    access = getattr(view, "access", None)
    path = spec._paths.get(openapi_path, {})  # apispec keeps no public accessor for a registered path
    for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
        operation = path.get(method.lower())
        if operation is None or access is None:
            continue
        responses = operation.setdefault("responses", {})

        def add(status: HTTPStatus) -> None:
            responses.setdefault(str(status.value), spec.components.get_ref("response", status.name))

        if access.scope in (PUBLIC, PUBLIC_TENANT):
            operation["security"] = []
        else:
            operation["security"] = [{SECURITY_SCHEME: []}]
            add(HTTPStatus.UNAUTHORIZED)
        if access.scope not in (PUBLIC, USER):
            add(HTTPStatus.FORBIDDEN)
        if rule.arguments:
            add(HTTPStatus.NOT_FOUND)
        if "requestBody" in operation:
            add(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        operation["responses"] = dict(sorted(responses.items()))


_SCALARS = {int: fields.Integer, float: fields.Float, bool: fields.Boolean, str: fields.String, date: fields.Date}


@functools.cache
def dataclass_schema(cls: type, prefix: str = "") -> type[Schema]:
    """A schema of a dataclass answered as its ``asdict`` (decimals as strings), named by the class name and,
    unless it starts with it, *prefix* before it."""
    hints = typing.get_type_hints(cls)
    name = cls.__name__ if cls.__name__.startswith(prefix) else prefix + cls.__name__
    return Schema.from_dict({f.name: _field(hints[f.name], prefix) for f in dataclasses.fields(cls)},
                            name=f"{name}Schema")


def _field(hint, prefix: str, **kwargs) -> fields.Field:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        return _field(inner, prefix, allow_none=True)
    if dataclasses.is_dataclass(hint):
        return fields.Nested(dataclass_schema(hint, prefix), **kwargs)
    if origin in (list, tuple):
        return fields.List(_field(args[0], prefix), **kwargs)
    if hint is dict or origin is dict:
        values = _field(args[1], prefix) if args and args[1] is not Decimal else fields.Raw()
        return fields.Dict(keys=fields.String(), values=values, **kwargs)
    if hint is Decimal:
        return fields.String(metadata={"description": "a decimal amount"}, **kwargs)
    return _SCALARS[hint](**kwargs)
