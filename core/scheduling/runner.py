"""Doing one scheduled item, exactly once.

The item is marked done by an UPDATE that only a pending item passes, in
the same transaction as the kind's work: a second delivery of the same task
(a redelivered message, a dispatch run twice, two workers) waits for the
first on the row lock and then finds the item done, and a worker killed in
the middle leaves nothing half-written (its transaction is rolled back, the
item stays pending and is enqueued again).
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import select, update

from core.extensions import db
from core.scheduling.models import DONE, FAILED, PENDING, ScheduledItem
from core.scheduling.registry import BadData, kinds
from core.types import utcnow
from tenants.context import cross_tenant_scope, tenant_scope

log = logging.getLogger(__name__)

DONE_NOW, NOTHING_TO_DO = "done", "nothing to do"


@contextmanager
def scope(tenant_id: int | None, cross_scope: str | None):
    """The tenant (or cross-tenant scope) an item runs in."""
    if tenant_id is not None:
        with tenant_scope(tenant_id):
            yield
    else:
        with cross_tenant_scope(cross_scope or "scheduler"):
            yield


def run(item_id: int) -> str:
    """Do item *item_id* in the current scope; ``"done"``, or ``"nothing to do"`` when it is done already
    (or is not of this scope). The kind's exceptions propagate, with nothing written."""
    try:
        item = db.session.scalar(select(ScheduledItem).where(ScheduledItem.id == item_id))
        if item is None or item.state != PENDING:
            db.session.rollback()
            return NOTHING_TO_DO
        claimed = db.session.execute(
            update(ScheduledItem).where(ScheduledItem.id == item_id, ScheduledItem.state == PENDING)
            .values(state=DONE, finished_at=utcnow(), attempts=ScheduledItem.attempts + 1, error=None)
            .execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            db.session.rollback()
            return NOTHING_TO_DO
        kinds()[item.kind].run(item)
        db.session.commit()
        return DONE_NOW
    except BaseException:
        db.session.rollback()
        raise


def record_failure(item_id: int, reason: str, *, final: bool, retry_in: float | None = None,
                   now: datetime | None = None) -> None:
    """In a transaction of its own: count the attempt and keep *reason*; *final*: the item failed (the tenant
    admin sees it and may run it again), else it stays pending and is expected again in *retry_in* seconds."""
    now = now or utcnow()
    values = {"attempts": ScheduledItem.attempts + 1, "error": reason[:300]}
    if final:
        values.update(state=FAILED, finished_at=now)
    else:
        values.update(enqueued_at=now + timedelta(seconds=retry_in or 0))
    db.session.rollback()
    db.session.execute(update(ScheduledItem).where(ScheduledItem.id == item_id, ScheduledItem.state == PENDING)
                       .values(**values).execution_options(synchronize_session=False))
    db.session.commit()
    log.log(logging.ERROR if final else logging.WARNING, "scheduled item %s %s: %s", item_id,
            "failed" if final else "will be tried again", reason)


def reason_of(error: BaseException) -> str:
    """What the tenant admin reads about a failure: a BadData's reason, else only the error's type (its
    text may quote data)."""
    return error.reason if isinstance(error, BadData) else f"{type(error).__module__}.{type(error).__name__}"


def again(item: ScheduledItem) -> None:
    """Make a failed item pending again (a tenant admin's or operator's re-run); the caller commits."""
    if item.state != FAILED:
        from core.errors import Conflict
        from core.messages import Message

        raise Conflict(Message("Only a failed item can be run again; this one is %(state)s.",
                               {"state": item.state}, code="scheduled_item_not_failed"))
    item.state, item.enqueued_at, item.finished_at = PENDING, None, None
