"""The monthly destruction-list proposal: on the 1st at 05:30 (Amsterdam), per active municipality.

The dispatcher makes one item per municipality and month
(``retention_proposal:<tenant>:<YYYY-MM>``); the worker asks
:func:`core.usecases.retention.propose_due` for the families whose retention
period has passed, in the municipality's tenant scope. Nothing due: no list.
"""
from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import exists, select

from core.extensions import db
from core.scheduling.models import ScheduledItem
from core.scheduling.registry import Due, Kind, at_local, last_day_at, register
from tenants.models import ACTIVE, Municipality

KIND = "retention_proposal"
AT = time(5, 30)


def month_of(now: datetime) -> date:
    """The first day of the month whose proposal has fallen due by *now*."""
    return last_day_at(now, AT).replace(day=1)


def key(tenant_id: int, month: date) -> str:
    return f"{KIND}:{tenant_id}:{month:%Y-%m}"


def find(now: datetime) -> list[Due]:
    """Every active municipality that existed when this month's proposal fell due and has no item for it."""
    month = month_of(now)
    due_at = at_local(month, AT)
    if due_at > now:
        return []
    done = exists(select(ScheduledItem.id).where(ScheduledItem.kind == KIND, ScheduledItem.tenant_id == Municipality.id,
                                                 ScheduledItem.due_at == due_at))
    ids = db.session.scalars(select(Municipality.id).where(Municipality.status == ACTIVE, Municipality.created_at < due_at, ~done)
                             .order_by(Municipality.id))
    return [Due(tenant_id, key(tenant_id, month), due_at) for tenant_id in ids]


def run(item) -> None:
    from core.usecases import retention

    retention.propose_due()


register(Kind(KIND, {"nl": "Voorstel vernietigingslijst (bewaartermijn verstreken)",
                     "en": "Destruction list proposal (retention period passed)"}, run, find,
              schedule={"monthly": {"day": 1, "at": "05:30"}}))
