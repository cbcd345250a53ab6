"""What people do with a match: propose it, take it through its steps, extend it.

A match can be proposed, and made active, only when the policy in force lets
both families through (:func:`core.usecases.decisions.gate`): the decisions
are re-run first, and a refusal (409) names each failing or missing finding.
A coordinator may override with a reason; the overrides a step rests on are
stored on the match (``match.overrides``), in its history and in the audit
log. Activation also checks the agreed terms against the policy's match terms.
"""
from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta
from marshmallow import ValidationError

from core import audit
from core.lookup import get_or_404
from core.policy import service
from core.programme import contacts, matches
from core.programme import vocabulary as V
from core.programme.models import Decision, Family, Match, MatchOverride
from core.usecases import decisions


def _check_gate(requesting: Family, supporting: Family, step: str, override_reason: str | None,
                today: date | None = None) -> list[Decision]:
    """The overrides the step rests on; 409 when the policy refuses and no override reason is given."""
    found = decisions.gate(requesting, supporting, today)
    if not found.open:
        if not override_reason:
            raise decisions.refuse(found, step)
        found.overrides += decisions.override_blockers(found, override_reason)
    return found.overrides


def _record_overrides(match: Match, overrides: list[Decision], step: str) -> None:
    for decision in overrides:
        match.overrides.append(MatchOverride(match_id=match.id, decision_id=decision.id, step=step))
        audit.record("match.override", object_type="match", object_id=match.id,
                     detail={"step": step, "decision": decision.id, "kind": decision.kind,
                             "family": decision.family_id, "by": decision.decided_by_user_id,
                             "confirmed_by": decision.confirmed_by_user_id})
    if overrides:
        match.transitions[-1].reason = "; ".join(sorted({d.override_reason for d in overrides if d.override_reason}))


def propose(data: dict, override_reason: str | None = None) -> Match:
    """Propose a match (validated ``MatchProposeSchema`` data) when the policy lets both families through."""
    requesting = matches.family_for(data["requesting_family_id"], "requesting_family_id")
    supporting = matches.family_for(data["supporting_family_id"], "supporting_family_id")
    problems = {field: [problem] for field, problem in (
        ("requesting_family_id", matches.check_kind(requesting.kind, V.REQUESTING, requesting.id)),
        ("supporting_family_id", matches.check_kind(supporting.kind, V.SUPPORTING, supporting.id))) if problem}
    if problems:
        raise ValidationError(problems)
    overrides = _check_gate(requesting, supporting, V.PROPOSED, override_reason)
    match = matches.propose(data)
    _record_overrides(match, overrides, V.PROPOSED)
    return match


def read(match_id: int) -> Match:
    match = get_or_404(Match, match_id)
    audit.record("match.read", object_type="match", object_id=match.id)
    return match


def step(match_id: int, to: str, data: dict, check_version) -> Match:
    """Introduce, start the trial, end or cancel (``MatchStepSchema``/``MatchEndSchema`` data)."""
    match = get_or_404(Match, match_id)
    check_version(match)
    facts = {k: v for k, v in data.items() if k not in ("on", "reason")}
    return matches.transition(match, to, data["on"], data.get("reason"), **facts)


def agreed_terms(match: Match, data: dict) -> dict:
    """The terms of ``MatchActivateSchema`` data with the policy's defaults filled in; 422 naming each term
    the policy does not allow."""
    terms = service.current(match.tenant_id).match_terms()
    on = data["on"]
    agreed = {
        "planned_end_on": data.get("planned_end_on") or on + relativedelta(months=terms.duration_months_default),
        "frequency": data.get("frequency") or terms.frequency_default,
        "hours_per_session": data.get("hours_per_session") or terms.hours_per_session_default,
        "overnight_stays": bool(data.get("overnight_stays")),
    }
    problems = matches.check_terms(terms, on, agreed["planned_end_on"], agreed["frequency"],
                                   agreed["hours_per_session"], agreed["overnight_stays"])
    if problems:
        raise ValidationError(problems)
    return agreed


def activate(match_id: int, data: dict, check_version, override_reason: str | None = None) -> Match:
    """The match becomes active (``MatchActivateSchema`` data); see :func:`activate_match`."""
    match = get_or_404(Match, match_id)
    check_version(match)
    return activate_match(match, data, override_reason)


def activate_match(match: Match, data: dict, override_reason: str | None = None) -> Match:
    """The policy is asked again (a VOG may have expired during the trial) and the agreed terms must lie
    within the policy's match terms."""
    matches.check_step(match, V.ACTIVE)  # the lifecycle's own refusal, before the policy is asked
    terms = agreed_terms(match, data)
    overrides = _check_gate(match.requesting_family, match.supporting_family, V.ACTIVE, override_reason)
    matches.transition(match, V.ACTIVE, data["on"], data.get("reason"), agreement=data["agreement"], **terms)
    _record_overrides(match, overrides, V.ACTIVE)
    return match


def extend(match_id: int, data: dict, check_version) -> Match:
    match = get_or_404(Match, match_id)
    check_version(match)
    return matches.extend(match, data["new_end_on"], data["both_families_agree"], data["decided_on"], data.get("note"))


def log_contact(match_id: int, data: dict):
    match = get_or_404(Match, match_id)
    return contacts.log(data, match_id=match.id)

