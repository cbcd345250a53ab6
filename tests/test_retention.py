"""Retention and erasure (PostgreSQL): the monthly proposal, four-eyes approval, destruction that keeps the KPIs,
the tenant boundary, and erasure on request refused while a match runs."""
from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, time, timedelta, timezone

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select, update

from core.audit import AuditEvent
from core.auth import roles as R
from core.extensions import db
from core.programme import kpis, records
from core.programme import retention as R_
from core.programme import vocabulary as V
from core.programme.models import Consent, Family, Match, Member
from core.scheduling import dispatch, runner
from core.scheduling import retention as task
from core.scheduling.models import ScheduledItem
from core.scheduling.registry import at_local
from tenants.context import cross_tenant_scope, tenant_scope

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
LONG_AGO = datetime(2020, 1, 1, tzinfo=timezone.utc)


def _close(app, tenant_id: int, family_ids, at=LONG_AGO) -> None:
    """End the families' matches and close their files at *at* (as the services would have, back then)."""
    with app.app_context(), tenant_scope(tenant_id):
        db.session.execute(update(Match).where(Match.state.in_(V.OPEN_MATCH_STATES))
                           .values(state=V.ENDED, ended_on=date.today() - timedelta(days=30), end_reason="goals_reached"))
        db.session.execute(update(Family).where(Family.id.in_(family_ids))
                           .values(status=V.CLOSED, status_changed_at=at))
        db.session.commit()


def _propose(app, now: datetime) -> list:
    """The dispatcher finds the month's proposals; run the items as a worker does."""
    with app.app_context():
        dispatch.collect(now)
        with cross_tenant_scope("scheduler"):
            items = db.session.execute(select(ScheduledItem.id, ScheduledItem.tenant_id)
                                       .where(ScheduledItem.kind == task.KIND, ScheduledItem.state == "pending")).all()
            db.session.rollback()
        for item in items:
            with runner.scope(item.tenant_id, None):
                runner.run(item.id)
        return items


def test_asvs_14_2_7_retention_task_proposes_and_second_person_approves_destruction_keeping_kpis(app, client, world):
    """The task proposes the closed families; the submitter may not approve; the second person's approval
    destroys the personal data while the KPI figures of past periods stay the same."""
    aalten, ids = world.ids["aalten"], world.records["aalten"]
    family, supporting = ids["family"], ids["supporting"]
    _close(app, aalten, [family, supporting])
    period = kpis.Period(date.today() - timedelta(days=365), date.today() - timedelta(days=1))
    with app.app_context(), tenant_scope(aalten):
        before = asdict(kpis.municipality_kpis(aalten, period, period.end))
        db.session.rollback()

    # next month's proposal: a municipality's first is the one due after it was onboarded
    items = _propose(app, at_local(date.today().replace(day=1) + relativedelta(months=1), time(6, 0)))
    assert {i.tenant_id for i in items} == {world.ids[m] for m in ("aalten", "berkelland", "druten")}
    with app.app_context(), tenant_scope(aalten):
        found = db.session.scalars(select(R_.DestructionList).order_by(R_.DestructionList.id.desc()).limit(1)).one()
        assert found.state == R_.OPEN and sorted(i.family_id for i in found.items) == sorted([family, supporting])
        list_id, supporting_item = found.id, next(i.id for i in found.items if i.family_id == supporting)
        db.session.rollback()

    person, person2 = world.bearer("person"), world.bearer("person2")
    url = f"/api/v1/aalten/destruction-lists/{list_id}"
    answer = client.post(f"{url}/submit", headers=person,
                         json={"exclusions": [{"item_id": supporting_item, "reason": "legal claim pending"}]})
    assert answer.status_code == 200 and answer.json["state"] == "submitted"
    refused = client.post(f"{url}/approve", headers=person, json={})
    assert refused.status_code == 409 and refused.json["error"] == "destruction_needs_second_person"
    approved = client.post(f"{url}/approve", headers=person2, json={"note": "checked"})
    assert approved.status_code == 200 and approved.json["state"] == "destroyed"

    with app.app_context(), tenant_scope(aalten):
        stub = db.session.get(Family, family)
        assert stub.display_name == R_.DESTROYED_NAME and stub.postcode is None and stub.referrer_email is None
        assert stub.problem_areas == [] and stub.registered_on and stub.status == V.CLOSED
        members = db.session.scalars(select(Member).where(Member.family_id == family)).all()
        assert len(members) == 4 and all(m.first_name == "" and m.date_of_birth is None for m in members)
        assert db.session.scalar(select(func.count()).select_from(Consent).where(Consent.family_id == family)) == 0
        kept = db.session.get(Family, supporting)
        assert kept.display_name == "Familie de Vries"  # excluded with a reason: intact
        assert asdict(kpis.municipality_kpis(aalten, period, period.end)) == before
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "family.destroyed")).one()
        assert event.object_id == str(family) and event.detail["rows"]["member"]["blanked"] == 4
        assert "Jansen" not in str(event.detail)
        db.session.rollback()
    # another municipality's list is not found
    assert client.get(url, headers=world.bearer("druten")).status_code == 404
    assert client.post(f"{url}/approve", headers=world.bearer("druten"), json={}).status_code == 404


def test_every_table_that_can_hold_a_familys_rows_has_a_destruction_plan(app):
    with app.app_context():
        assert records.reachable() >= {"member", "match", "evaluation", "notification", "work_item"}
        assert R_.missing_from_plan() == set()


def test_a_failed_destruction_leaves_every_family_intact(app, client, world):
    """A family reopened with a running match on an erasure list: the approval is refused, nothing changes."""
    aalten, ids = world.ids["aalten"], world.records["aalten"]
    refused = client.post("/api/v1/aalten/erasure-requests", headers=world.bearer("person"),
                          json={"family_id": ids["family"], "reason": "asked by phone", "legal_basis": "none applies"})
    assert refused.status_code == 409 and refused.json["error"] == "erasure_running_match"
    _close(app, aalten, [])  # the match ends
    made = client.post("/api/v1/aalten/erasure-requests", headers=world.bearer("person"),
                       json={"family_id": ids["family"], "reason": "asked by phone", "legal_basis": "none applies"})
    assert made.status_code == 201
    with app.app_context(), tenant_scope(aalten):  # a new match starts before the approval
        db.session.execute(update(Match).values(state=V.ACTIVE, ended_on=None))
        db.session.commit()
    answer = client.post(f"/api/v1/aalten/destruction-lists/{made.json['id']}/approve", headers=world.bearer("person2"),
                         json={})
    assert answer.status_code == 409
    with app.app_context(), tenant_scope(aalten):
        assert db.session.get(Family, ids["family"]).display_name == "Familie Jansen"
        assert db.session.get(R_.DestructionList, made.json["id"]).state == R_.SUBMITTED
        db.session.rollback()
    other = client.post("/api/v1/aalten/erasure-requests", headers=world.bearer("person"),
                        json={"family_id": world.records["druten"]["family"], "reason": "x", "legal_basis": "y"})
    assert other.status_code == 404


def test_the_retention_period_is_set_by_the_tenant_admin_within_bounds(client, world):
    admin = world.bearer(R.TENANT_ADMIN)
    assert client.get("/api/v1/aalten/retention", headers=admin).json == {"retention_months": 24}
    bad = client.put("/api/v1/aalten/retention", headers=admin, json={"retention_months": 3})
    assert bad.status_code == 422 and "retention_months" in bad.json["errors"]["json"]
    assert client.put("/api/v1/aalten/retention", headers=admin, json={"retention_months": 36}).json == {
        "retention_months": 36}
    assert client.put("/api/v1/aalten/retention", headers=world.bearer(R.COORDINATOR),
                      json={"retention_months": 36}).status_code == 403
