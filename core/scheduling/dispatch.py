"""The dispatcher: every minute, find what is due in every municipality and hand out one task per item.

1. Each kind's ``find`` returns what is due now; new items are inserted once
   (their ``key`` is unique: ``ON CONFLICT DO NOTHING``).
2. Items that are pending, due, and not enqueued (or enqueued longer than
   ``SCHEDULER_REQUEUE_SECONDS`` ago and still not done: the message was
   lost or its worker died) are marked enqueued, and the transaction commits.
   An item a worker is doing at this moment (its row is locked) is skipped.
3. Then, and only then, one task per item goes to the broker.

Work of a suspended municipality waits, pending, until it is active again.
"""
from __future__ import annotations

import logging
import time as clock
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from core.extensions import db
from core.scheduling import queue
from core.scheduling.models import PENDING, ScheduledItem
from core.scheduling.registry import Due, kinds
from core.types import utcnow
from tenants.context import cross_tenant_scope
from tenants.models import SUSPENDED, Municipality

log = logging.getLogger(__name__)

CHUNK = 5000


@dataclass
class Dispatched:
    """What one dispatch did, for the log and the benchmark."""

    found: dict = field(default_factory=dict)  # kind -> new items
    tickets: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def new(self) -> int:
        return sum(self.found.values())


def collect(now: datetime | None = None) -> Dispatched:
    """Steps 1 and 2, committed; returns the tickets to send (step 3 is :func:`dispatch`)."""
    now = now or utcnow()
    started = clock.perf_counter()
    out = Dispatched()
    registry = kinds()
    with cross_tenant_scope("scheduler"):
        try:
            for kind in registry.values():
                if kind.sweep is not None:
                    kind.sweep(now)
                if kind.find is not None:
                    out.found[kind.name] = _insert(kind.name, list(kind.find(now)))
            out.tickets = _take_due(now, registry)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
    out.seconds = clock.perf_counter() - started
    return out


def dispatch(now: datetime | None = None) -> Dispatched:
    """Find, commit, then enqueue: what the beat task does every minute."""
    out = collect(now)
    sent = queue.enqueue(out.tickets)
    if sent < len(out.tickets):  # the broker is down: the rest go out with the next dispatch
        unsent = [ticket.item_id for ticket in out.tickets[sent:]]
        with cross_tenant_scope("scheduler"):
            db.session.execute(update(ScheduledItem).where(ScheduledItem.id.in_(unsent)).values(enqueued_at=None)
                               .execution_options(synchronize_session=False))
            db.session.commit()
    if out.new or sent:
        log.info("dispatch: %s new items %s, %s tasks sent in %.2f s", out.new,
                 {k: v for k, v in out.found.items() if v}, sent, out.seconds)
    return out


def _insert(kind: str, found: list[Due]) -> int:
    """Insert the items not there yet; returns how many were new."""
    if not found:
        return 0
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    new = 0
    for start in range(0, len(found), CHUNK):
        rows = [{"kind": kind, "key": d.key, "tenant_id": d.tenant_id, "consortium_id": d.consortium_id,
                 "subject_id": d.subject_id, "due_at": d.due_at, "state": PENDING, "attempts": 0, "created_at": now}
                for d in found[start:start + CHUNK]]
        table = ScheduledItem.__table__
        statement = insert(table).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.id)
        new += len(db.session.execute(statement, rows).all())  # rowcount is -1 for a batch on PostgreSQL
    return new


def _take_due(now: datetime, registry) -> list[queue.Ticket]:
    """Mark the items to send now as enqueued; their tickets."""
    stale = now - timedelta(seconds=current_app.config["SCHEDULER_REQUEUE_SECONDS"])
    suspended = select(Municipality.id).where(Municipality.status == SUSPENDED)
    rows = db.session.execute(
        select(ScheduledItem.id, ScheduledItem.tenant_id, ScheduledItem.kind)
        .where(ScheduledItem.state == PENDING, ScheduledItem.due_at <= now,
               or_(ScheduledItem.enqueued_at.is_(None), ScheduledItem.enqueued_at <= stale),
               or_(ScheduledItem.tenant_id.is_(None), ScheduledItem.tenant_id.not_in(suspended)))
        .order_by(ScheduledItem.due_at, ScheduledItem.id)
        # an item a worker is doing right now is locked by it: not sent again, and no waiting for it
        .with_for_update(of=ScheduledItem, skip_locked=True)).all()
    ids = [row.id for row in rows]
    for start in range(0, len(ids), CHUNK):
        db.session.execute(update(ScheduledItem).where(ScheduledItem.id.in_(ids[start:start + CHUNK]))
                           .values(enqueued_at=now).execution_options(synchronize_session=False))
    return [queue.Ticket(row.id, row.tenant_id, None if row.tenant_id else registry[row.kind].cross_scope)
            for row in rows]
