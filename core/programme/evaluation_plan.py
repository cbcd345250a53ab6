"""When the evaluations of a match fall due.

The municipality's evaluation-plan plugin decides when its policy enables
one; otherwise (or when the plugin fails) the default plan applies: the end
of the trial after 8 weeks; then every 6 months while active; an extension
decision 4 weeks before the planned end; and an end evaluation at the
planned end. Scheduling again (after an extension) replaces the open,
not yet completed items, so nothing is due twice.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import delete

from core.extensions import db
from core.programme import consent
from core.programme import vocabulary as V
from core.programme.models import Evaluation, Match

TRIAL = timedelta(weeks=8)
EXTENSION_NOTICE = timedelta(weeks=4)
INTERVAL_MONTHS = 6


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    last = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return date(year, month, min(day.day, last))


def plan(match: Match) -> list[tuple[str, str, date]]:
    """(kind, moment, due date) of every evaluation *match* should have now, by the municipality's policy."""
    from core.policy import facts, service

    policy = service.current(match.tenant_id)
    if "evaluation_plan" in policy.kinds():
        for result in policy.call("koppel_evaluation_plan", match=facts.match(match)):
            if result.error is None and result.value is not None:
                return [(p.kind, p.moment, p.due_on) for p in result.value]
    return default_plan(match)


def default_plan(match: Match) -> list[tuple[str, str, date]]:
    """The platform's plan when the policy has none."""
    items = []
    if match.trial_on:
        items.append(("trial_end", "start", match.trial_on + TRIAL))
    if match.state == V.ACTIVE and match.active_on and match.planned_end_on:
        due = add_months(match.active_on, INTERVAL_MONTHS)
        while due < match.planned_end_on - EXTENSION_NOTICE:
            items.append(("periodic", "review", due))
            due = add_months(due, INTERVAL_MONTHS)
        items.append(("extension_decision", "review", match.planned_end_on - EXTENSION_NOTICE))
        items.append(("end", "end", match.planned_end_on))
    return items


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
