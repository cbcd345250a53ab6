"""Loading a tenant's object by id: another tenant's id is simply not found (404, never 403)."""
from __future__ import annotations

from core.errors import NotFound
from core.extensions import db
from core.messages import Label, Message


def get_or_404(model, object_id: int):
    """The object of the current tenant with this id; another tenant's id is simply not found."""
    obj = db.session.get(model, object_id)
    if obj is None:
        raise NotFound(Message("No %(what)s %(id)s.", {"what": Label("object", model.__tablename__), "id": object_id},
                               code="not_found"))
    return obj


def get_child_or_404(model, object_id: int, **parent):
    """Like get_or_404, and the object must belong to the parent in the URL (e.g. ``family_id=3``)."""
    obj = get_or_404(model, object_id)
    if any(getattr(obj, name) != value for name, value in parent.items()):
        raise NotFound(Message("No %(what)s %(id)s there.", {"what": Label("object", model.__tablename__),
                                                             "id": object_id}, code="not_found"))
    return obj
