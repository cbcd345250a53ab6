"""What the tenant admin and the operator see of the scheduled work, and running a failed item again.

Read in the caller's scope: in a municipality's tenant scope its own items
only (items without a tenant, such as digests and consortium reviews, are
not visible there); in a cross-tenant scope every item. Per kind: the last
run (the newest ``finished_at`` of a done item), when the dispatcher next
looks for its work (the kind's ``schedule`` hint, in Amsterdam's wall-clock
time; the dispatcher itself runs every minute), the items per state and the
latest failures.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select, update

from core import audit
from core.extensions import db
from core.scheduling import queue, runner
from core.scheduling.models import DONE, FAILED, ITEM_STATES, PENDING, ScheduledItem
from core.scheduling.registry import Kind, at_local, kinds, local_today
from core.types import utcnow
from tenants.context import current_tenant_id

#: Failed items listed per kind in the overview, newest first.
LATEST_FAILURES = 5


@dataclass
class KindStatus:
    kind: Kind
    last_run_at: datetime | None = None
    next_run_at: datetime | None = None
    counts: dict = field(default_factory=lambda: dict.fromkeys(ITEM_STATES, 0))
    latest_failures: list = field(default_factory=list)  # ScheduledItem, newest first


def overview(now: datetime | None = None) -> list[KindStatus]:
    """Every kind of scheduled work as the current scope sees it, by name; three queries in all.

    In a tenant scope a kind that runs above municipalities (it has a ``cross_scope``) is left out
    when none of its items is the municipality's."""
    now = now or utcnow()
    out = {name: KindStatus(kind, next_run_at=next_run(kind, now)) for name, kind in sorted(kinds().items())}
    rows = db.session.execute(
        select(ScheduledItem.kind, ScheduledItem.state, func.count(), func.max(ScheduledItem.finished_at))
        .group_by(ScheduledItem.kind, ScheduledItem.state))
    seen = set()
    for name, state, count, finished in rows:
        status = out.get(name)
        if status is None:  # a kind no longer registered
            continue
        seen.add(name)
        status.counts[state] = count
        if state == DONE:
            status.last_run_at = finished
    newest = func.row_number().over(partition_by=ScheduledItem.kind,
                                    order_by=(ScheduledItem.finished_at.desc(), ScheduledItem.id.desc()))
    ranked = select(ScheduledItem.id, newest.label("rank")).where(ScheduledItem.state == FAILED).subquery()
    failures = db.session.scalars(
        select(ScheduledItem).join(ranked, ranked.c.id == ScheduledItem.id).where(ranked.c.rank <= LATEST_FAILURES)
        .order_by(ScheduledItem.finished_at.desc(), ScheduledItem.id.desc()))
    for item in failures:
        if item.kind in out:
            out[item.kind].latest_failures.append(item)
    tenant = current_tenant_id()
    return [s for name, s in out.items() if tenant is None or s.kind.cross_scope is None or name in seen]


def next_run(kind: Kind, now: datetime) -> datetime | None:
    """When the dispatcher next looks for *kind*'s work (UTC): the next daily or monthly wall-clock time of
    its ``schedule`` hint, else the next minute; None for a kind without ``find`` (its items come from
    requests, such as a background import).

    Hints: ``{"daily": "09:00"}``; ``{"monthly": {"day": 1, "at": "06:00"}}``, ``{"monthly": "1 06:00"}``
    or ``{"monthly": "06:00"}`` (the first of the month); a day beyond a month's end is its last day."""
    if kind.find is None:
        return None
    hint = kind.schedule or {}
    if "daily" in hint:
        at = _clock(hint["daily"])
        today = local_today(now)
        when = at_local(today, at)
        return when if when > now else at_local(today + timedelta(days=1), at)
    if "monthly" in hint:
        day, at = _monthly(hint["monthly"])
        today = local_today(now)
        when = at_local(_day_of(today.year, today.month, day), at)
        if when <= now:
            year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
            when = at_local(_day_of(year, month, day), at)
        return when
    return now.replace(second=0, microsecond=0) + timedelta(minutes=1)


def _clock(text: str) -> time:
    return time.fromisoformat(str(text).strip())


def _monthly(value) -> tuple[int, time]:
    if isinstance(value, dict):
        return int(value.get("day", 1)), _clock(value.get("at", "00:00"))
    day, _, at = str(value).strip().rpartition(" ")
    return int(day or 1), _clock(at)


def _day_of(year: int, month: int, day: int) -> date:
    return date(year, month, min(max(day, 1), calendar.monthrange(year, month)[1]))


def items(state: str | None = None, kind: str | None = None):
    """The SELECT of the items the current scope sees, optionally of one state and kind (for a page)."""
    statement = select(ScheduledItem)
    if state:
        statement = statement.where(ScheduledItem.state == state)
    if kind:
        statement = statement.where(ScheduledItem.kind == kind)
    return statement


def ticket(item: ScheduledItem) -> queue.Ticket:
    """The task message that does *item*: its tenant, or its kind's cross-tenant scope."""
    cross = None
    if item.tenant_id is None:
        registered = kinds().get(item.kind)
        cross = registered.cross_scope if registered else None
    return queue.Ticket(item.id, item.tenant_id, cross)


def run_again(item: ScheduledItem, *, actor: str | None = None) -> queue.Ticket:
    """Make failed *item* pending again (the rule is :func:`core.scheduling.runner.again`: 409 otherwise),
    marked as enqueued now so that the dispatcher leaves it to this ticket, and audit it. The caller commits,
    then :func:`send`\\ s the ticket."""
    runner.again(item)
    item.enqueued_at = utcnow()
    audit.record("scheduled_item.run_again", object_type="scheduled_item", object_id=item.id,
                 tenant_id=item.tenant_id, actor=actor, detail={"kind": item.kind, "attempts": item.attempts})
    return ticket(item)


def send(sent_ticket: queue.Ticket) -> bool:
    """Enqueue *sent_ticket* (after commit); when the broker cannot take it, the item is left to the next
    dispatch (committed). Whether it was sent."""
    if queue.enqueue([sent_ticket]):
        return True
    db.session.execute(update(ScheduledItem).where(ScheduledItem.id == sent_ticket.item_id,
                                                   ScheduledItem.state == PENDING)
                       .values(enqueued_at=None).execution_options(synchronize_session=False))
    db.session.commit()
    return False
