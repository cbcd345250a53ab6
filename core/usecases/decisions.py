"""Decisions: the policy decides, a coordinator may override with a reason, and a match needs them.

* :func:`decide` runs the municipality's policy on a family now. When the
  latest policy decision says the same (policy version, outcome and each
  rule's verdict) it is kept; otherwise the new one is stored, so a decision
  made under an older policy version or on facts that changed since is
  re-run, and the history keeps both.
* :func:`override` is a coordinator's own decision, with a reason of at
  least a sentence; where the policy wants four eyes on screening, such an
  override counts only once another coordinator confirmed it (:func:`confirm`).
* :func:`gate` says whether two families may be matched now: the requesting
  family eligible, both families' screening passed, each by the policy or by
  a confirmed override of the current decision. A policy that screens no
  requesting family (no screening rule applies to them) leaves their
  screening out; a supporting family is always screened.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from core import audit
from core.errors import Conflict
from core.lookup import get_or_404
from core.messages import Label, Message, explanation
from core.policy import decide as policy_decide
from core.policy import facts as facts_module
from core.policy import service
from core.programme import decisions
from core.programme import vocabulary as V
from core.programme.models import Decision, Family

#: An override's reason is at least a sentence.
MIN_REASON_WORDS, MIN_REASON_CHARS = 4, 20


def decide(kind: str, family: Family, today: date | None = None, *, policy=None, facts=None) -> Decision:
    """The policy's decision on *family* now: the stored one when nothing changed, else a new one.

    *policy* and *facts* may be given when the caller has them already (the gate asks twice per family).
    """
    today = today or date.today()
    policy = policy or service.current(family.tenant_id)
    facts = facts or facts_module.family(family, today)
    outcome, findings = policy_decide.evaluate(kind, policy, facts, today)
    previous = decisions.latest(family, kind)
    if previous is not None and decisions.same(previous, kind, outcome, findings, policy.version or None):
        return previous
    return decisions.record(family, kind, outcome, findings, policy.version or None)


def record_historical(family_id: int, data: dict) -> Decision:
    """A decision made outside Koppel (validated ``DecisionSchema`` data), kept for the history only."""
    family = get_or_404(Family, family_id)
    return decisions.record(family, data["kind"], data["outcome"], data["findings"], data.get("policy_version"),
                            source=V.HISTORICAL)


def decide_now(kind: str, family_id: int) -> Decision:
    """A coordinator asks the policy to decide on a family now."""
    return decide(kind, get_or_404(Family, family_id))


def check_reason(reason: str | None) -> Message | None:
    """A problem with an override's reason, or None."""
    text = (reason or "").strip()
    if len(text) < MIN_REASON_CHARS or len(text.split()) < MIN_REASON_WORDS:
        return Message("Give the reason for the override in at least a sentence (%(words)s words, %(chars)s "
                       "characters).", {"words": MIN_REASON_WORDS, "chars": MIN_REASON_CHARS},
                       code="override_reason_too_short")
    return None


def _require_reason(reason: str | None) -> None:
    from marshmallow import ValidationError

    problem = check_reason(reason)
    if problem:
        raise ValidationError({"reason": [problem]})


def _needs_second(decision: Decision) -> bool:
    return decision.kind == "screening" and service.current(decision.tenant_id).four_eyes()


def override(decision: Decision, outcome: str, reason: str) -> Decision:
    """A coordinator decides otherwise than the policy, with a reason (four eyes where the policy wants it)."""
    _require_reason(reason)
    if decision.source != V.POLICY:
        raise Conflict(Message("Only a decision of the policy can be overridden; this one is an %(source)s.",
                               {"source": decision.source}, code="not_a_policy_decision"))
    if audit.actor_user_id() is None:
        raise Conflict(Message("An override is made by a person, not by a machine token.",
                               code="override_needs_person"))
    return decisions.override(decision, outcome, reason.strip(), needs_second=_needs_second(decision))


def confirm(override_: Decision) -> Decision:
    """The second coordinator's confirmation of an override (not the one who made it)."""
    user_id = audit.actor_user_id()
    if override_.source != V.OVERRIDE:
        raise Conflict(Message("Only an override can be confirmed.", code="not_an_override"))
    if override_.confirmed_at is not None:
        raise Conflict(Message("This override is confirmed already.", code="override_confirmed_already"))
    if user_id is None or user_id == override_.decided_by_user_id:
        raise Conflict(Message("An override is confirmed by a second coordinator, not by the one who made it.",
                               code="override_needs_second_coordinator"))
    return decisions.confirm(override_)


@dataclass
class Blocker:
    """A decision that keeps a family from being matched, with the findings it rests on."""

    family: Family
    decision: Decision
    pending_override: Decision | None = None  # made, but not yet confirmed by a second coordinator

    def as_dict(self, language: str | None = None) -> dict:
        return {
            "family_id": self.family.id, "family_kind": self.family.kind, "decision_kind": self.decision.kind,
            "decision_id": self.decision.id, "outcome": self.decision.outcome,
            "policy_version": self.decision.policy_version,
            "awaiting_confirmation": self.pending_override.id if self.pending_override else None,
            "findings": [{"rule": f.get("rule"), "result": f.get("result"),
                          "explanation": explanation(f, language)} for f in decisions.failing(self.decision)],
        }


@dataclass
class Gate:
    """What :func:`gate` found: the blockers, and the confirmed overrides the families pass on."""

    blockers: list[Blocker] = field(default_factory=list)
    overrides: list[Decision] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return not self.blockers


def gate(requesting: Family, supporting: Family, today: date | None = None) -> Gate:
    """Whether *requesting* and *supporting* may be matched now, by the policy in force."""
    found = Gate()
    today = today or date.today()
    policy = service.current(requesting.tenant_id)
    facts = facts_module.families([requesting.id, supporting.id], today)
    for family, kind in ((requesting, "eligibility"), (requesting, "screening"), (supporting, "screening")):
        decision = decide(kind, family, today, policy=policy, facts=facts[family.id])
        if decision.outcome == decisions.GOOD[kind] or (family is requesting and kind == "screening"
                                                        and decisions.no_rule_applies(decision)):
            continue
        good = [o for o in decisions.overrides_of(decision) if o.outcome == decisions.GOOD[kind]]
        confirmed = next((o for o in good if o.confirmed_at is not None), None)
        if confirmed is not None:
            found.overrides.append(confirmed)
        else:
            found.blockers.append(Blocker(family, decision, good[0] if good else None))
    return found


def refuse(found: Gate, step: str) -> Conflict:
    """The 409 for a closed gate, naming each failing or missing finding."""
    params, problems = {"step": Label("match_step", step)}, [b.as_dict() for b in found.blockers]
    if all(b.pending_override for b in found.blockers):
        return Conflict(Message("The override awaits a second coordinator's confirmation; the match cannot "
                                "%(step)s yet.", params, code="match_not_allowed"), problems=problems)
    return Conflict(Message("The policy does not allow this match to %(step)s yet: see the findings of each "
                            "decision. A coordinator may override with a reason.", params, code="match_not_allowed"),
                    problems=problems)


def override_blockers(found: Gate, reason: str) -> list[Decision]:
    """Override every blocker of *found* with *reason*; refused where four eyes are needed (409)."""
    _require_reason(reason)
    needing_second = [b for b in found.blockers if _needs_second(b.decision) and b.pending_override is None]
    if needing_second:
        raise Conflict(Message(
            "An override of a screening finding needs a second coordinator here: override the screening "
            "decision of the family, have another coordinator confirm it, then propose the match again.",
            code="override_needs_second_coordinator"), problems=[b.as_dict() for b in needing_second])
    made = []
    for blocker in found.blockers:
        if blocker.pending_override is not None:
            raise refuse(Gate([blocker]), "proceed")
        made.append(override(blocker.decision, decisions.GOOD[blocker.decision.kind], reason))
    return made
