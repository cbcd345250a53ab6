"""Turning stored records into the plain facts that plugins get (see core.policy.types)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, or_, select

from core.extensions import db
from core.programme import vocabulary as V
from core.programme.models import Approval, Consent, Family, Match, Member
from core.policy.types import FamilyFacts, MatchFacts, PersonFacts


def age_on(born: date | None, today: date) -> int | None:
    if born is None:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def families(family_ids: list[int], today: date) -> dict[int, FamilyFacts]:
    """Facts of the given families of the current tenant, in four queries whatever their number."""
    if not family_ids:
        return {}
    rows = db.session.scalars(select(Family).where(Family.id.in_(family_ids))).all()
    members: dict[int, list[PersonFacts]] = {}
    for m in db.session.execute(select(Member.family_id, Member.role, Member.date_of_birth, Member.vog_issued_on)
                                .where(Member.family_id.in_(family_ids)).order_by(Member.id)):
        members.setdefault(m.family_id, []).append(
            PersonFacts(m.role, age_on(m.date_of_birth, today), m.date_of_birth, m.vog_issued_on))
    approvals: dict[int, list[int]] = {}
    for a in db.session.execute(select(Approval.family_id, Approval.user_id).where(Approval.family_id.in_(family_ids))):
        approvals.setdefault(a.family_id, []).append(a.user_id)
    consents: dict[int, set[str]] = {}
    for c in db.session.execute(select(Consent.family_id, Consent.purpose).where(
            Consent.family_id.in_(family_ids), Consent.given_on <= today,
            or_(Consent.withdrawn_on.is_(None), Consent.withdrawn_on > today))):
        consents.setdefault(c.family_id, set()).add(c.purpose)
    placed = dict(db.session.execute(
        select(Match.supporting_family_id, func.sum(Match.children)).where(
            Match.supporting_family_id.in_(family_ids), Match.state.in_(V.OPEN_MATCH_STATES))
        .group_by(Match.supporting_family_id)).all())
    return {f.id: FamilyFacts(
        id=f.id, kind=f.kind, status=f.status, members=tuple(members.get(f.id, ())),
        problem_areas=frozenset(f.problem_areas or ()), household_income=f.household_income,
        arrival_year=f.arrival_year, in_professional_care=f.in_professional_care, triage_outcome=f.triage_outcome,
        references_checked=f.references_checked, training_attended_on=f.training_attended_on,
        home_visit_on=f.home_visit_on, agreement_signed_on=f.agreement_signed_on,
        approvals=tuple(approvals.get(f.id, ())), consents=frozenset(consents.get(f.id, ())),
        district_code=f.district_code, neighbourhood_code=f.neighbourhood_code, latitude=f.latitude,
        longitude=f.longitude, languages=frozenset(f.languages or ()), availability=dict(f.availability or {}),
        weekends=f.weekends, overnight=f.overnight, support_kinds=frozenset(f.support_kinds or ()),
        capacity_children=f.capacity_children, capacity_age_min=f.capacity_age_min,
        capacity_age_max=f.capacity_age_max, children_placed=int(placed.get(f.id) or 0), wishes=f.wishes,
        preferences=f.preferences,
    ) for f in rows}


def family(family_: Family, today: date) -> FamilyFacts:
    return families([family_.id], today)[family_.id]


def match(match_: Match) -> MatchFacts:
    return MatchFacts(id=match_.id, state=match_.state, proposed_on=match_.proposed_on,
                      introduction_on=match_.introduction_on, trial_on=match_.trial_on, active_on=match_.active_on,
                      ended_on=match_.ended_on, planned_end_on=match_.planned_end_on, extensions=len(match_.extensions))
