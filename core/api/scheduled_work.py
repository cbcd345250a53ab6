"""A municipality's scheduled work, for its tenant admin: the state per kind, the items, running one again."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from core.api.common import Blueprint, PageQuerySchema, get_or_404, page, page_of
from core.auth import roles as R
from core.auth.access import requires
from core.extensions import db
from core.messages import current_language
from core.scheduling import status
from core.scheduling.models import ITEM_STATES, ScheduledItem

blp = Blueprint("scheduled_work", __name__, url_prefix="/api/v1/<municipality>", description="Scheduled work")

ADMINS = (R.TENANT_ADMIN, R.PLATFORM_ADMIN)


class ScheduledItemSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    state = fields.String(metadata={"enum": list(ITEM_STATES)})
    attempts = fields.Integer()
    error = fields.String(allow_none=True, metadata={"description": "why it failed: a reason, never personal data"})
    due_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    subject_id = fields.Integer(allow_none=True, metadata={"description": "what the work is about (an evaluation, "
                                                                          "a family, an import...), by kind"})


class KindStatusSchema(Schema):
    kind = fields.Function(lambda s: s.kind.name)
    title = fields.Function(lambda s: s.kind.title.get(current_language()) or s.kind.title.get("en"),
                            metadata={"description": "in the request's language"})
    schedule = fields.Function(lambda s: s.kind.schedule, allow_none=True,
                               metadata={"description": 'local time in Amsterdam, e.g. {"daily": "09:00"}'})
    last_run_at = fields.DateTime(allow_none=True, metadata={"description": "when its newest done item finished"})
    next_run_at = fields.DateTime(allow_none=True, metadata={
        "description": "when the dispatcher next looks for this work; null for work that requests make"})
    pending = fields.Function(lambda s: s.counts["pending"])
    done = fields.Function(lambda s: s.counts["done"])
    failed = fields.Function(lambda s: s.counts["failed"])
    latest_failures = fields.List(fields.Nested(ScheduledItemSchema),
                                  metadata={"description": f"at most {status.LATEST_FAILURES}, newest first"})


class OverviewSchema(Schema):
    kinds = fields.List(fields.Nested(KindStatusSchema))


class ItemQuerySchema(PageQuerySchema):
    state = fields.String(validate=validate.OneOf(ITEM_STATES))
    kind = fields.String(validate=validate.Length(min=1, max=32))


@blp.get("/scheduled-work")
@requires(*ADMINS)
@blp.response(200, OverviewSchema)
def overview():
    """Per kind of scheduled work: last run, next run, items pending, done and failed, the latest failures."""
    return {"kinds": status.overview()}


@blp.get("/scheduled-work/items")
@requires(*ADMINS)
@blp.arguments(ItemQuerySchema, location="query")
@blp.response(200, page_of(ScheduledItemSchema))
def list_items(query):
    """The municipality's scheduled items, newest first; ``state`` and ``kind`` filter."""
    return page(status.items(query.get("state"), query.get("kind")), query, ScheduledItem.id, descending=True)


@blp.post("/scheduled-work/items/<int:scheduled_item_id>/run-again")
@requires(*ADMINS)
@blp.response(200, ScheduledItemSchema)
@blp.alt_response(409, response="CONFLICT")
def run_again(scheduled_item_id):
    """Run a failed item again: it becomes pending and is handed to a worker at once (409 unless failed)."""
    item = get_or_404(ScheduledItem, scheduled_item_id)
    ticket = status.run_again(item)
    db.session.commit()
    status.send(ticket)
    return item
