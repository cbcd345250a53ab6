"""Putting items on the broker's queue: only after the transaction that made them has committed.

The message carries ids only (never personal data). A message that is lost
(the broker restarted) or whose worker died is not a loss: the item stays
pending in the database and the dispatcher enqueues it again after
``SCHEDULER_REQUEUE_SECONDS``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

#: The one task that does an item (tasks/work.py).
RUN_ITEM = "koppel.run_item"
#: Session info key of the tickets to send when the session's transaction commits.
_AFTER_COMMIT = "koppel_after_commit_tickets"


@dataclass(frozen=True)
class Ticket:
    item_id: int
    tenant_id: int | None
    cross_scope: str | None = None

    def kwargs(self) -> dict:
        return {"item_id": self.item_id, "tenant_id": self.tenant_id, "cross_scope": self.cross_scope}


def enqueue(tickets: list[Ticket]) -> int:
    """Send one task per ticket; returns how many were sent. A broker that cannot be reached is logged,
    not raised: the items stay pending and the next dispatch sends them."""
    if not tickets:
        return 0
    celery = current_app.extensions["celery"]
    sent = 0
    try:
        with celery.producer_or_acquire() as producer:
            for ticket in tickets:
                celery.send_task(RUN_ITEM, kwargs=ticket.kwargs(), producer=producer)
                sent += 1
    except Exception as error:  # noqa: BLE001 - kombu's connection errors vary by transport
        log.warning("broker unreachable after %s of %s tasks (%s); the dispatcher sends the rest again",
                    sent, len(tickets), type(error).__name__)
    return sent


def after_commit(session, ticket: Ticket) -> None:
    """Send *ticket* when *session*'s transaction commits; nothing when it ends otherwise."""
    session.info.setdefault(_AFTER_COMMIT, []).append(ticket)


@event.listens_for(Session, "after_commit")
def _enqueue_after_commit(session) -> None:
    # never fails a committed request: enqueue() logs an unreachable broker, and the dispatcher sends the
    # item again after SCHEDULER_REQUEUE_SECONDS
    enqueue(session.info.pop(_AFTER_COMMIT, None) or [])


@event.listens_for(Session, "after_transaction_end")
def _forget_when_not_committed(session, transaction) -> None:
    """A transaction that ends without its commit (rolled back, or the session closed) sends nothing; after a
    commit, ``_enqueue_after_commit`` has already taken the tickets."""
    if transaction.parent is None:
        session.info.pop(_AFTER_COMMIT, None)
