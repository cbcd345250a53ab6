"""The contact log of a family or a match; durations add up to volunteer hours."""
from __future__ import annotations

from core import audit
from core.extensions import db
from core.programme.models import Contact


def log(data: dict, *, family_id: int | None = None, match_id: int | None = None) -> Contact:
    contact = Contact(**data, family_id=family_id, match_id=match_id, by_user_id=audit.actor_user_id())
    db.session.add(contact)
    db.session.flush()
    audit.record("contact.create", object_type="match" if match_id else "family", object_id=match_id or family_id,
                 detail={"contact": contact.id, "kind": contact.kind, "minutes": contact.duration_minutes})
    return contact
