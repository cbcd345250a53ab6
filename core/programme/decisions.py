"""Screening and eligibility decisions, stored with their findings and policy version.

The policy plugins produce the findings; a coordinator may override a
decision with a reason (audited). An override is a new decision that points
at the one it overrides, so the history keeps both.
"""
from __future__ import annotations

from sqlalchemy import select

from core import audit
from core.extensions import db
from core.programme.models import Decision, Family


def record(family: Family, kind: str, outcome: str, findings: list[dict], policy_version: int | None = None,
           *, by_user_id: int | None = None) -> Decision:
    """Store a decision for *family*; ``by_user_id`` None means the policy decided."""
    decision = Decision(family_id=family.id, kind=kind, outcome=outcome, findings=findings,
                        policy_version=policy_version, decided_by_user_id=by_user_id)
    db.session.add(decision)
    db.session.flush()
    audit.record("decision.create", object_type="family", object_id=family.id,
                 detail={"decision": decision.id, "kind": kind, "outcome": outcome, "policy_version": policy_version})
    return decision


def override(decision: Decision, outcome: str, reason: str) -> Decision:
    """A coordinator's own decision in place of *decision*; the reason is required."""
    new = Decision(family_id=decision.family_id, kind=decision.kind, outcome=outcome, findings=decision.findings,
                   policy_version=decision.policy_version, decided_by_user_id=audit.actor_user_id(),
                   overrides_id=decision.id, override_reason=reason)
    db.session.add(new)
    db.session.flush()
    audit.record("decision.override", object_type="family", object_id=decision.family_id,
                 detail={"decision": new.id, "overrides": decision.id, "from": decision.outcome, "to": outcome,
                         "reason": reason})
    return new


def latest(family: Family, kind: str) -> Decision | None:
    return db.session.scalars(select(Decision).where(Decision.family_id == family.id, Decision.kind == kind)
                              .order_by(Decision.id.desc()).limit(1)).first()
