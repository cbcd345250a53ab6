"""Turning stored records into the plain facts that plugins get (see core.policy.types).

Facts hold decrypted special-category fields (problem areas, income, wishes). The process keeps
matching facts in one cache per tenant, filled and read only inside that tenant's scope (never in a
cross-tenant scope), so a tenant's decrypted values are never handed to another tenant's work.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import replace
from datetime import date

from sqlalchemy import func, or_, select

from core.crypto import fields as encrypted
from core.extensions import db
from core.programme import vocabulary as V
from core.programme.models import Approval, Consent, Family, Match, Member
from core.policy.types import FamilyFacts, MatchFacts, PersonFacts
from tenants.context import current_tenant_id


def age_on(born: date | None, today: date) -> int | None:
    if born is None:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


_NAMES = (
    "id", "kind", "status", "problem_areas", "household_income", "arrival_year", "in_professional_care",
    "triage_outcome", "references_checked", "training_attended_on", "home_visit_on", "agreement_signed_on",
    "district_code", "neighbourhood_code", "latitude", "longitude", "languages", "availability", "weekends",
    "overnight", "support_kinds", "capacity_children", "capacity_age_min", "capacity_age_max", "wishes",
    "preferences")
_COLUMNS = [Family.__table__.c[name] for name in _NAMES] + [Family.__table__.c.tenant_id, Family.__table__.c.row_key]


#: tenant id -> {(family id, version, today): facts}, oldest first
_caches: dict[int, OrderedDict] = {}
_cache_lock = threading.Lock()
#: At most this many facts per tenant.
MAX_CACHED_FACTS = 100_000


def forget(tenant_id: int | None = None) -> None:
    """Drop the cached facts of *tenant_id*, or every tenant's (a database emptied and refilled reuses ids and
    versions, as the tests do; a key rotation)."""
    with _cache_lock:
        if tenant_id is None:
            _caches.clear()
        else:
            _caches.pop(tenant_id, None)


def cached_tenants() -> set[int]:
    """The tenants whose facts this process holds (for tests)."""
    with _cache_lock:
        return {tenant_id for tenant_id, cache in _caches.items() if cache}


def matching_facts(family_ids, today: date) -> dict[int, FamilyFacts]:
    """Facts for matching (no approvals or consents), kept per process by family version.

    Matching reads thousands of supporting families per suggestion; only the
    ones whose row version changed since (a change of the family or of its
    members bumps it) are read again. The children placed are always counted afresh.
    """
    tenant_id = current_tenant_id()
    versions = dict(db.session.execute(select(Family.id, Family.version).where(Family.id.in_(family_ids))).all())
    if tenant_id is None:  # a cross-tenant scope: nothing cached, nothing read from a cache
        found = families(list(versions), today, screening=False)
    else:
        found, missing = {}, []
        with _cache_lock:
            cache = _caches.setdefault(tenant_id, OrderedDict())
            for family_id, version in versions.items():
                facts = cache.get((family_id, version, today))
                if facts is None:
                    missing.append(family_id)
                else:
                    found[family_id] = facts
        if missing:
            loaded = families(missing, today, screening=False)
            with _cache_lock:
                cache = _caches.setdefault(tenant_id, OrderedDict())
                for family_id, facts in loaded.items():
                    cache[(family_id, versions[family_id], today)] = facts
                while len(cache) > MAX_CACHED_FACTS:
                    cache.popitem(last=False)
            found.update(loaded)
    placed = _placed(family_ids)
    for family_id, facts in found.items():
        if facts.children_placed != placed.get(family_id, 0):
            found[family_id] = replace(facts, children_placed=placed.get(family_id, 0))
    return found


def _placed(family_ids) -> dict[int, int]:
    return {k: int(v) for k, v in db.session.execute(
        select(Match.supporting_family_id, func.sum(Match.children)).where(
            Match.supporting_family_id.in_(family_ids), Match.state.in_(V.OPEN_MATCH_STATES))
        .group_by(Match.supporting_family_id)).all()}


def families(family_ids, today: date, *, screening: bool = True) -> dict[int, FamilyFacts]:
    """Facts of the given families of the current tenant, in a few queries whatever their number.

    *family_ids* is a list of ids or a ``select`` of them (a subquery: better
    than thousands of parameters). ``screening=False`` leaves out approvals
    and consents (matching does not use them).
    """
    if isinstance(family_ids, list) and not family_ids:
        return {}
    connection = db.session.connection()
    rows = [encrypted.open_row(Family.__table__, row._asdict(), connection)
            for row in db.session.execute(select(*_COLUMNS).where(Family.id.in_(family_ids)))]
    for row in rows:
        del row["tenant_id"], row["row_key"]
    members: dict[int, list[PersonFacts]] = {}
    for m in db.session.execute(select(Member.family_id, Member.role, Member.date_of_birth, Member.vog_issued_on)
                                .where(Member.family_id.in_(family_ids)).order_by(Member.id)):
        members.setdefault(m.family_id, []).append(
            PersonFacts(m.role, age_on(m.date_of_birth, today), m.date_of_birth, m.vog_issued_on))
    approvals: dict[int, list[int]] = {}
    consents: dict[int, set[str]] = {}
    if screening:
        for a in db.session.execute(select(Approval.family_id, Approval.user_id).where(Approval.family_id.in_(family_ids))):
            approvals.setdefault(a.family_id, []).append(a.user_id)
        for c in db.session.execute(select(Consent.family_id, Consent.purpose).where(
                Consent.family_id.in_(family_ids), Consent.given_on <= today,
                or_(Consent.withdrawn_on.is_(None), Consent.withdrawn_on > today))):
            consents.setdefault(c.family_id, set()).add(c.purpose)
    placed = _placed(family_ids)
    return {row["id"]: FamilyFacts(**{
        **row, "members": tuple(members.get(row["id"], ())), "problem_areas": frozenset(row["problem_areas"] or ()),
        "languages": frozenset(row["languages"] or ()), "support_kinds": frozenset(row["support_kinds"] or ()),
        "availability": dict(row["availability"] or {}), "approvals": tuple(approvals.get(row["id"], ())),
        "consents": frozenset(consents.get(row["id"], ())), "children_placed": int(placed.get(row["id"]) or 0),
    }) for row in rows}


def family(family_: Family, today: date) -> FamilyFacts:
    return families([family_.id], today)[family_.id]


def match(match_: Match) -> MatchFacts:
    return MatchFacts(id=match_.id, state=match_.state, proposed_on=match_.proposed_on,
                      introduction_on=match_.introduction_on, trial_on=match_.trial_on, active_on=match_.active_on,
                      ended_on=match_.ended_on, planned_end_on=match_.planned_end_on, extensions=len(match_.extensions))
