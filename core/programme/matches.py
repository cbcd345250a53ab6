"""Matches (koppelingen) and their lifecycle.

    proposed → introduction → trial → active → ended
    proposed, introduction → cancelled

Only these transitions are allowed; any other answers 409 with the reason.
The ``check_*`` functions say what is wrong as a message (or None), for
:func:`propose` and for the import's dry run alike.
A supporting family's capacity (children at once) is respected, and two
coordinators matching the same supporting family at the same moment cannot
both succeed: the family's row is locked (``SELECT ... FOR UPDATE``) while
its capacity is counted.
"""
from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta
from marshmallow import ValidationError
from sqlalchemy import func, select

from core import audit
from core.errors import Conflict
from core.extensions import db
from core.programme import consent, families
from core.programme import vocabulary as V
from core.messages import Label, Labels, Message
from core.policy.types import MatchTerms
from core.programme.evaluation_plan import close, schedule
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


def children_placed(supporting_family_id: int, exclude_match_id: int | None = None) -> int:
    """Children the supporting family has in open matches."""
    query = select(func.coalesce(func.sum(Match.children), 0)).where(
        Match.supporting_family_id == supporting_family_id, Match.state.in_(V.OPEN_MATCH_STATES))
    if exclude_match_id is not None:
        query = query.where(Match.id != exclude_match_id)
    return db.session.scalar(query)


def family_for(family_id: int, field: str, *, lock: bool = False) -> Family:
    """The family of this municipality with *family_id*; 422 naming *field* when there is none."""
    query = select(Family).where(Family.id == family_id)
    if lock:
        query = query.with_for_update()
    family = db.session.scalars(query).first()
    if family is None:  # another tenant's id looks exactly like a missing one
        raise ValidationError({field: [Message("No family %(id)s in this municipality.", {"id": family_id},
                                               code="no_such_family")]})
    return family


#: The status a family must have (besides ``matched``) before it can be proposed.
MATCHABLE = {V.REQUESTING: V.WAITING, V.SUPPORTING: V.AVAILABLE}


def check_kind(kind: str, wanted: str, family_id) -> Message | None:
    """A family on the wrong side of a match."""
    if kind != wanted:
        return Message("Family %(id)s is not a %(kind)s.", {"id": family_id, "kind": Label("family_kind", wanted)},
                       code="wrong_family_kind")
    return None


def check_matchable(kind: str, status: str, family_id) -> Message | None:
    """A family that is not waiting (requesting) or available (supporting), nor matched already."""
    if status not in (MATCHABLE[kind], V.MATCHED):
        return Message("Family %(id)s is %(status)s; only a %(wanted)s family can be matched.",
                       {"id": family_id, "status": Label("family_status", status),
                        "wanted": Label("family_status", MATCHABLE[kind])}, code="family_not_matchable")
    return None


def check_consent(has_consent: bool, family_id, on: date) -> Message | None:
    if not has_consent:
        return Message("Family %(id)s has no consent for processing on %(on)s.", {"id": family_id, "on": on},
                       code="no_consent")
    return None


def check_capacity(capacity: int | None, placed: int, children: int, family_id) -> Message | None:
    """Children that do not fit with the supporting family next to those in its open matches."""
    capacity = capacity or 0
    if placed + children > capacity:
        return Message("Supporting family %(id)s has room for %(capacity)s and has %(placed)s in open matches; "
                       "%(children)s more do not fit.",
                       {"id": family_id, "capacity": capacity, "placed": placed, "children": children},
                       code="no_room")
    return None


def propose(data: dict) -> Match:
    """Propose a match from validated ``MatchProposeSchema`` data (the lifecycle's rules; the policy's
    are the use case's, :func:`core.usecases.matches.propose`)."""
    requesting = family_for(data["requesting_family_id"], "requesting_family_id")
    supporting = family_for(data["supporting_family_id"], "supporting_family_id", lock=True)
    errors = {field: [problem] for field, problem in (
        ("requesting_family_id", check_kind(requesting.kind, V.REQUESTING, requesting.id)),
        ("supporting_family_id", check_kind(supporting.kind, V.SUPPORTING, supporting.id))) if problem}
    if errors:
        raise ValidationError(errors)
    for problem in (check_matchable(requesting.kind, requesting.status, requesting.id),
                    check_matchable(supporting.kind, supporting.status, supporting.id),
                    *(check_consent(consent.active(f, "processing", data["proposed_on"]) is not None, f.id,
                                    data["proposed_on"]) for f in (requesting, supporting)),
                    check_capacity(supporting.capacity_children, children_placed(supporting.id), data["children"],
                                   supporting.id)):
        if problem:
            raise Conflict(problem)
    match = Match(**data, state=V.PROPOSED, coordinator_user_id=audit.actor_user_id())
    db.session.add(match)
    db.session.flush()
    _log(match, None, V.PROPOSED, data["proposed_on"], None)
    audit.record("match.propose", object_type="match", object_id=match.id,
                 detail={"requesting": requesting.id, "supporting": supporting.id})
    return match


def check_terms(terms: MatchTerms, active_on: date, planned_end_on: date, frequency: str, hours: float,
                overnight: bool) -> dict[str, list[Message]]:
    """The agreed terms that the policy does not allow, by field."""
    problems: dict[str, list[Message]] = {}
    longest, shortest = (active_on + relativedelta(months=terms.duration_months_max),
                         active_on + relativedelta(months=terms.duration_months_min))
    if planned_end_on > longest or planned_end_on < shortest:
        problems["planned_end_on"] = [Message(
            "The policy lets a match run %(min)s to %(max)s months; %(end)s lies outside that.",
            {"min": terms.duration_months_min, "max": terms.duration_months_max, "end": planned_end_on},
            code="duration_outside_policy")]
    if frequency not in terms.frequencies:
        problems["frequency"] = [Message("The policy allows the families to meet %(allowed)s, not %(frequency)s.",
                                         {"allowed": Labels("frequency", terms.frequencies, "or"),
                                          "frequency": Label("frequency", frequency)},
                                         code="frequency_outside_policy")]
    if hours > terms.hours_per_session_max:
        problems["hours_per_session"] = [Message("The policy allows at most %(max)s hours a time, not %(hours)s.",
                                                 {"max": terms.hours_per_session_max, "hours": hours},
                                                 code="hours_outside_policy")]
    if overnight and not terms.overnight_allowed:
        problems["overnight_stays"] = [Message("The policy does not allow children to stay overnight.",
                                               code="overnight_not_allowed")]
    return problems


def check_step(match: Match, to: str) -> None:
    """409 when the lifecycle does not let *match* move to *to*."""
    if to not in ALLOWED[match.state]:
        allowed = tuple(sorted(ALLOWED[match.state]))
        params = {"state": Label("match_state", match.state), "to": Label("match_state", to),
                  "allowed": Labels("match_state", allowed, "or")}
        if not allowed:
            raise Conflict(Message("The match is at the step %(state)s and cannot move to %(to)s; it is closed.",
                                   params, code="step_not_allowed"))
        raise Conflict(Message("The match is at the step %(state)s and cannot move to %(to)s; it can move to "
                               "%(allowed)s.", params, code="step_not_allowed"))


def transition(match: Match, to: str, on: date, reason: str | None = None, **facts) -> Match:
    """Move *match* to state *to* on date *on* (409 when the lifecycle does not allow it)."""
    check_step(match, to)
    previous = [getattr(match, DATE_OF[s]) for s in V.MATCH_STATES if getattr(match, DATE_OF[s]) is not None]
    if previous and on < max(previous):
        raise ValidationError({"on": [Message("May not lie before the previous step (%(previous)s).",
                                              {"previous": max(previous)}, code="before_previous_step")]})
    old = match.state
    match.state = to
    setattr(match, DATE_OF[to], on)
    if to == V.ACTIVE:
        match.agreement = facts["agreement"]
        match.agreement_recorded_on = on
        match.planned_end_on = facts.get("planned_end_on") or on + relativedelta(years=1)
        match.frequency = facts.get("frequency")
        match.hours_per_session = facts.get("hours_per_session")
        match.overnight_stays = facts.get("overnight_stays")
        if match.planned_end_on <= on:
            raise ValidationError({"planned_end_on": [Message("Must lie after the start of the active phase.",
                                                              code="end_before_start")]})
    if to == V.ENDED:
        match.end_reason, match.outcome = facts["end_reason"], facts.get("outcome") or "unknown"
    _log(match, old, to, on, reason)
    _families_follow(match, to)
    if to in (V.TRIAL, V.ACTIVE):
        schedule(match)
    if to in (V.ENDED, V.CANCELLED):
        close(match, on)
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
        raise Conflict(Message("Only an active match can be extended; this one is %(state)s.",
                               {"state": Label("match_state", match.state)}, code="not_active"))
    if not both_families_agree:
        raise Conflict(Message("A match is extended only when both families want it.", code="extension_not_agreed"))
    if match.planned_end_on and new_end_on <= match.planned_end_on:
        raise ValidationError({"new_end_on": [Message("Must lie after the planned end (%(end)s).",
                                                      {"end": match.planned_end_on}, code="not_later")]})
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


#: End reasons after which a requesting family waits for another match (otherwise its help is over).
WAIT_AGAIN = ("mismatch", "supporting_family_stopped", "moved")


def _families_follow(match: Match, state: str) -> None:
    """Families are ``matched`` from the introduction on (they no longer wait), and return when it closes.

    A requesting family waits again after a cancelled match or one that ended because the families did not
    fit or the supporting family stopped; otherwise its time in the programme is over. A supporting family
    that stopped is no longer available; otherwise it is available again.
    """
    requesting, supporting = match.requesting_family, match.supporting_family
    if state == V.INTRODUCTION:
        families.set_status(requesting, V.MATCHED, f"match {match.id}: introduction")
        families.set_status(supporting, V.MATCHED, f"match {match.id}: introduction")
    elif state in (V.ENDED, V.CANCELLED):
        why = f"match {match.id} {state}" + (f": {match.end_reason}" if match.end_reason else "")
        if not _has_engaged(requesting.id, match.id) and requesting.status == V.MATCHED:
            again = state == V.CANCELLED or match.end_reason in WAIT_AGAIN
            families.set_status(requesting, V.WAITING if again else V.CLOSED, why)
        if not _has_engaged(supporting.id, match.id) and supporting.status == V.MATCHED:
            stopped = match.end_reason == "supporting_family_stopped"
            families.set_status(supporting, V.CLOSED if stopped else V.AVAILABLE, why)


def _has_engaged(family_id: int, other_than: int) -> bool:
    return db.session.scalar(select(func.count()).select_from(Match).where(
        Match.id != other_than, Match.state.in_(V.ENGAGED_MATCH_STATES),
        (Match.requesting_family_id == family_id) | (Match.supporting_family_id == family_id))) > 0


def _notify_referrer(match: Match, event: str) -> None:
    """Queue a message to the referrer when the requesting family consented to sharing."""
    family = match.requesting_family
    if not family.referrer_email or consent.active(family, "share_with_referrer") is None:
        return
    db.session.add(ReferrerNotification(match_id=match.id, event=event, recipient=family.referrer_email))
