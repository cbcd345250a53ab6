"""What the coordinators of a municipality have to do: the work items scheduled work made."""
from __future__ import annotations

from marshmallow import fields, validate
from sqlalchemy import select

from core.api.common import Blueprint, PageQuerySchema, page, page_of
from core.api.notifications import STAFF, RenderedMessageSchema, person_id
from core.auth.access import requires
from core.scheduling.models import WorkItem

blp = Blueprint("work_items", __name__, url_prefix="/api/v1/<municipality>", description="Work items")

STATES = ("open", "resolved", "all")


class WorkItemSchema(RenderedMessageSchema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "evaluation, vog_expiring, supporting_review ..."})
    family_id = fields.Integer(allow_none=True)
    match_id = fields.Integer(allow_none=True)
    evaluation_id = fields.Integer(allow_none=True)
    assigned_user_id = fields.Integer(allow_none=True, metadata={"description": "null: every coordinator"})
    due_on = fields.Date()
    created_at = fields.DateTime()
    reminded_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)


class WorkItemQuerySchema(PageQuerySchema):
    state = fields.String(load_default="open", validate=validate.OneOf(STATES))
    kind = fields.String(validate=[validate.Length(max=32), validate.Regexp(r"^[a-z_]+$")])
    assigned = fields.String(validate=validate.OneOf(("me",)),
                             metadata={"description": "me: only the items assigned to you"})


@blp.get("/work-items")
@requires(*STAFF)
@blp.arguments(WorkItemQuerySchema, location="query")
@blp.response(200, page_of(WorkItemSchema))
@blp.alt_response(409, response="CONFLICT")
def list_work_items(query):
    """Work items by due date: open ones by default (``state``), of one ``kind``, ``assigned=me`` for yours."""
    statement = select(WorkItem)
    if query["state"] == "open":
        statement = statement.where(WorkItem.resolved_at.is_(None))
    elif query["state"] == "resolved":
        statement = statement.where(WorkItem.resolved_at.is_not(None))
    if "kind" in query:
        statement = statement.where(WorkItem.kind == query["kind"])
    if query.get("assigned") == "me":
        statement = statement.where(WorkItem.assigned_user_id == person_id())
    return page(statement, query, WorkItem.id, WorkItem.due_on)
