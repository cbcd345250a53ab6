"""Scheduled screening work, in-process on both backends (core/scheduling/screening.py and redecide.py): VOGs
about to stop counting, supporting families due for a review, and deciding again after a change of policy.

Each test dispatches (``dispatch.collect``) and runs the items it made as a worker would (``runner.run`` in the
item's tenant); no broker is needed."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select, update

from core.auth import roles as R
from core.auth.models import Membership, User
from core.extensions import db
from core.plugin_toolkit import add_months, months_before
from core.programme import evaluations, families
from core.programme.models import Decision, Evaluation, Family, FamilyStatusChange, Member
from core.scheduling import dispatch, runner
from core.scheduling.models import Notification, ScheduledItem, WorkItem
from core.scheduling.registry import at_local
from core.scheduling.screening import vog_stops_on
from core.types import utcnow
from core.usecases.decisions import decide
from tenants.context import cross_tenant_scope, tenant_scope
from tests.conftest import enable_policy

MINE = ("vog_expiring", "supporting_review", "redecide")


def _items_per_kind() -> dict:
    with cross_tenant_scope("scheduler"):
        counts = dict(db.session.execute(select(ScheduledItem.kind, func.count()).where(ScheduledItem.kind.in_(MINE))
                                         .group_by(ScheduledItem.kind)).all())
        db.session.rollback()
    return {kind: counts.get(kind, 0) for kind in MINE}


def _dispatch(app, now: datetime) -> dict:
    """Dispatch at *now* and run this module's items that were handed out; returns how many new items of each
    kind the dispatch made."""
    with app.app_context():
        before = _items_per_kind()
        out = dispatch.collect(now)
        with cross_tenant_scope("scheduler"):
            ids = {t.item_id for t in out.tickets}
            mine = db.session.execute(select(ScheduledItem.id, ScheduledItem.tenant_id).where(
                ScheduledItem.id.in_(ids), ScheduledItem.kind.in_(MINE)).order_by(ScheduledItem.id)).all()
            db.session.rollback()
        for item in mine:
            with runner.scope(item.tenant_id, None):
                assert runner.run(item.id) == runner.DONE_NOW
        return {kind: count - before[kind] for kind, count in _items_per_kind().items()}


def _rows(app, tenant_id, model, *where):
    with app.app_context(), tenant_scope(tenant_id):
        rows = db.session.scalars(select(model).where(*where).order_by(model.id)).all()
        for row in rows:
            db.session.expunge(row)
        db.session.rollback()
        return rows


def _coordinators(app, tenant_id) -> list[int]:
    with app.app_context():
        return sorted(db.session.scalars(select(User.id).join(Membership).where(
            Membership.municipality_id == tenant_id, Membership.role == R.COORDINATOR)))


def _now_at_nine(day: date) -> datetime:
    return at_local(day, time(9, 0)) + timedelta(minutes=1)


# ----------------------------------------------------------------------------- VOG

@pytest.mark.parametrize("months", [1, 6, 12, 13, 36, 40, 240])
def test_a_vog_stops_counting_on_the_first_day_the_plugin_refuses_it(months):
    """The day found agrees with the screening.vog plugin's own rule, also past the ends of short months."""
    for issued in [date(2023, 1, 28) + timedelta(days=n) for n in range(0, 70)] + [date(2024, 2, 29)]:
        stops = vog_stops_on(issued, months)
        assert issued < months_before(stops, months), (issued, months)  # refused on that day
        assert issued >= months_before(stops - timedelta(days=1), months), (issued, months)  # counted the day before


def _supporting(app, world, slug: str):
    """The supporting family of *slug* (tests/conftest.py populate) and its adult member."""
    family_id = world.records[slug]["supporting"]
    with app.app_context(), tenant_scope(world.ids[slug]):
        member_id = db.session.scalar(select(Member.id).where(Member.family_id == family_id))
    return family_id, member_id


def _set_vog(app, tenant_id, member_id, issued):
    with app.app_context(), tenant_scope(tenant_id):
        db.session.get(Member, member_id).vog_issued_on = issued
        db.session.commit()


def test_a_vog_about_to_expire_warns_once_and_a_renewal_resolves_it(app, world):
    aalten, berkelland = world.ids["aalten"], world.ids["berkelland"]
    today = date.today()
    family_id, member_id = _supporting(app, world, "aalten")
    issued = months_before(today + timedelta(days=30), 36)  # no policy in Aalten: 36 months
    _set_vog(app, aalten, member_id, issued)
    _set_vog(app, berkelland, _supporting(app, world, "berkelland")[1], months_before(today + timedelta(days=90), 36))
    now = utcnow()

    assert _dispatch(app, now)["vog_expiring"] == 1  # Berkelland's expires in 90 days: not yet
    (work,) = _rows(app, aalten, WorkItem, WorkItem.kind == "vog_expiring")
    stops = vog_stops_on(issued, 36)
    assert (work.family_id, work.due_on, work.resolved_at) == (family_id, stops, None)
    assert work.key == f"vog_expiring:{member_id}:{issued.isoformat()}"
    assert work.message["code"] == "vog_expiring" and work.message["params"]["family"] == family_id
    sent = _rows(app, aalten, Notification, Notification.kind == "vog_expiring")
    assert sorted(n.user_id for n in sent) == _coordinators(app, aalten) and len(sent) == 3
    assert {n.work_item_id for n in sent} == {work.id} and {n.subject_id for n in sent} == {family_id}

    assert _dispatch(app, now + timedelta(minutes=1))["vog_expiring"] == 0  # nothing twice
    assert len(_rows(app, aalten, WorkItem, WorkItem.kind == "vog_expiring")) == 1
    assert len(_rows(app, aalten, Notification, Notification.kind == "vog_expiring")) == 3

    _set_vog(app, aalten, member_id, today)  # renewed
    _dispatch(app, now + timedelta(minutes=2))
    (work,) = _rows(app, aalten, WorkItem, WorkItem.kind == "vog_expiring")
    assert work.resolved_at is not None

    # the renewed VOG warns again when its own time comes
    later = _now_at_nine(vog_stops_on(today, 36) - timedelta(days=59))
    assert _dispatch(app, later)["vog_expiring"] >= 1  # (and the other municipalities', long expired by then)
    renewed = _rows(app, aalten, WorkItem, WorkItem.kind == "vog_expiring", WorkItem.resolved_at.is_(None))
    assert [w.key for w in renewed] == [f"vog_expiring:{member_id}:{today.isoformat()}"]


def test_the_validity_is_the_municipalitys_policy_and_an_expired_vog_warns_once(app, world):
    aalten, druten = world.ids["aalten"], world.ids["druten"]
    today = date.today()
    with app.app_context():
        enable_policy(druten, {"screening.vog": {"max_age_years": 2}})
    _, druten_member = _supporting(app, world, "druten")
    aalten_family, aalten_member = _supporting(app, world, "aalten")
    issued = months_before(today + timedelta(days=20), 24)
    _set_vog(app, druten, druten_member, issued)  # stops in 20 days under Druten's 24 months
    _set_vog(app, aalten, aalten_member, issued)  # counts for a year more under Aalten's 36 months
    with app.app_context(), tenant_scope(aalten):
        family = db.session.get(Family, aalten_family)
        old = families.add_member(family, {"role": "adult", "first_name": "Piet", "vog_issued_on": date(2020, 5, 1)})
        child = families.add_member(family, {"role": "child", "first_name": "Kim", "date_of_birth": today.replace(
            year=today.year - 10), "vog_issued_on": date(2020, 5, 1)})
        db.session.commit()
        old_id, child_id = old.id, child.id

    assert _dispatch(app, utcnow())["vog_expiring"] == 2
    (druten_work,) = _rows(app, druten, WorkItem, WorkItem.kind == "vog_expiring")
    assert druten_work.due_on == vog_stops_on(issued, 24) and druten_work.message["code"] == "vog_expiring"
    (aalten_work,) = _rows(app, aalten, WorkItem, WorkItem.kind == "vog_expiring")
    assert aalten_work.key == f"vog_expiring:{old_id}:2020-05-01"  # not the child's
    assert aalten_work.message["code"] == "vog_expired" and aalten_work.message["params"]["member"] == 2
    assert str(child_id) not in " ".join(w.key for w in _rows(app, aalten, WorkItem))
    assert _dispatch(app, utcnow() + timedelta(days=1))["vog_expiring"] == 0  # warned once

    with app.app_context(), tenant_scope(aalten):  # the family stops: its work item resolves
        families.change_status(db.session.get(Family, aalten_family), "closed", "stopped")
        db.session.commit()
    _dispatch(app, utcnow() + timedelta(days=2))
    (aalten_work,) = _rows(app, aalten, WorkItem, WorkItem.kind == "vog_expiring")
    assert aalten_work.resolved_at is not None
    assert _rows(app, druten, WorkItem, WorkItem.kind == "vog_expiring")[0].resolved_at is None


# ----------------------------------------------------------------------------- review of a supporting family

def _became_active(app, tenant_id, family_id, at: datetime):
    with app.app_context(), tenant_scope(tenant_id):
        db.session.execute(update(FamilyStatusChange).where(FamilyStatusChange.family_id == family_id)
                           .values(at=at).execution_options(synchronize_session=False))
        db.session.commit()


def test_a_supporting_family_without_an_evaluation_for_a_year_gets_a_review(app, world):
    aalten, druten = world.ids["aalten"], world.ids["druten"]
    today = date.today()
    family_id, _ = _supporting(app, world, "aalten")
    since = today - timedelta(days=400)
    _became_active(app, aalten, family_id, at_local(since, time(12, 0)))
    # Druten's became active 11 months ago (and was matched since, which does not count): not yet
    _became_active(app, druten, world.records["druten"]["supporting"], at_local(months_before(today, 11), time(12)))

    assert _dispatch(app, utcnow())["supporting_review"] == 1
    (work,) = _rows(app, aalten, WorkItem, WorkItem.kind == "supporting_review")
    assert (work.family_id, work.due_on, work.key) == (family_id, add_months(since, 12),
                                                       f"supporting_review:{family_id}:{since.isoformat()}")
    assert work.message["code"] == "supporting_review"
    assert sorted(n.user_id for n in _rows(app, aalten, Notification, Notification.kind == "supporting_review")) \
        == _coordinators(app, aalten)
    assert _dispatch(app, utcnow() + timedelta(minutes=1))["supporting_review"] == 0

    # an evaluation of one of its matches is completed: the review resolves, the next is counted from it
    with app.app_context(), tenant_scope(aalten):
        evaluation = db.session.get(Evaluation, world.records["aalten"]["evaluation"])
        evaluations.complete(evaluation, {"completed_on": today, "satisfaction_requesting": 4,
                                          "satisfaction_supporting": 4, "decision": "continue"})
        db.session.commit()
    _dispatch(app, utcnow() + timedelta(minutes=2))
    assert _rows(app, aalten, WorkItem, WorkItem.kind == "supporting_review")[0].resolved_at is not None

    def open_keys():
        return [w.key for w in _rows(app, aalten, WorkItem, WorkItem.kind == "supporting_review",
                                     WorkItem.resolved_at.is_(None))]

    _dispatch(app, _now_at_nine(add_months(today, 12) - timedelta(days=1)))
    assert open_keys() == []
    _dispatch(app, _now_at_nine(add_months(today, 12)))
    assert open_keys() == [f"supporting_review:{family_id}:{today.isoformat()}"]


def test_a_review_counts_from_becoming_active_and_resolves_when_the_family_is_closed(app, world):
    aalten = world.ids["aalten"]
    family_id, _ = _supporting(app, world, "aalten")
    with app.app_context(), tenant_scope(aalten):
        family = families.create({"kind": "supporting", "display_name": "Familie Smit", "status": "available",
                                  "registered_on": date.today() - timedelta(days=900)})
        db.session.commit()
        other = family.id
    # registered long ago, available since today: not due (became active counts, not registered_on)
    _became_active(app, aalten, family_id, at_local(date.today() - timedelta(days=380), time(8)))
    assert _dispatch(app, utcnow())["supporting_review"] == 1
    with app.app_context(), tenant_scope(aalten):
        families.set_status(db.session.get(Family, family_id), "closed", "stopped")
        db.session.commit()
    _dispatch(app, utcnow() + timedelta(minutes=1))
    (work,) = _rows(app, aalten, WorkItem, WorkItem.kind == "supporting_review")
    assert work.family_id == family_id and work.resolved_at is not None
    assert other not in [w.family_id for w in _rows(app, aalten, WorkItem)]


# ----------------------------------------------------------------------------- deciding again

def _requesting(app, tenant_id, name: str, status: str, income: int | None) -> int:
    with app.app_context(), tenant_scope(tenant_id):
        family = families.create({"kind": "requesting", "display_name": name, "status": status,
                                  "household_income": income,
                                  "members": [{"role": "adult", "first_name": "Sam", "date_of_birth": date(1990, 1, 1)}]})
        decide("eligibility", family)
        db.session.commit()
        return family.id


def test_a_new_policy_version_decides_again_on_the_waiting_families_only(app, world):
    aalten = world.ids["aalten"]
    with app.app_context():
        enable_policy(aalten)  # version 1: every requesting family is eligible
    changes = _requesting(app, aalten, "Familie Boer", "waiting", None)  # no income known: not eligible by v2
    stays = _requesting(app, aalten, "Familie Visser", "intake", 500)  # a low income: eligible by v2 too
    matched = world.records["aalten"]["family"]  # matched (tests/conftest.py populate): not decided again
    with app.app_context(), tenant_scope(aalten):
        matched_before = db.session.scalar(select(Decision.id).where(Decision.family_id == matched))
    assert _dispatch(app, utcnow())["redecide"] == 0  # decided under the current version
    with app.app_context():
        enable_policy(aalten, {"eligibility.poverty": {}})  # version 2

    assert _dispatch(app, utcnow())["redecide"] == 2
    for family_id, outcomes in ((changes, ["eligible", "needs_coordinator"]), (stays, ["eligible", "eligible"])):
        found = _rows(app, aalten, Decision, Decision.family_id == family_id)
        assert [d.outcome for d in found] == outcomes and [d.policy_version for d in found] == [1, 2]
        assert found[0].findings[0]["plugin"] == "eligibility.no_conditions"  # the old decision as it was
    assert [d.id for d in _rows(app, aalten, Decision, Decision.family_id == matched)] == [matched_before]
    sent = _rows(app, aalten, Notification, Notification.kind == "redecide")
    assert sorted(n.user_id for n in sent) == _coordinators(app, aalten)
    assert {(n.subject_type, n.subject_id, n.key) for n in sent} == {("family", changes, f"redecide:{changes}:2:eligibility")}
    assert sent[0].message["code"] == "decision_changed"
    assert sent[0].message["params"]["old"] == {"label": "decision_outcome", "code": "eligible"}
    assert _dispatch(app, utcnow() + timedelta(minutes=1))["redecide"] == 0  # nothing twice
    assert len(_rows(app, aalten, Decision, Decision.family_id == changes)) == 2
