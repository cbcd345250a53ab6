"""The monthly programme review, run in-process as a worker would (SQLite and PostgreSQL).

The crafted programme of the issue: screened supporting families idle in one
district, families waiting in another district beyond reach, no match for
months, a target for the year out of reach and many families leaving at
triage. The review warns of each, naming the cause and the figures; a healthy
programme gets no warning; a ``review.standard`` policy changes the outcome;
the snapshot holds the KPI module's own figures; the consortium's review
follows its members'; nothing is stored twice; the API answers a
municipality's and a consortium's own rows only.
"""
from __future__ import annotations

import json
from datetime import date, datetime, time, timezone

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select, update

from core.auth import roles as R
from core.extensions import db
from core.messages import Message, render
from core.programme import kpis
from core.programme import vocabulary as V
from core.programme.models import Family, FamilyStatusChange, Match, ProgrammeTarget
from core.scheduling import dispatch, review, runner
from core.scheduling.models import ConsortiumKpiSnapshot, EarlyWarning, KpiSnapshot, Notification, ScheduledItem
from core.scheduling.registry import at_local
from tenants import onboarding
from tenants.context import cross_tenant_scope, tenant_scope
from tenants.models import Municipality
from tests.conftest import add_user, enable_policy

MONTH = date(2026, 5, 1)  # the month reviewed
END = date(2026, 5, 31)  # its last day: the reference date
NOW = at_local(date(2026, 6, 1), time(6, 30))  # just after the review fell due
HOME, FAR = (51.93, 6.58), (52.11, 6.58)  # 0.18° of latitude apart: 20.0 km as the crow flies
KINDS = (review.MUNICIPALITY, review.CONSORTIUM)
ALL_CODES = {"no_new_match", "long_wait", "district_out_of_reach", "idle_supporting", "triage_leaving",
             "target_out_of_reach"}


def _family(kind, status, registered_on, **values) -> Family:
    f = Family(kind=kind, display_name=f"Familie {kind}", status=status, registered_on=registered_on, **values)
    db.session.add(f)
    db.session.flush()
    return f


def stuck_programme() -> None:
    """Aalten in May 2026 (hand counts in the comments)."""
    volunteers = [_family(V.SUPPORTING, V.AVAILABLE, date(2025, 10, 1), district_code="WK019701", latitude=HOME[0],
                          longitude=HOME[1]) for _ in range(3)]  # screened in district WK019701
    # idle: the first since 1 October 2025 (242 days on 31 May), the second since it became available again
    # on 1 December (Dutch time); the third's match ended on 15 March, less than three months before 31 May
    db.session.add(FamilyStatusChange(family_id=volunteers[1].id, from_status=V.PAUSED, to_status=V.AVAILABLE,
                                      at=datetime(2025, 11, 30, 23, 30, tzinfo=timezone.utc)))
    db.session.add(Match(requesting_family_id=_family(V.REQUESTING, V.CLOSED, date(2025, 9, 1)).id,
                         supporting_family_id=volunteers[2].id, state=V.ENDED, proposed_on=date(2025, 10, 1),
                         trial_on=date(2025, 11, 1), ended_on=date(2026, 3, 15)))
    for _ in range(4):  # waiting since 10 January: 141 days; district WK019702, 20 km from the volunteers
        _family(V.REQUESTING, V.WAITING, date(2026, 1, 10), district_code="WK019702", latitude=FAR[0],
                longitude=FAR[1])
    # the last match started on 1 December 2025: 181 days, 25 whole weeks, before 31 May
    old = Match(requesting_family_id=_family(V.REQUESTING, V.CLOSED, date(2025, 9, 1)).id,
                supporting_family_id=_family(V.SUPPORTING, V.CLOSED, date(2025, 9, 1)).id, state=V.ENDED,
                proposed_on=date(2025, 11, 1), trial_on=date(2025, 12, 1), ended_on=date(2026, 2, 1))
    db.session.add(old)
    # triaged in March to May: 2 fit, 3 too heavy, 2 declined: 5 of 7 leave (71 %)
    for outcome, n in (("fits", 2), ("too_heavy_referred", 3), ("declined_by_family", 2)):
        for _ in range(n):
            _family(V.REQUESTING, V.CLOSED, date(2026, 3, 1), triage_outcome=outcome, triage_on=date(2026, 4, 1))
    db.session.add(ProgrammeTarget(year=2026, new_matches_min=10, new_matches_max=15))  # none started in 2026


def healthy_programme() -> None:
    """Berkelland in May 2026: a match started, the one waiting family has a volunteer in its district."""
    _family(V.REQUESTING, V.WAITING, date(2026, 5, 1), district_code="WK185901", latitude=HOME[0], longitude=HOME[1])
    _family(V.SUPPORTING, V.AVAILABLE, date(2026, 4, 15), district_code="WK185901", latitude=HOME[0],
            longitude=HOME[1])
    requesting = _family(V.REQUESTING, V.MATCHED, date(2026, 3, 1), triage_outcome="fits", triage_on=date(2026, 3, 10))
    supporting = _family(V.SUPPORTING, V.MATCHED, date(2026, 2, 1))
    db.session.add(Match(requesting_family_id=requesting.id, supporting_family_id=supporting.id, state=V.TRIAL,
                         proposed_on=date(2026, 4, 20), introduction_on=date(2026, 5, 1), trial_on=date(2026, 5, 10)))
    db.session.add(ProgrammeTarget(year=2026, new_matches_min=2))  # 1 by 31 May, 0.8 expected pro rata


@pytest.fixture
def region(app):
    """Achterhoek (Aalten: stuck, Berkelland: healthy) and Nijmegen (Druten: empty), onboarded in 2025."""
    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        achterhoek = onboarding.add_consortium("Achterhoek", "achterhoek")
        nijmegen = onboarding.add_consortium("Nijmegen", "nijmegen-regio")
        towns = {slug: onboarding.add_municipality(consortium, name=slug.title(), cbs_code=code, slug=slug,
                                                   inhabitants=25000)
                 for slug, code, consortium in (("aalten", "GM0197", achterhoek), ("berkelland", "GM1859", achterhoek),
                                                ("druten", "GM0225", nijmegen))}
        for role in (R.COORDINATOR, R.TENANT_ADMIN):
            add_user(f"{role}@aalten.example", role, municipality=towns["aalten"])
        db.session.commit()
        ids = {slug: town.id for slug, town in towns.items()} | {"achterhoek": achterhoek.id}
    _backdate(app)
    for slug, make in (("aalten", stuck_programme), ("berkelland", healthy_programme)):
        with app.app_context(), tenant_scope(ids[slug]):
            make()
            db.session.commit()
    return ids


def _backdate(app) -> None:
    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        db.session.execute(update(Municipality).values(created_at=datetime(2025, 1, 1, tzinfo=timezone.utc)))
        db.session.commit()


def run_reviews(now: datetime = NOW) -> dict:
    """Dispatch at *now* and run the reviews found, as a worker does; again, for the consortia that follow
    their members. Returns what each run answered, by item key."""
    answers = {}
    for _ in range(2):
        dispatch.collect(now)
        with cross_tenant_scope("scheduler"):
            items = db.session.execute(select(ScheduledItem.id, ScheduledItem.key, ScheduledItem.tenant_id)
                                       .where(ScheduledItem.kind.in_(KINDS), ScheduledItem.state == "pending")).all()
            db.session.rollback()
        for item in items:
            with runner.scope(item.tenant_id, None if item.tenant_id else "consortium-aggregation"):
                answers[item.key] = runner.run(item.id)
    return answers


def review_last_months(app, months: int = 2) -> None:
    """Backdate every municipality's onboarding and run the reviews of the last *months* completed months:
    rows for the lists of the API convention's tests."""
    _backdate(app)
    first = date.today().replace(day=1)
    with app.app_context():
        for back in range(months - 1, -1, -1):
            run_reviews(at_local(first - relativedelta(months=back), time(6, 30)))


def warnings_of(tenant_id: int) -> dict[str, EarlyWarning]:
    with tenant_scope(tenant_id):
        rows = db.session.scalars(select(EarlyWarning).order_by(EarlyWarning.id)).all()
        detach()
    return {row.code: row for row in rows}


def detach() -> None:
    """Keep the rows read as they are, and end the transaction."""
    db.session.expunge_all()
    db.session.rollback()


def text(row: EarlyWarning, language: str) -> str:
    return render(Message.from_dict(row.message), language)


def test_the_stuck_programme_gets_each_warning_naming_its_cause_and_figures(app, region):
    with app.app_context():
        answers = run_reviews()
        assert answers[f"programme_review:{region['aalten']}:2026-05"] == runner.DONE_NOW
        found = warnings_of(region["aalten"])
        assert set(found) == ALL_CODES

        assert found["no_new_match"].figures == {"weeks": 25, "families_waiting": 4,
                                                 "last_match_started_on": "2025-12-01", "threshold_weeks": 8}
        assert text(found["no_new_match"], "en") == (
            "No new match in 25 weeks while families wait: 4 on the waiting list (threshold: 8 weeks).")
        assert text(found["no_new_match"], "nl") == (
            "Geen nieuwe koppeling in 25 weken terwijl gezinnen wachten: 4 op de wachtlijst (drempel: 8 weken).")

        district = found["district_out_of_reach"]
        assert district.subject == "WK019702"
        assert district.figures == {"district_code": "WK019702", "families_waiting": 4, "nearest_available_km": 20.0,
                                    "reach_km": 5.0}
        assert text(district, "en") == (
            "District WK019702: 4 families wait, and no available supporting family lives in the district or within "
            "5 km (the nearest: 20 km away).")
        assert "Wijk WK019702: 4 gezinnen wachten" in text(district, "nl")

        assert found["long_wait"].figures == {"longest_days": 141, "median_days": 141, "families_waiting": 4,
                                              "threshold_days": 90}
        assert text(found["long_wait"], "en").startswith("The longest wait is 141 days, above the target of 90 days")
        assert found["idle_supporting"].figures == {"idle_supporting_families": 2, "longest_idle_days": 242,
                                                    "families_waiting": 4, "threshold_months": 3}
        assert text(found["idle_supporting"], "en") == (
            "2 screened supporting families have had no match for 3 months or more (the longest for 242 days), "
            "while 4 families wait.")
        assert found["triage_leaving"].figures["leaving"] == 5 and found["triage_leaving"].figures["triaged"] == 7
        assert text(found["triage_leaving"], "en").startswith(
            "5 of the 7 families triaged in the last three months left at triage (71%): 3 too heavy and referred on, "
            "2 declined by the family")
        target = found["target_out_of_reach"]
        assert target.figures | {"pro_rata_min": None} == {
            "year": 2026, "new_matches": 0, "counted_until": "2026-05-31", "projected_new_matches": 0,
            "new_matches_min": 10, "pro_rata_min": None, "threshold_from_month": 3}
        assert "0 new matches by May 31, 2026" in text(target, "en")

        with tenant_scope(region["aalten"]):  # both staff were told of each warning, once
            told = db.session.execute(select(Notification.user_id, Notification.key)).all()
            db.session.rollback()
        assert len(told) == 2 * len(ALL_CODES)
        assert f"early_warning:{region['aalten']}:2026-05:district_out_of_reach:WK019702" in {k for _, k in told}


def test_a_healthy_programme_gets_no_warning_and_the_snapshot_is_the_kpi_modules(app, region):
    with app.app_context():
        run_reviews()
        assert warnings_of(region["berkelland"]) == {}
        for slug in ("aalten", "berkelland"):
            with tenant_scope(region[slug]):
                snapshot = db.session.scalar(select(KpiSnapshot))
                expected = kpis.municipality_kpis(region[slug], kpis.Period(MONTH, END), END).to_dict()
                detach()
            assert snapshot.period == MONTH
            assert snapshot.figures == json.loads(json.dumps(expected))
        assert snapshot.figures["matches"]["started"] == 1  # Berkelland's match of May


def test_the_policys_thresholds_change_the_outcome(app, region):
    with app.app_context():
        enable_policy(region["aalten"], {"review.standard": {
            "no_match_weeks": 30, "longest_wait_days": 180, "reach_km": 25, "idle_supporting_months": 12,
            "triage_leaving_min": 6}})
        run_reviews()
        found = warnings_of(region["aalten"])
        assert set(found) == {"target_out_of_reach"}  # the one threshold left at its default
        enable_policy(region["aalten"], {"review.standard": {"reach_km": 19.5}})  # a month later: 20 km is out
        run_reviews(at_local(date(2026, 7, 1), time(6, 30)))
        with tenant_scope(region["aalten"]):
            june = db.session.scalar(select(EarlyWarning).where(EarlyWarning.period == date(2026, 6, 1),
                                                                EarlyWarning.code == "district_out_of_reach"))
            detach()
        assert june.figures["reach_km"] == 19.5 and "within 19.5 km" in text(june, "en")


def test_the_review_stores_nothing_twice_and_the_consortium_follows_its_members(app, region):
    with app.app_context():
        with cross_tenant_scope("scheduler"):  # the members first: no consortium item while theirs are pending
            assert review.find_consortia(NOW) == []
            db.session.rollback()
        answers = run_reviews()
        assert answers[f"consortium_review:{region['achterhoek']}:2026-05"] == runner.DONE_NOW

        def stored():
            with cross_tenant_scope("platform-maintenance"):
                counts = tuple(db.session.scalar(select(func.count()).select_from(table)) for table in (
                    ScheduledItem, KpiSnapshot, EarlyWarning, Notification, ConsortiumKpiSnapshot))
                db.session.rollback()
            return counts

        before = stored()
        assert run_reviews() == {}  # found nothing new
        with cross_tenant_scope("scheduler"):
            item = db.session.scalar(select(ScheduledItem).where(ScheduledItem.kind == review.MUNICIPALITY))
            detach()
        with runner.scope(item.tenant_id, None):
            assert runner.run(item.id) == runner.NOTHING_TO_DO  # done already
            review.run_municipality(item)  # the work itself again, as a re-run by hand would
            db.session.commit()
        assert stored() == before

        with cross_tenant_scope("consortium-aggregation"):
            snapshot = db.session.scalar(select(ConsortiumKpiSnapshot))
            members = [region["aalten"], region["berkelland"]]
            expected = kpis.consortium_kpis(members, kpis.Period(MONTH, END), END).total.to_dict()
            detach()
        assert (snapshot.consortium_id, snapshot.period) == (region["achterhoek"], MONTH)
        assert snapshot.figures["total"] == json.loads(json.dumps(expected))
        assert snapshot.figures["warnings"] == len(ALL_CODES)
        assert [(m["municipality_id"], m["reviewed"], m["warnings"]) for m in snapshot.figures["members"]] == [
            (region["aalten"], True, 6), (region["berkelland"], True, 0)]
        with cross_tenant_scope("scheduler"):  # Nijmegen's Druten was reviewed too, with nothing to warn of
            keys = set(db.session.scalars(select(ScheduledItem.key)))
            db.session.rollback()
        assert f"programme_review:{region['druten']}:2026-05" in keys


def test_no_backfill_and_no_review_of_a_month_before_a_municipality_existed(app, region):
    with app.app_context():
        with cross_tenant_scope("scheduler"):
            assert {d.key.rsplit(":", 1)[1] for d in review.find_municipalities(NOW)} == {"2026-05"}
            before = review.find_municipalities(at_local(date(2025, 1, 1), time(7)))  # reviews December 2024
            db.session.rollback()
        assert before == []


# --- the API -----------------------------------------------------------------------------------------------


def test_the_api_answers_a_municipalitys_and_a_consortiums_own_review_only(app, client, world):
    _backdate(app)
    with app.app_context():
        run_reviews()
    coordinator, druten = world.bearer(R.COORDINATOR), world.bearer("druten")
    snapshots = client.get("/api/v1/aalten/kpis/snapshots", headers=coordinator)
    assert snapshots.status_code == 200
    assert [s["period"] for s in snapshots.get_json()["items"]] == ["2026-05-01"]
    assert snapshots.get_json()["items"][0]["figures"]["period_start"] == "2026-05-01"
    assert client.get("/api/v1/aalten/kpis/snapshots?from=2026-06", headers=coordinator).get_json()["items"] == []
    assert client.get("/api/v1/aalten/kpis/snapshots?from=2026-6", headers=coordinator).status_code == 422

    warnings = client.get("/api/v1/aalten/early-warnings", headers=world.bearer(R.TENANT_ADMIN)).get_json()["items"]
    assert warnings, "the populated world waits in a district without a supporting family"
    first = warnings[0]
    assert {"code", "subject", "figures", "message", "params", "period"} <= set(first)
    english = client.get("/api/v1/aalten/early-warnings", headers={**coordinator, "Accept-Language": "en"})
    assert english.get_json()["items"][0]["message"] != first["message"]  # Dutch unless asked otherwise
    assert client.get("/api/v1/aalten/early-warnings?code=nonsense", headers=coordinator).status_code == 422

    # another municipality's coordinator, and a funder, get nothing of Aalten's
    for path in ("/api/v1/aalten/kpis/snapshots", "/api/v1/aalten/early-warnings"):
        assert client.get(path, headers=druten).status_code == 404
        assert client.get(path, headers=world.bearer(R.FUNDER)).status_code == 403
    theirs = client.get("/api/v1/druten/early-warnings", headers=druten).get_json()["items"]
    assert not {w["id"] for w in warnings} & {w["id"] for w in theirs}

    admin = world.bearer(R.CONSORTIUM_ADMIN)
    regional = client.get("/api/v1/consortia/achterhoek/kpis/snapshots", headers=admin)
    assert regional.status_code == 200
    (snapshot,) = regional.get_json()["items"]
    assert {m["municipality_id"] for m in snapshot["figures"]["members"]} == {world.ids["aalten"],
                                                                              world.ids["berkelland"]}
    assert client.get("/api/v1/consortia/nijmegen-regio/kpis/snapshots", headers=admin).status_code == 404
    assert client.get("/api/v1/consortia/achterhoek/kpis/snapshots", headers=coordinator).status_code == 404
