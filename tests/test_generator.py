"""The data generator: deterministic, within capacity, tenant-tight and realistic (SQLite and PostgreSQL)."""
from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, func, select

from core.crypto import fields as encrypted
from core.extensions import db
from core.programme import generator
from core.programme import vocabulary as V
from core.programme.models import (
    Approval,
    Consent,
    Contact,
    Decision,
    DuplicateFlag,
    Evaluation,
    Family,
    FamilyStatusChange,
    IntakeMeeting,
    Match,
    MatchExtension,
    MatchTransition,
    Member,
    ProgrammeTarget,
    ReferrerNotification,
)
from tenants import onboarding
from tenants.context import cross_tenant_scope, tenant_scope
from tenants.models import Municipality

TODAY = date(2026, 11, 23)
#: Children before parents, so that deleting in this order never trips a foreign key.
TABLES = [Contact, Evaluation, MatchExtension, MatchTransition, ReferrerNotification, Match, Consent, Decision,
          IntakeMeeting, Approval, DuplicateFlag, FamilyStatusChange, Member, Family, ProgrammeTarget]
FAMILY_REFS = ("family_id", "requesting_family_id", "supporting_family_id", "former_family_id")


@pytest.fixture
def towns(app):
    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        region = onboarding.add_consortium("Achterhoek", "achterhoek")
        ids = [onboarding.add_municipality(region, name=name, cbs_code=code, slug=name.lower(), inhabitants=30000).id
               for name, code in (("Doetinchem", "GM0222"), ("Aalten", "GM0197"))]
        db.session.commit()
    return ids


def snapshot(tenant_id: int) -> dict[str, list[tuple]]:
    """Every programme row of the tenant, with ids replaced by their rank (ids differ between runs)."""
    with tenant_scope(tenant_id):
        family_rank = {i: n for n, i in enumerate(db.session.scalars(select(Family.id).order_by(Family.id)))}
        match_rank = {i: n for n, i in enumerate(db.session.scalars(select(Match.id).order_by(Match.id)))}
        data = {}
        for model in TABLES:
            table = model.__table__
            rows = []
            # the table's rows as Core reads them (the ORM criteria do not reach a Core statement, which is
            # refused in a tenant's scope): filtered by hand, across tenants
            with cross_tenant_scope("platform-maintenance"):
                found = db.session.execute(select(table).where(table.c.tenant_id == tenant_id)
                                           .order_by(table.c.id)).mappings().all()
            for row in found:
                # encrypted columns opened (their ciphertexts and row keys differ between runs)
                row = encrypted.open_row(table, dict(row), db.session.connection())
                row.pop("row_key", None)
                del row["id"], row["tenant_id"]
                for name in FAMILY_REFS:
                    if row.get(name) is not None:
                        row[name] = family_rank[row[name]]
                if row.get("match_id") is not None:
                    row["match_id"] = match_rank[row["match_id"]]
                rows.append(tuple(sorted(row.items(), key=lambda item: item[0])))
            data[table.name] = rows
        db.session.rollback()
    return data


def wipe(tenant_id: int) -> None:
    with tenant_scope(tenant_id):
        for model in TABLES:
            db.session.execute(delete(model))
        db.session.commit()


def test_same_seed_gives_the_same_data_and_another_seed_other_data(app, towns):
    doetinchem = towns[0]
    with app.app_context():
        counts = generator.generate([doetinchem], 60, 20, seed=7, today=TODAY)
        first = snapshot(doetinchem)
        assert len(first["family"]) == 60 and len(first["match"]) == counts[doetinchem]["matches"] == 20
        wipe(doetinchem)
        generator.generate([doetinchem], 60, 20, seed=7, today=TODAY)
        assert snapshot(doetinchem) == first
        wipe(doetinchem)
        generator.generate([doetinchem], 60, 20, seed=8, today=TODAY)
        assert snapshot(doetinchem) != first


def test_a_municipality_gets_the_same_data_whatever_the_order():
    doetinchem, aalten = Municipality(name="Doetinchem", cbs_code="GM0222"), Municipality(name="Aalten", cbs_code="GM0197")
    one = generator.plan_municipality(doetinchem, 200, 80, seed=1, today=TODAY)
    generator.plan_municipality(aalten, 200, 80, seed=1, today=TODAY)
    again = generator.plan_municipality(doetinchem, 200, 80, seed=1, today=TODAY)
    assert one == again
    assert one != generator.plan_municipality(doetinchem, 200, 80, seed=1, today=TODAY - timedelta(days=1))


def test_every_row_belongs_to_its_municipality(app, towns):
    with app.app_context():
        counts = generator.generate(towns, 120, 40, seed=3, today=TODAY)
        for tenant_id in towns:
            with tenant_scope(tenant_id):
                seen = {model.__tablename__: db.session.scalar(select(func.count()).select_from(model)) for model in TABLES}
                db.session.rollback()
            expected = counts[tenant_id]
            assert seen["family"] == expected["families"] == 120
            assert seen["match"] == expected["matches"] == 40
            assert seen["member"] == expected["members"] and seen["contact"] == expected["contacts"]
            assert seen["evaluation"] == expected["evaluations"] and seen["consent"] == expected["consents"]
        with cross_tenant_scope("platform-maintenance"):
            for model in TABLES:
                tenants = set(db.session.scalars(select(model.tenant_id).distinct()))
                assert tenants <= set(towns), model.__tablename__
            # Every child row carries the tenant of the row it hangs from.
            family, other = Family.__table__, Family.__table__.alias("other")
            for model in (Member, FamilyStatusChange, IntakeMeeting, Decision, Consent):
                t = model.__table__
                assert not db.session.scalar(select(func.count()).select_from(t.join(family, t.c.family_id == family.c.id))
                                             .where(t.c.tenant_id != family.c.tenant_id)), model.__tablename__
            m = Match.__table__
            for column in (m.c.requesting_family_id, m.c.supporting_family_id):
                assert not db.session.scalar(select(func.count()).select_from(m.join(family, column == family.c.id))
                                             .where(m.c.tenant_id != family.c.tenant_id))
            for model in (MatchTransition, MatchExtension, Evaluation, Contact):
                t = model.__table__
                assert not db.session.scalar(select(func.count()).select_from(t.join(m, t.c.match_id == m.c.id))
                                             .where(t.c.tenant_id != m.c.tenant_id)), model.__tablename__
            assert not db.session.scalar(select(func.count()).select_from(
                family.join(other, family.c.former_family_id == other.c.id)).where(family.c.tenant_id != other.c.tenant_id))
            db.session.rollback()


def test_a_supporting_family_is_never_over_capacity(app, towns):
    with app.app_context():
        generator.generate(towns[:1], 300, 150, seed=11, today=TODAY)
        with tenant_scope(towns[0]):
            capacity = dict(db.session.execute(select(Family.id, Family.capacity_children)
                                               .where(Family.kind == V.SUPPORTING)).all())
            # Today, as the matching service counts it: children in open matches.
            placed = db.session.execute(
                select(Match.supporting_family_id, func.sum(Match.children))
                .where(Match.state.in_(V.OPEN_MATCH_STATES)).group_by(Match.supporting_family_id)).all()
            assert placed and all(n <= capacity[s] for s, n in placed)
            # And on every day in the past: a match holds its children from its proposal until it closes.
            spans = db.session.execute(select(Match.supporting_family_id, Match.proposed_on,
                                              func.coalesce(Match.ended_on, Match.cancelled_on), Match.children)).all()
            db.session.rollback()
        by_family: dict[int, list] = {}
        for s, start, end, children in spans:
            by_family.setdefault(s, []).append((start, end, children))
        assert max(len(v) for v in by_family.values()) > 1  # some supporting families had several matches
        for s, items in by_family.items():
            for day, _, _ in items:
                load = sum(c for a, b, c in items if a <= day and (b is None or day < b))
                assert load <= capacity[s], (s, day, items)


def test_the_data_is_realistic_and_consistent(app, towns):
    doetinchem = towns[0]
    with app.app_context():
        generator.generate([doetinchem], 600, 240, seed=5, today=TODAY)
        with tenant_scope(doetinchem):
            families = db.session.scalars(select(Family)).all()
            matches = db.session.scalars(select(Match)).all()
            members = db.session.scalars(select(Member)).all()
            evaluations = db.session.scalars(select(Evaluation)).all()
            contacts = db.session.scalars(select(Contact)).all()
            transitions = db.session.scalars(select(MatchTransition).order_by(MatchTransition.id)).all()
            changes = db.session.scalars(select(FamilyStatusChange).order_by(FamilyStatusChange.id)).all()
            decisions = db.session.scalars(select(Decision)).all()
            consents = db.session.scalars(select(Consent)).all()
            targets = db.session.scalars(select(ProgrammeTarget)).all()

            kinds = Counter(f.kind for f in families)
            assert kinds == {V.REQUESTING: 360, V.SUPPORTING: 240}
            three_years_ago = TODAY - timedelta(days=3 * 366)
            requesting = [f for f in families if f.kind == V.REQUESTING]
            assert all(three_years_ago <= f.registered_on <= TODAY for f in requesting)
            assert len({f.registered_on.year for f in requesting}) >= 3
            assert len({f.referral_source for f in requesting}) >= 5
            for f in families:
                assert re.fullmatch(r"[1-9]\d{3} [A-Z]{2}", f.postcode)
                assert re.fullmatch(r"WK0222\d\d", f.district_code)
                assert f.neighbourhood_code.startswith("BU" + f.district_code[2:]) and len(f.neighbourhood_code) == 10
                assert f.display_name.startswith("Familie ")
                assert f.kind == V.SUPPORTING or (f.household_income and f.problem_areas)
                assert f.kind == V.REQUESTING or f.capacity_children in (1, 2, 3)
            languages = Counter(lang for f in families for lang in f.languages)
            assert languages["nl"] > 0.8 * len(families) and len(languages) >= 4
            assert {m.role for m in members} == {"adult", "child"}
            children = [m for m in members if m.role == "child"]
            assert all(0 <= (TODAY - m.date_of_birth).days < 18 * 365 for m in children)
            assert all(m.vog_issued_on is None for m in members if m.role == "child")
            assert sum(1 for f in families if f.former_family_id) >= 1

            states = Counter(m.state for m in matches)
            assert set(states) == set(V.MATCH_STATES), states
            assert states[V.ACTIVE] + states[V.ENDED] > len(matches) / 2
            assert states[V.CANCELLED] < len(matches) / 5
            assert len({m.end_reason for m in matches if m.state == V.ENDED}) >= 5
            for m in matches:
                dates = [d for d in (m.proposed_on, m.introduction_on, m.trial_on, m.active_on, m.ended_on) if d]
                assert dates == sorted(dates) and dates[-1] <= TODAY
                assert (m.state == V.ENDED) == (m.ended_on is not None) == (m.end_reason is not None) == (m.outcome is not None)
                assert (m.state == V.CANCELLED) == (m.cancelled_on is not None)
                assert m.cancelled_on is None or m.trial_on is None
                assert (m.planned_end_on is not None) == (m.active_on is not None)
            # Transitions replay every match's path to its state.
            path: dict[int, list] = {}
            for t in transitions:
                path.setdefault(t.match_id, []).append(t)
            for m in matches:
                steps = path[m.id]
                assert [s.from_state for s in steps] == [None] + [s.to_state for s in steps[:-1]]
                assert steps[-1].to_state == m.state
            # A family's status is the last one in its history; running matches keep both families matched.
            last = {}
            for c in changes:
                last[c.family_id] = c.to_status
            assert all(last[f.id] == f.status for f in families)
            assert all(c.at.date() <= TODAY for c in changes)
            assert all(f.status_changed_at == max(c.at for c in changes if c.family_id == f.id) for f in families[:50])
            running = [m for m in matches if m.state in V.RUNNING_MATCH_STATES]
            by_id = {f.id: f for f in families}
            assert running and all(by_id[m.requesting_family_id].status == V.MATCHED
                                   and by_id[m.supporting_family_id].status == V.MATCHED for m in running)
            statuses = Counter(f.status for f in requesting)
            assert statuses[V.WAITING] and statuses[V.MATCHED] and statuses[V.CLOSED]

            completed = [e for e in evaluations if e.completed_on]
            assert completed and all(0 <= e.parenting <= 5 and 1 <= e.satisfaction_requesting <= 5 for e in completed)
            open_ = [e for e in evaluations if not e.completed_on and not e.skipped_reason]
            assert any(e.due_on < TODAY for e in open_) and any(e.due_on >= TODAY for e in open_)
            assert any(e.skipped_reason for e in evaluations)
            sessions = [c for c in contacts if c.kind == "support_session"]
            assert sessions and all(60 <= c.duration_minutes <= 1440 for c in sessions)
            assert all(c.occurred_on <= TODAY for c in contacts)
            assert {d.kind for d in decisions} == {"eligibility", "screening"}
            assert all(d.findings and {"rule", "result", "facts", "explanation"} <= set(d.findings[0]) for d in decisions)
            assert {c.purpose for c in consents} == set(V.CONSENT_PURPOSES)
            assert sorted(t.year for t in targets) == [2024, 2025, 2026]
            db.session.rollback()
