"""Screening and eligibility decisions, stored with their findings and policy version.

A decision has a *source*: ``policy`` (the municipality's plugins decided),
``override`` (a coordinator decided otherwise, with a reason; it points at
the decision it overrides, so the history keeps both) or ``historical``
(recorded from outside Koppel, e.g. old data brought in; kept for the
history, it never satisfies a rule). Which decision counts for a match is
the use cases' business (:mod:`core.usecases.decisions`).
"""
from __future__ import annotations

from sqlalchemy import select

from core import audit
from core.extensions import db
from core.programme import vocabulary as V
from core.programme.models import Decision, Family
from core.types import utcnow

#: The outcome each kind of decision must have before a family can be matched.
GOOD = {"eligibility": "eligible", "screening": "passed"}


def record(family: Family, kind: str, outcome: str, findings: list[dict], policy_version: int | None = None,
           *, source: str = V.POLICY) -> Decision:
    """Store a decision for *family* (the caller commits)."""
    decision = Decision(family_id=family.id, kind=kind, outcome=outcome, findings=findings,
                        policy_version=policy_version, source=source,
                        decided_by_user_id=audit.actor_user_id() if source != V.POLICY else None)
    db.session.add(decision)
    db.session.flush()
    audit.record("decision.create", object_type="family", object_id=family.id,
                 detail={"decision": decision.id, "kind": kind, "outcome": outcome, "source": source,
                         "policy_version": policy_version})
    return decision


def override(decision: Decision, outcome: str, reason: str, *, needs_second: bool) -> Decision:
    """A coordinator's own decision in place of *decision*; confirmed at once unless it *needs_second*."""
    user_id = audit.actor_user_id()
    new = Decision(family_id=decision.family_id, kind=decision.kind, outcome=outcome, findings=decision.findings,
                   policy_version=decision.policy_version, decided_by_user_id=user_id, source=V.OVERRIDE,
                   overrides_id=decision.id, override_reason=reason)
    if not needs_second:
        new.confirmed_by_user_id, new.confirmed_at = user_id, utcnow()
    db.session.add(new)
    db.session.flush()
    audit.record("decision.override", object_type="family", object_id=decision.family_id,
                 detail={"decision": new.id, "overrides": decision.id, "from": decision.outcome, "to": outcome,
                         "needs_second_coordinator": needs_second})
    return new


def confirm(override_: Decision) -> Decision:
    """A second coordinator confirms an override (four eyes)."""
    override_.confirmed_by_user_id, override_.confirmed_at = audit.actor_user_id(), utcnow()
    db.session.flush()
    audit.record("decision.confirm", object_type="family", object_id=override_.family_id,
                 detail={"decision": override_.id})
    return override_


def latest(family: Family, kind: str, source: str = V.POLICY) -> Decision | None:
    return db.session.scalars(select(Decision).where(
        Decision.family_id == family.id, Decision.kind == kind, Decision.source == source)
        .order_by(Decision.id.desc()).limit(1)).first()


def overrides_of(decision: Decision) -> list[Decision]:
    """The overrides of *decision*, newest first."""
    return list(db.session.scalars(select(Decision).where(Decision.overrides_id == decision.id)
                                   .order_by(Decision.id.desc())))


def same(decision: Decision, kind: str, outcome: str, findings: list[dict], policy_version: int | None) -> bool:
    """Whether a stored policy decision says what a new run says (same version, outcome and verdicts).

    The facts and wording may differ (a date computed from today); the verdict of each rule may not.
    """
    def verdicts(found):
        return sorted((f.get("rule") or "", f.get("plugin") or "", f.get("result")) for f in found)

    return (decision.kind == kind and decision.outcome == outcome and decision.policy_version == policy_version
            and verdicts(decision.findings) == verdicts(findings))


def no_rule_applies(decision: Decision) -> bool:
    """Whether no rule of the policy applied to the family (the policy said nothing about it)."""
    return [f.get("rule") for f in decision.findings] == ["policy"]


def failing(decision: Decision) -> list[dict]:
    """The findings that keep *decision* from its good outcome (missing, failed, erroneous or excluding ones)."""
    if decision.kind == "screening":
        return [f for f in decision.findings if f.get("result") != "pass"]
    met_include = any(f.get("effect") == "include" and f.get("result") == "met" for f in decision.findings)
    return [f for f in decision.findings
            if f.get("result") in ("missing", "error")
            or (f.get("effect") == "exclude" and f.get("result") == "met")
            or (not met_include and f.get("effect") == "include" and f.get("result") == "not_met")]
