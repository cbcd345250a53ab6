"""When the evaluations of a match fall due.

The municipality's evaluation-plan plugin decides when its policy enables
one; otherwise (or when the plugin fails) the default plan applies: the
built-in standard plan with its defaults (the end of the trial after 8
weeks; then every 6 months while active; an extension decision 4 weeks
before the planned end; and an end evaluation at the planned end).
Scheduling again (after an extension) replaces the open, not yet completed
items, so nothing is due twice. When a match ends or is cancelled its open
evaluations close with that reason, and the end evaluation falls due on the
day it actually ended.
"""
from __future__ import annotations

from datetime import date, timedelta
from functools import cache

from dateutil.relativedelta import relativedelta
from sqlalchemy import delete, update

from core.extensions import db
from core.programme import consent
from core.programme import vocabulary as V
from core.programme.models import Evaluation, Match

#: The evaluation plan the platform uses when the policy enables none: the built-in plugin, as it comes.
DEFAULT_PLAN_PLUGIN = "evaluation_plan.standard"
EXTENSION_NOTICE = timedelta(weeks=4)


def add_months(day: date, months: int) -> date:
    """The same day *months* calendar months later (the month's last day when it is shorter)."""
    return day + relativedelta(months=months)


@cache
def _default_manager():
    from core.policy import manager

    return manager.build_manager({DEFAULT_PLAN_PLUGIN: {}})


def default_plan(match_facts) -> list[tuple[str, str, date]]:
    """The platform's plan (the standard plan with its defaults) for a match's facts."""
    planned = _default_manager().hook.koppel_evaluation_plan(match=match_facts)
    return [(p.kind, p.moment, p.due_on) for p in planned or ()]


def after_end(items: list[tuple[str, str, date]], ended_on: date) -> list[tuple[str, str, date]]:
    """A plan cut at the actual end: what fell due before it, and the end evaluation on the day it ended."""
    return [item for item in items if item[2] < ended_on and item[0] != "end"] + [("end", "end", ended_on)]


def plan(match: Match) -> list[tuple[str, str, date]]:
    """(kind, moment, due date) of every evaluation *match* should have now, by the municipality's policy."""
    from core.policy import facts, service

    match_facts = facts.match(match)
    policy = service.current(match.tenant_id)
    if "evaluation_plan" in policy.kinds():
        for result in policy.call("koppel_evaluation_plan", match=match_facts):
            if result.error is None and result.value is not None:
                return [(p.kind, p.moment, p.due_on) for p in result.value]
    return default_plan(match_facts)


def schedule(match: Match) -> None:
    """Create the evaluations of the plan that are not there yet; drop open ones the plan no longer has."""
    db.session.flush()
    existing = {(e.kind, e.due_on): e for e in db.session.query(Evaluation).filter(Evaluation.match_id == match.id)}
    wanted = plan(match)
    stale = [e.id for key, e in existing.items() if e.completed_on is None and key not in {(k, d) for k, _, d in wanted}]
    if stale:
        db.session.execute(delete(Evaluation).where(Evaluation.id.in_(stale)))
    no_contact = consent.active(match.requesting_family_id, "evaluation_contact") is None
    for kind, moment, due in wanted:
        if (kind, due) not in existing:
            db.session.add(Evaluation(match_id=match.id, kind=kind, moment=moment, due_on=due,
                                      skipped_reason="no_consent" if no_contact else None))


def close(match: Match, on: date) -> None:
    """A match ended or was cancelled on *on*: its open evaluations close with that reason (they are not
    left overdue), and an ended match that had started gets its end evaluation, due on the day it ended."""
    db.session.flush()
    reason = "match_ended" if match.state == V.ENDED else "match_cancelled"
    db.session.execute(update(Evaluation).where(
        Evaluation.match_id == match.id, Evaluation.completed_on.is_(None), Evaluation.skipped_reason.is_(None))
        .values(skipped_reason=reason).execution_options(synchronize_session="fetch"))
    if match.state == V.ENDED and match.trial_on is not None:
        no_contact = consent.active(match.requesting_family_id, "evaluation_contact") is None
        db.session.add(Evaluation(match_id=match.id, kind="end", moment="end", due_on=on,
                                  skipped_reason="no_consent" if no_contact else None))
