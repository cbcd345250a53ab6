"""The audit log: a municipality's for its administrators, everything for the platform's.

A municipality's log says that a user of another organisation was refused there, without naming them (no
e-mail, no user id, no address: ``foreign`` is true); the platform's log names them.
"""
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from core import audit
from core.api.common import Blueprint, PageQuerySchema, keyset_page, page_of
from core.audit import AuditEvent
from core.auth import roles as R
from core.auth.access import PLATFORM, requires
from core.extensions import db
from tenants.context import cross_tenant_scope

blp = Blueprint("audit_events", __name__, url_prefix="/api/v1", description="Audit log")


class AuditQuerySchema(PageQuerySchema):
    action = fields.String(validate=validate.Regexp(r"^[a-z_]+(\.[a-z_]+)*\.?$", error="an action such as "
                                                    "family.read, or a prefix such as family."))
    since = fields.Date(metadata={"description": "from this day (Europe/Amsterdam)"})
    until = fields.Date(metadata={"description": "up to and including this day"})


class AuditEventSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String(allow_none=True)
    actor_user_id = fields.Integer(allow_none=True)
    foreign = fields.Boolean(metadata={"description": "a user of another organisation, refused here"})
    action = fields.String()
    object_type = fields.String(allow_none=True)
    object_id = fields.String(allow_none=True)
    ip = fields.String(allow_none=True)
    outcome = fields.String()
    detail = fields.Dict(allow_none=True)


class PlatformAuditEventSchema(AuditEventSchema):
    tenant_id = fields.Integer(allow_none=True)


def _page(query: dict, *, platform: bool) -> dict:
    statement = audit.listing(action=query.get("action"), since=query.get("since"), until=query.get("until"))
    items, next_cursor = keyset_page(statement, query, AuditEvent.id, descending=True)
    return {"items": [audit.shown(e, platform=platform) for e in items], "next_cursor": next_cursor}


@blp.get("/<municipality>/audit-events")
@requires(R.TENANT_ADMIN)
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, page_of(AuditEventSchema))
def list_audit_events(query):
    """The municipality's events, newest first."""
    return _page(query, platform=False)


@blp.get("/platform/audit-events")
@requires(R.PLATFORM_ADMIN, scope=PLATFORM)
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, page_of(PlatformAuditEventSchema))
def list_platform_audit_events(query):
    """Every municipality's events and the platform's, newest first, naming who was refused."""
    with cross_tenant_scope(audit.PLATFORM_SCOPE):
        found = _page(query, platform=True)
        db.session.commit()
    return found
