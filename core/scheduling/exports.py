"""Funder exports as scheduled work: kind ``export`` makes a schedule's file, kind ``export_delivery`` sends it.

``export``: every minute the dispatcher asks, per active schedule, for the
latest time at or before now at which its cron expression fired in its time
zone (croniter; a schedule does not fire before it was made). That time
gives the period (the last completed month, quarter or year before it) and
the item's key, ``export:<schedule>:<period kind>:<period start>``: every
fire time within a period gives the same key, so a period is exported once,
a time repeated by the change to winter time adds nothing, and a dispatcher
that was down for a week makes one item per schedule, for the latest fire
time only (no catch-up storm). The worker makes the file in the schedule's
scope (its municipality, or ``consortium-aggregation`` for a consortium's)
through :func:`core.exports.runs.produce`, which returns the stored file when
the period has one; for an e-mail or a webhook it makes the delivery item in
the same transaction.

``export_delivery``: sends a stored run by its schedule's channel
(:mod:`core.exports.delivery`); retried with backoff on a fault that may
pass. Its sweep marks a run failed whose delivery item failed for good; a
tenant admin who runs that item again sends the same file again.
"""
from __future__ import annotations

import logging
from datetime import date, datetime

from croniter import CroniterError
from sqlalchemy import exists, select, update

from core.errors import Conflict
from core.exports import delivery, runs
from core.exports.access import CONSORTIUM_SCOPE
from core.exports.models import FAILED as RUN_FAILED
from core.exports.models import PENDING as RUN_PENDING
from core.exports.models import ExportRun, ExportSchedule
from core.exports.rules import Period, last_fire, period_before
from core.extensions import db
from core.scheduling.models import FAILED, ScheduledItem
from core.scheduling.registry import BadData, Due, Kind, register

KIND = "export"
CHUNK = 1000

log = logging.getLogger(__name__)


def key(schedule_id: int, period: Period) -> str:
    return f"{KIND}:{schedule_id}:{period.kind}:{period.start.isoformat()}"


def period_of(item_key: str) -> Period:
    """The period an item's key names."""
    _, _, kind, start = item_key.split(":")
    return Period.starting(kind, date.fromisoformat(start))


def find(now: datetime) -> list[Due]:
    """One item per active schedule whose cron fired (since it was made) for a period not exported yet."""
    found: dict[str, Due] = {}
    for row in db.session.execute(select(ExportSchedule.id, ExportSchedule.tenant_id, ExportSchedule.consortium_id,
                                         ExportSchedule.cron, ExportSchedule.time_zone, ExportSchedule.period,
                                         ExportSchedule.created_at).where(ExportSchedule.active.is_(True))):
        try:
            fired = last_fire(row.cron, row.time_zone, now)
        except (CroniterError, ValueError, LookupError) as error:  # checked when saved; never stop the dispatcher
            log.warning("export schedule %s: its cron expression or time zone cannot be read (%s)", row.id,
                        type(error).__name__)
            continue
        if fired < row.created_at:
            continue
        period = period_before(fired, row.period, row.time_zone)
        due = Due(row.tenant_id, key(row.id, period), fired, row.id, row.consortium_id)
        found[due.key] = due
    keys = list(found)
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start:start + CHUNK]
        for made in db.session.scalars(select(ScheduledItem.key).where(ScheduledItem.key.in_(chunk))):
            found.pop(made)
    return list(found.values())


def run_export(item) -> None:
    """Make (or find) the schedule's file of the item's period and plan its delivery."""
    schedule = db.session.get(ExportSchedule, item.subject_id)
    if schedule is None or not schedule.active:
        return  # deleted or deactivated since it fell due
    try:
        run, _ = runs.produce(schedule, period_of(item.key), actor="scheduler")
    except Conflict as error:
        raise BadData(error.text("en")) from None
    delivery.plan(run)


def run_delivery(item) -> None:
    """Send the run by its schedule's channel."""
    run = db.session.get(ExportRun, item.subject_id)
    if run is not None:
        delivery.deliver(run)


def sweep(now: datetime) -> int:
    """Runs whose delivery item failed for good are failed too."""
    failed = exists(select(ScheduledItem.id).where(ScheduledItem.kind == delivery.KIND,
                                                   ScheduledItem.subject_id == ExportRun.id,
                                                   ScheduledItem.state == FAILED))
    result = db.session.execute(update(ExportRun).where(ExportRun.status == RUN_PENDING, failed)
                                .values(status=RUN_FAILED).execution_options(synchronize_session=False))
    return result.rowcount or 0


register(Kind(KIND, {"nl": "Exports voor financiers", "en": "Exports for funders"}, run_export, find,
              cross_scope=CONSORTIUM_SCOPE))
register(Kind(delivery.KIND, {"nl": "Bezorging van exports", "en": "Delivery of exports"}, run_delivery,
              cross_scope=CONSORTIUM_SCOPE, sweep=sweep))
