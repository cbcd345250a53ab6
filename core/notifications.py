"""Notifications: messages for one user, listed in the app and mailed once a day in a digest.

A notification has a ``key`` unique per user, so the same event (an
evaluation due, a warning of a month) notifies a user once however often
the work that makes it runs. Its text is a stored :class:`~core.messages.Message`,
read in the reader's language.
"""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from core.auth import roles as R
from core.auth.models import Membership, User
from core.extensions import db
from core.messages import Message
from core.scheduling.models import Notification
from core.types import utcnow
from tenants.context import current_tenant_id


def staff(tenant_id: int, *roles: str) -> list[int]:
    """Ids of the active users with one of *roles* in municipality *tenant_id* (coordinators by default)."""
    return list(db.session.scalars(
        select(User.id).join(Membership, Membership.user_id == User.id)
        .where(Membership.municipality_id == tenant_id, Membership.role.in_(roles or (R.COORDINATOR,)),
               User.active.is_(True)).distinct().order_by(User.id)))


def notify(user_ids, kind: str, key: str, message: Message, *, subject_type: str | None = None,
           subject_id: int | None = None, work_item_id: int | None = None) -> int:
    """Notify each of *user_ids* in the current tenant, once per *key*; returns how many were new."""
    user_ids = sorted(set(user_ids))
    if not user_ids:
        return 0
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    rows = [{"tenant_id": current_tenant_id(), "user_id": user_id, "kind": kind, "key": key,
             "message": message.as_dict(), "subject_type": subject_type, "subject_id": subject_id,
             "work_item_id": work_item_id, "created_at": utcnow()} for user_id in user_ids]
    result = db.session.execute(insert(Notification.__table__).on_conflict_do_nothing(index_elements=["user_id", "key"]), rows)
    return result.rowcount or 0


def of_user(user_id: int, *, unread_only: bool = False):
    """A SELECT of *user_id*'s notifications in the current tenant (newest first is the caller's order)."""
    statement = select(Notification).where(Notification.user_id == user_id)
    return statement.where(Notification.read_at.is_(None)) if unread_only else statement


def mark_read(notification: Notification) -> Notification:
    """Mark one notification read (it keeps the first time it was read); the caller commits."""
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()
    return notification


def mark_all_read(user_id: int) -> int:
    """Mark every unread notification of *user_id* in the current tenant read; returns how many."""
    result = db.session.execute(update(Notification).where(Notification.user_id == user_id,
                                                           Notification.read_at.is_(None))
                                .values(read_at=utcnow()).execution_options(synchronize_session=False))
    return result.rowcount or 0
