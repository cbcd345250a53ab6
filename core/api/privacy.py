"""Data protection: the retention period, destruction lists and their four-eyes approval, erasure on request,
and a family's subject-access export (AVG art. 15-17). The rules are in :mod:`core.usecases.retention` and
:mod:`core.usecases.subject_access`."""
from __future__ import annotations

import json

from flask import Response
from marshmallow import Schema, fields, validate

from core.api.common import Blueprint
from core.auth import roles as R
from core.auth.access import requires
from core.extensions import db
from core.programme import retention as R_
from core.usecases import retention, subject_access

blp = Blueprint("privacy", __name__, url_prefix="/api/v1/<municipality>", description="Retention and data subjects")

STAFF = (R.COORDINATOR, R.TENANT_ADMIN)
TEXT = validate.Length(max=retention.MAX_TEXT)


class RetentionSchema(Schema):
    retention_months = fields.Integer(required=True, strict=True,
                                      validate=validate.Range(min=R_.MIN_MONTHS, max=R_.MAX_MONTHS),
                                      metadata={"description": "months after a family's file closed"})


class DestructionItemSchema(Schema):
    id = fields.Integer()
    family_id = fields.Integer()
    closed_on = fields.Date(allow_none=True)
    excluded = fields.Boolean()
    exclusion_reason = fields.String(allow_none=True)
    destroyed_at = fields.DateTime(allow_none=True)
    destroyed = fields.Dict(allow_none=True, metadata={"description": "per table: rows deleted or emptied"})


class DestructionListSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    state = fields.String()
    retention_months = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    legal_basis = fields.String(allow_none=True)
    created_at = fields.DateTime()
    created_by_user_id = fields.Integer(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)
    submitted_by_user_id = fields.Integer(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decided_by_user_id = fields.Integer(allow_none=True)
    decision_note = fields.String(allow_none=True)
    items = fields.List(fields.Nested(DestructionItemSchema))


class ExclusionSchema(Schema):
    item_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2147483647))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=retention.MAX_TEXT))


class SubmitSchema(Schema):
    exclusions = fields.List(fields.Nested(ExclusionSchema), load_default=list, validate=validate.Length(max=10000))


class DecisionNoteSchema(Schema):
    note = fields.String(load_default=None, allow_none=True, validate=TEXT)


class ErasureSchema(Schema):
    family_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2147483647))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=retention.MAX_TEXT))
    legal_basis = fields.String(required=True, validate=validate.Length(min=1, max=retention.MAX_TEXT),
                                metadata={"description": "the exceptions of AVG art. 17(3) weighed, and why none "
                                                         "applies"})


class ExportQuerySchema(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(("json",)))


@blp.get("/retention")
@requires(*STAFF)
@blp.response(200, RetentionSchema)
def get_retention():
    """The municipality's retention period (default 24 months, see docs/privacy.md)."""
    return retention._municipality()


@blp.put("/retention")
@requires(R.TENANT_ADMIN)
@blp.arguments(RetentionSchema)
@blp.response(200, RetentionSchema)
def set_retention(data):
    """Set the retention period, in months after a family's file closed."""
    found = retention.set_retention_months(data["retention_months"])
    db.session.commit()
    return found


@blp.get("/destruction-lists/<int:destruction_list_id>")
@requires(*STAFF)
@blp.response(200, DestructionListSchema)
def get_list(destruction_list_id):
    """A destruction list with its families (ids only)."""
    return retention.get(destruction_list_id)


@blp.post("/destruction-lists/<int:destruction_list_id>/submit")
@requires(*STAFF)
@blp.arguments(SubmitSchema)
@blp.response(200, DestructionListSchema)
def submit_list(data, destruction_list_id):
    """Review an open list: keep families off it with a reason, and send the rest for approval."""
    found = retention.submit(destruction_list_id, {e["item_id"]: e["reason"] for e in data["exclusions"]})
    db.session.commit()
    return found


@blp.post("/destruction-lists/<int:destruction_list_id>/approve")
@requires(*STAFF)
@blp.arguments(DecisionNoteSchema)
@blp.response(200, DestructionListSchema)
def approve_list(data, destruction_list_id):
    """Approve a submitted list (a second person: 409 for the one who submitted it); destroys its families."""
    found = retention.approve(destruction_list_id, data["note"])
    db.session.commit()
    return found


@blp.post("/destruction-lists/<int:destruction_list_id>/reject")
@requires(*STAFF)
@blp.arguments(DecisionNoteSchema)
@blp.response(200, DestructionListSchema)
def reject_list(data, destruction_list_id):
    """Reject a submitted list with a note: nothing is destroyed."""
    found = retention.reject(destruction_list_id, data["note"])
    db.session.commit()
    return found


@blp.post("/erasure-requests")
@requires(*STAFF)
@blp.arguments(ErasureSchema)
@blp.response(201, DestructionListSchema)
def request_erasure(data):
    """Record a family's request to be erased: a destruction list of one, for a second person to approve
    (409 while the family has a match that is not ended)."""
    found = retention.request_erasure(data["family_id"], data["reason"], data["legal_basis"])
    db.session.commit()
    return found


@blp.get("/families/<int:family_id>/subject-access")
@requires(*STAFF)
@blp.arguments(ExportQuerySchema, location="query")
@blp.response(200, {"type": "object"}, headers={"Content-Disposition": {
    "description": "attachment, with the file's name", "schema": {"type": "string"}}})
def export_subject_data(query, family_id):
    """Everything stored about the family, and the audit events about it, as a JSON file (audited)."""
    data = subject_access.export(family_id, "json")
    db.session.commit()
    return Response(json.dumps(data, ensure_ascii=False, indent=1), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="koppel-family-{family_id}.json"'})
