"""Evaluations that fall due become work items for the coordinator; overdue ones remind them.

An evaluation falls due at 09:00 (Amsterdam) on its due date, as the
municipality's evaluation plan set it (:mod:`core.programme.evaluation_plan`).
It becomes a work item for the match's coordinator (all the municipality's
coordinators when the match has none), and a notification. When it is still
open ``evaluation_reminder_days`` later (the programme-review thresholds),
the same people get a reminder, linked to the work item when that is made
already (both may run at once). The work item resolves when the evaluation
is completed or skipped.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select, update

from core import notifications
from core.extensions import db
from core.messages import Label, Message
from core.programme import vocabulary as V
from core.policy.types import ReviewThresholds
from core.programme.models import Evaluation, Match
from core.scheduling import thresholds
from core.scheduling.models import WorkItem
from core.scheduling.registry import BadData, Due, Kind, at_local, last_day_at, not_scheduled, register
from core.types import utcnow

#: Wall-clock time at which due work is handed out.
AT = time(9, 0)
#: A reminder this many days after the due date, when the policy's thresholds say nothing else.
DEFAULT_REMINDER_DAYS = ReviewThresholds().evaluation_reminder_days


def _open():
    return (Evaluation.completed_on.is_(None), Evaluation.skipped_reason.is_(None),
            Match.state.in_(V.OPEN_MATCH_STATES))


def find_due(now: datetime):
    rows = db.session.execute(
        select(Evaluation.id, Evaluation.tenant_id, Evaluation.due_on).join(Match, Match.id == Evaluation.match_id)
        .where(*_open(), Evaluation.due_on <= last_day_at(now, AT), not_scheduled("evaluation_due", Evaluation.id)))
    return [Due(r.tenant_id, f"evaluation_due:{r.id}", at_local(r.due_on, AT), r.id) for r in rows]


def find_overdue(now: datetime):
    days = thresholds.reminder_days_by_tenant()
    shortest = min(days.values(), default=DEFAULT_REMINDER_DAYS)
    last = last_day_at(now, AT)
    rows = db.session.execute(
        select(Evaluation.id, Evaluation.tenant_id, Evaluation.due_on).join(Match, Match.id == Evaluation.match_id)
        .where(*_open(), Evaluation.due_on <= last - timedelta(days=shortest),
               not_scheduled("evaluation_overdue", Evaluation.id)))
    out = []
    for r in rows:
        wait = days.get(r.tenant_id, DEFAULT_REMINDER_DAYS)
        if r.due_on + timedelta(days=wait) <= last:
            out.append(Due(r.tenant_id, f"evaluation_overdue:{r.id}", at_local(r.due_on + timedelta(days=wait), AT),
                           r.id))
    return out


def _still_open(item) -> tuple[Evaluation, Match] | None:
    evaluation = db.session.get(Evaluation, item.subject_id)
    if evaluation is None:
        raise BadData("the evaluation no longer exists")
    match = db.session.get(Match, evaluation.match_id)
    if evaluation.completed_on or evaluation.skipped_reason or match.state not in V.OPEN_MATCH_STATES:
        return None  # done in the meantime: nothing to hand out
    return evaluation, match


def _people(match: Match) -> list[int]:
    return [match.coordinator_user_id] if match.coordinator_user_id else notifications.staff(match.tenant_id)


def _params(evaluation: Evaluation) -> dict:
    return {"kind": Label("evaluation_kind", evaluation.kind), "match": evaluation.match_id, "date": evaluation.due_on}


def run_due(item) -> None:
    found = _still_open(item)
    if found is None:
        return
    evaluation, match = found
    message = Message("Evaluation due: %(kind)s of match %(match)s, on %(date)s.", _params(evaluation),
                      code="evaluation_due")
    work = WorkItem(kind="evaluation", key=f"evaluation:{evaluation.id}", family_id=match.requesting_family_id,
                    match_id=match.id, evaluation_id=evaluation.id, assigned_user_id=match.coordinator_user_id,
                    due_on=evaluation.due_on, message=message.as_dict())
    db.session.add(work)
    db.session.flush()
    notifications.notify(_people(match), "evaluation_due", f"evaluation_due:{evaluation.id}", message,
                         subject_type="match", subject_id=match.id, work_item_id=work.id)


def run_overdue(item) -> None:
    found = _still_open(item)
    if found is None:
        return
    evaluation, match = found
    message = Message("Reminder: the %(kind)s evaluation of match %(match)s was due on %(date)s and is still open.",
                      _params(evaluation), code="evaluation_overdue")
    work = db.session.scalar(select(WorkItem).where(WorkItem.key == f"evaluation:{evaluation.id}"))
    if work is not None:
        work.reminded_at = utcnow()
    notifications.notify(_people(match), "evaluation_overdue", f"evaluation_overdue:{evaluation.id}", message,
                         subject_type="match", subject_id=match.id, work_item_id=work.id if work else None)


def sweep(now: datetime) -> int:
    """Resolve the work items of evaluations completed or skipped, or of matches no longer open."""
    closed = select(Evaluation.id).join(Match, Match.id == Evaluation.match_id).where(
        (Evaluation.completed_on.is_not(None)) | (Evaluation.skipped_reason.is_not(None))
        | Match.state.not_in(V.OPEN_MATCH_STATES))
    result = db.session.execute(update(WorkItem).where(
        WorkItem.kind == "evaluation", WorkItem.resolved_at.is_(None), WorkItem.evaluation_id.in_(closed))
        .values(resolved_at=now).execution_options(synchronize_session=False))
    return result.rowcount or 0


register(Kind("evaluation_due", {"nl": "Evaluaties die aan de beurt zijn", "en": "Evaluations falling due"},
              run_due, find_due, schedule={"daily": "09:00"}, sweep=sweep))
register(Kind("evaluation_overdue", {"nl": "Herinneringen aan open evaluaties", "en": "Reminders of open evaluations"},
              run_overdue, find_overdue, schedule={"daily": "09:00"}))
