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

log = logging.getLogger(__name__)

#: The one task that does an item (tasks/work.py).
RUN_ITEM = "koppel.run_item"


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
