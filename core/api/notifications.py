"""The current user's notifications in a municipality: listing them and marking them read.

Notifications belong to a person: an API token that no user made has none (409 ``needs_person``).
Another user's notification, or another municipality's, is not found.
"""
from __future__ import annotations

from marshmallow import Schema, fields

from core import notifications
from core.api.common import Blueprint, PageQuerySchema, get_or_404, page, page_of
from core.audit import actor_user_id
from core.auth import roles as R
from core.auth.access import requires
from core.errors import Conflict, NotFound
from core.extensions import db
from core.messages import Message, render
from core.scheduling.models import Notification

blp = Blueprint("notifications", __name__, url_prefix="/api/v1/<municipality>", description="Notifications")

STAFF = (R.COORDINATOR, R.TENANT_ADMIN)


def person_id() -> int:
    """The user behind the request; 409 for an API token that no user made."""
    user_id = actor_user_id()
    if user_id is None:
        raise Conflict(Message("This belongs to a person, and this API token was made by none: use a token a "
                               "user made, or log in.", code="needs_person"))
    return user_id


class RenderedMessageSchema(Schema):
    """A stored message, read in the request's language, with its code and parameters for programs."""

    message = fields.Method("_text", metadata={"description": "in the language of the request"})
    code = fields.Method("_code", allow_none=True, metadata={"description": "stable name of the message"})
    params = fields.Method("_params", metadata={"description": "the message's parameters, to translate it yourself"})

    def _text(self, row):
        return render(Message.from_dict(row.message))

    def _code(self, row):
        return row.message.get("code")

    def _params(self, row):
        return row.message.get("params") or {}


class NotificationSchema(RenderedMessageSchema):
    id = fields.Integer()
    kind = fields.String()
    subject_type = fields.String(allow_none=True, metadata={"description": "family, match, evaluation, import ..."})
    subject_id = fields.Integer(allow_none=True)
    work_item_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class NotificationQuerySchema(PageQuerySchema):
    unread = fields.Boolean(load_default=False, metadata={"description": "only the ones not read yet"})


class ReadAllSchema(Schema):
    marked = fields.Integer(metadata={"description": "how many were unread and are read now"})


@blp.get("/notifications")
@requires(*STAFF)
@blp.arguments(NotificationQuerySchema, location="query")
@blp.response(200, page_of(NotificationSchema))
@blp.alt_response(409, response="CONFLICT")
def list_notifications(query):
    """Your notifications in this municipality, newest first; ``unread=true`` for those not read yet."""
    statement = notifications.of_user(person_id(), unread_only=query["unread"])
    return page(statement, query, Notification.id, descending=True)


@blp.post("/notifications/<int:notification_id>/read")
@requires(*STAFF)
@blp.response(200, NotificationSchema)
@blp.alt_response(409, response="CONFLICT")
def mark_read(notification_id):
    """Mark one of your notifications read (again: it stays read since the first time)."""
    user_id = person_id()
    notification = get_or_404(Notification, notification_id)
    if notification.user_id != user_id:
        raise NotFound(Message("No notification %(id)s.", {"id": notification_id}, code="not_found"))
    notifications.mark_read(notification)
    db.session.commit()
    return notification


@blp.post("/notifications/read-all")
@requires(*STAFF)
@blp.response(200, ReadAllSchema)
@blp.alt_response(409, response="CONFLICT")
def mark_all_read():
    """Mark all your notifications in this municipality read."""
    marked = notifications.mark_all_read(person_id())
    db.session.commit()
    return {"marked": marked}
