"""A municipality's audit log, for its administrators."""
from marshmallow import Schema, fields
from sqlalchemy import select

from core.api.common import Blueprint, PageQuerySchema, page, page_of
from core.audit import AuditEvent
from core.auth import roles as R
from core.auth.access import requires

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
@blp.response(200, page_of(AuditEventSchema))
def list_audit_events(query):
    """The newest events first."""
    return page(select(AuditEvent), query, AuditEvent.id, descending=True)
