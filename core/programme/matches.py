"""Matches (koppelingen) and their lifecycle.

    proposed → introduction → trial → active → ended
    proposed, introduction → cancelled

Only these transitions are allowed; any other answers 409 with the reason.
A supporting family's capacity (children at once) is respected, and two
coordinators matching the same supporting family at the same moment cannot
both succeed: the family's row is locked (``SELECT ... FOR UPDATE``) while
its capacity is counted.
"""
from __future__ import annotations

from datetime import date, timedelta

from marshmallow import ValidationError
from sqlalchemy import func, select

from core import audit
from core.errors import Conflict
from core.extensions import db
from core.programme import consent, families
from core.programme import vocabulary as V
from core.programme.evaluation_plan import schedule
from core.programme.models import Family, Match, MatchExtension, MatchTransition, ReferrerNotification

ALLOWED = {
    V.PROPOSED: {V.INTRODUCTION, V.CANCELLED},
    V.INTRODUCTION: {V.TRIAL, V.CANCELLED},
    V.TRIAL: {V.ACTIVE, V.ENDED},
    V.ACTIVE: {V.ENDED},
    V.ENDED: set(),
    V.CANCELLED: set(),
}

#: The date column each state sets.
DATE_OF = {V.PROPOSED: "proposed_on", V.INTRODUCTION: "introduction_on", V.TRIAL: "trial_on",
           V.ACTIVE: "active_on", V.ENDED: "ended_on", V.CANCELLED: "cancelled_on"}

DEFAULT_DURATION = timedelta(days=365)


def children_placed(supporting_family_id: int, exclude_match_id: int | None = None) -> int:
    """Children the supporting family has in open matches."""
    query = select(func.coalesce(func.sum(Match.children), 0)).where(
        Match.supporting_family_id == supporting_family_id, Match.state.in_(V.OPEN_MATCH_STATES))
    if exclude_match_id is not None:
        query = query.where(Match.id != exclude_match_id)
    return db.session.scalar(query)


def _family(family_id: int, field: str, *, lock: bool = False) -> Family:
    query = select(Family).where(Family.id == family_id)
    if lock:
        query = query.with_for_update()
    family = db.session.scalars(query).first()
    if family is None:  # another tenant's id looks exactly like a missing one
        raise ValidationError({field: [f"no family {family_id} in this municipality"]})
    return family


def propose(data: dict) -> Match:
    """Propose a match from validated ``MatchProposeSchema`` data."""
    requesting = _family(data["requesting_family_id"], "requesting_family_id")
    supporting = _family(data["supporting_family_id"], "supporting_family_id", lock=True)
    errors = {}
    if requesting.kind != V.REQUESTING:
        errors["requesting_family_id"] = [f"family {requesting.id} is not a requesting family"]
    if supporting.kind != V.SUPPORTING:
        errors["supporting_family_id"] = [f"family {supporting.id} is not a supporting family"]
    if errors:
        raise ValidationError(errors)
    if requesting.status not in (V.WAITING, V.MATCHED):
        raise Conflict(f"the requesting family is {requesting.status}; only a waiting family can be matched")
    if supporting.status not in (V.AVAILABLE, V.MATCHED):
        raise Conflict(f"the supporting family is {supporting.status}; only an available family can be matched")
    for family in (requesting, supporting):
        if consent.active(family, "processing", data["proposed_on"]) is None:
            raise Conflict(f"family {family.id} has not given consent for processing")
    capacity = supporting.capacity_children or 0
    placed = children_placed(supporting.id)
    if placed + data["children"] > capacity:
        raise Conflict(f"the supporting family has room for {capacity} children and has {placed} in open matches; "
                       f"{data['children']} more do not fit")
    match = Match(**data, state=V.PROPOSED, coordinator_user_id=audit.actor_user_id())
    db.session.add(match)
    db.session.flush()
    _log(match, None, V.PROPOSED, data["proposed_on"], None)
    audit.record("match.propose", object_type="match", object_id=match.id,
                 detail={"requesting": requesting.id, "supporting": supporting.id})
    return match


def transition(match: Match, to: str, on: date, reason: str | None = None, **facts) -> Match:
    """Move *match* to state *to* on date *on* (409 when the lifecycle does not allow it)."""
    if to not in ALLOWED[match.state]:
        allowed = ALLOWED[match.state]
        raise Conflict(f"a match that is {match.state} cannot become {to}"
                       + (f"; it can become {', '.join(sorted(allowed))}" if allowed else "; it is closed"))
    previous = [getattr(match, DATE_OF[s]) for s in V.MATCH_STATES if getattr(match, DATE_OF[s]) is not None]
    if previous and on < max(previous):
        raise ValidationError({"on": [f"may not lie before the previous step ({max(previous).isoformat()})"]})
    old = match.state
    match.state = to
    setattr(match, DATE_OF[to], on)
    if to == V.ACTIVE:
        match.agreement = facts["agreement"]
        match.agreement_recorded_on = on
        match.planned_end_on = facts.get("planned_end_on") or on + DEFAULT_DURATION
        if match.planned_end_on <= on:
            raise ValidationError({"planned_end_on": ["must lie after the start of the active phase"]})
    if to == V.ENDED:
        match.end_reason, match.outcome = facts["end_reason"], facts.get("outcome") or "unknown"
    _log(match, old, to, on, reason)
    _families_follow(match, to)
    if to in (V.TRIAL, V.ACTIVE):
        schedule(match)
    if to in (V.TRIAL, V.ENDED):
        _notify_referrer(match, "start" if to == V.TRIAL else "end")
    db.session.flush()
    audit.record(f"match.{to}", object_type="match", object_id=match.id,
                 detail={"from": old, "to": to, **({"end_reason": match.end_reason} if to == V.ENDED else {})})
    return match


def stop(match: Match, on: date, reason: str) -> Match:
    """End a running match or cancel one not yet in its trial (used when consent is withdrawn)."""
    if match.state in (V.TRIAL, V.ACTIVE):
        return transition(match, V.ENDED, on, reason, end_reason=reason, outcome="unknown")
    return transition(match, V.CANCELLED, on, reason)


def extend(match: Match, new_end_on: date, both_families_agree: bool, decided_on: date, note: str | None) -> Match:
    """Extend an active match; only when both families want it, and to a later date."""
    if match.state != V.ACTIVE:
        raise Conflict(f"only an active match can be extended; this one is {match.state}")
    if not both_families_agree:
        raise Conflict("a match is extended only when both families want it")
    if match.planned_end_on and new_end_on <= match.planned_end_on:
        raise ValidationError({"new_end_on": [f"must lie after the planned end ({match.planned_end_on.isoformat()})"]})
    match.extensions.append(MatchExtension(match_id=match.id, decided_on=decided_on, previous_end_on=match.planned_end_on,
                                           new_end_on=new_end_on, both_families_agree=True, note=note,
                                           by_user_id=audit.actor_user_id()))
    match.planned_end_on = new_end_on
    schedule(match)
    db.session.flush()
    audit.record("match.extend", object_type="match", object_id=match.id, detail={"new_end_on": new_end_on.isoformat()})
    return match


def _log(match: Match, old: str | None, new: str, on: date, reason: str | None) -> None:
    match.transitions.append(MatchTransition(match_id=match.id, from_state=old, to_state=new, on=on, reason=reason,
                                             by_user_id=audit.actor_user_id()))


def _families_follow(match: Match, state: str) -> None:
    """Families are ``matched`` while they have a running match, and return when it closes."""
    requesting, supporting = match.requesting_family, match.supporting_family
    if state == V.TRIAL:
        families.set_status(requesting, V.MATCHED, f"match {match.id} started")
        families.set_status(supporting, V.MATCHED, f"match {match.id} started")
    elif state in (V.ENDED, V.CANCELLED):
        if not _has_running(requesting.id, match.id) and requesting.status == V.MATCHED:
            back = V.WAITING if match.end_reason in ("mismatch", "supporting_family_stopped") else V.CLOSED
            families.set_status(requesting, back, f"match {match.id} {state}")
        if not _has_running(supporting.id, match.id) and supporting.status == V.MATCHED:
            families.set_status(supporting, V.AVAILABLE, f"match {match.id} {state}")


def _has_running(family_id: int, other_than: int) -> bool:
    return db.session.scalar(select(func.count()).select_from(Match).where(
        Match.id != other_than, Match.state.in_(V.RUNNING_MATCH_STATES),
        (Match.requesting_family_id == family_id) | (Match.supporting_family_id == family_id))) > 0


def _notify_referrer(match: Match, event: str) -> None:
    """Queue a message to the referrer when the requesting family consented to sharing."""
    family = match.requesting_family
    if not family.referrer_email or consent.active(family, "share_with_referrer") is None:
        return
    db.session.add(ReferrerNotification(match_id=match.id, event=event, recipient=family.referrer_email))
