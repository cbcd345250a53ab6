"""Completing evaluations, and what is due."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from core import audit
from core.errors import Conflict
from core.messages import Message
from core.extensions import db
from core.programme.models import Evaluation


def complete(evaluation: Evaluation, data: dict) -> Evaluation:
    """Record the outcome of a due evaluation (validated ``EvaluationCompleteSchema`` data)."""
    if evaluation.completed_on is not None:
        raise Conflict(Message("This evaluation was completed on %(on)s.", {"on": evaluation.completed_on},
                               code="evaluation_completed_already"))
    if evaluation.skipped_reason == "consent_withdrawn":
        raise Conflict(Message("The family withdrew its consent to be contacted for evaluations.",
                               code="evaluation_consent_withdrawn"))
    for name, value in data.items():
        setattr(evaluation, name, value)
    evaluation.skipped_reason = None
    evaluation.by_user_id = audit.actor_user_id()
    db.session.flush()
    audit.record("evaluation.complete", object_type="match", object_id=evaluation.match_id,
                 detail={"evaluation": evaluation.id, "decision": evaluation.decision})
    return evaluation


def open_items(as_of: date, *, overdue_only: bool = False):
    """A query for open evaluations (not completed, not skipped), earliest first."""
    query = select(Evaluation).where(Evaluation.completed_on.is_(None), Evaluation.skipped_reason.is_(None))
    if overdue_only:
        query = query.where(Evaluation.due_on < as_of)
    return query.order_by(Evaluation.due_on, Evaluation.id)
