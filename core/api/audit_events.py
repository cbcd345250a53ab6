"""A municipality's audit log, for its administrators."""
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import select

from core.api.schemas import PageQuerySchema
from core.audit import AuditEvent
from core.auth import roles as R
from core.auth.access import requires
from core.extensions import db

blp = Blueprint("audit_events", __name__, url_prefix="/api/v1", description="Audit log")


class AuditEventSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String(allow_none=True)
    action = fields.String()
    object_type = fields.String(allow_none=True)
    object_id = fields.String(allow_none=True)
    ip = fields.String(allow_none=True)
    outcome = fields.String()
    detail = fields.Dict(allow_none=True)


@blp.get("/<municipality>/audit-events")
@requires(R.TENANT_ADMIN)
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, AuditEventSchema(many=True))
def list_audit_events(query):
    """The newest events first; page with ``before`` = the last id seen."""
    statement = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(query["limit"])
    if "before" in query:
        statement = statement.where(AuditEvent.id < query["before"])
    return db.session.scalars(statement).all()
