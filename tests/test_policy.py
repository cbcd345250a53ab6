"""Per-municipality policies through the API: versions, validation, templates, decisions, preview, suggestions."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from core.auth import roles as R
from core.extensions import db
from core.policy import service
from core.programme.models import Evaluation
from tenants.context import tenant_scope

from tests.conftest import OPEN_POLICY, if_match

POVERTY_120 = {"eligibility.poverty": {"percentage": 120}, "eligibility.exclusions": {}}
NO_CONDITIONS = {"eligibility.no_conditions": {}, "eligibility.exclusions": {}}


def _put(client, world, slug, plugins, token=R.TENANT_ADMIN, **extra):
    headers = world.bearer(token) if slug == "aalten" else world.bearer("druten")
    return client.put(f"/api/v1/{slug}/policy", json={"plugins": plugins, **extra}, headers=headers)


def _same_family(api_client, headers, slug, income):
    """A single parent with two children and the given income, registered in *slug*."""
    body = {"kind": "requesting", "display_name": "Familie Gelijk", "household_income": income,
            "problem_areas": ["overload"], "members": [
                {"role": "adult", "first_name": "Sanne", "date_of_birth": "1991-02-03"},
                {"role": "child", "first_name": "Noor", "date_of_birth": "2019-04-05"},
                {"role": "child", "first_name": "Mees", "date_of_birth": "2021-06-07"}]}
    response = api_client.post(f"/api/v1/{slug}/families", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_two_municipalities_decide_differently_on_the_same_facts(client, world):
    assert _put(client, world, "aalten", POVERTY_120).status_code == 201
    assert _put(client, world, "druten", NO_CONDITIONS).status_code == 201
    aalten, druten = world.bearer(R.COORDINATOR), world.bearer("druten")
    in_aalten = _same_family(client, aalten, "aalten", income=2000)
    in_druten = _same_family(client, druten, "druten", income=2000)
    a = client.post(f"/api/v1/aalten/families/{in_aalten}/eligibility-decision", headers=aalten).get_json()
    d = client.post(f"/api/v1/druten/families/{in_druten}/eligibility-decision", headers=druten).get_json()
    assert (a["outcome"], a["policy_version"]) == ("not_eligible", 1)
    assert (d["outcome"], d["policy_version"]) == ("eligible", 1)
    poverty = next(f for f in a["findings"] if f["rule"] == "eligibility.poverty")
    assert poverty["result"] == "not_met" and poverty["plugin_version"] == "1.0.0"
    assert poverty["facts"]["income"] == 2000 and poverty["facts"]["threshold"] == 1680
    assert "ligt boven de grens" in poverty["explanation"]  # Dutch first: no Accept-Language asked for English
    english = client.get(f"/api/v1/aalten/families/{in_aalten}/decisions",
                         headers={**aalten, "Accept-Language": "en"}).get_json()["items"][0]
    assert "above the limit" in next(f for f in english["findings"] if f["rule"] == "eligibility.poverty")["explanation"]
    assert any(f["rule"] == "eligibility.no_conditions" and f["result"] == "met" for f in d["findings"])


def test_a_policy_change_and_a_new_decision_keep_both_in_the_history(client, world):
    _put(client, world, "aalten", POVERTY_120)
    coordinator = world.bearer(R.COORDINATOR)
    family = _same_family(client, coordinator, "aalten", income=1600)
    first = client.post(f"/api/v1/aalten/families/{family}/eligibility-decision", headers=coordinator).get_json()
    assert first["outcome"] == "eligible"  # 1600 <= 1680
    changed = _put(client, world, "aalten", {**POVERTY_120, "eligibility.poverty": {"percentage": 110}},
                   note="Armoedegrens naar 110 %")
    assert changed.status_code == 201
    assert changed.get_json()["change"]["reconfigured"] == {"eligibility.poverty": {"percentage": [120, 110]}}
    second = client.post(f"/api/v1/aalten/families/{family}/eligibility-decision", headers=coordinator).get_json()
    assert (second["outcome"], second["policy_version"]) == ("not_eligible", 2)  # 1600 > 1540
    history = client.get(f"/api/v1/aalten/families/{family}/decisions", headers=coordinator).get_json()["items"]
    assert [(d["outcome"], d["policy_version"]) for d in history] == [("not_eligible", 2), ("eligible", 1)]
    versions = client.get("/api/v1/aalten/policy/versions", headers=world.bearer(R.TENANT_ADMIN)).get_json()["items"]
    assert [v["version"] for v in versions] == [2, 1] and versions[0]["note"] == "Armoedegrens naar 110 %"


def test_a_bad_configuration_is_refused_and_the_old_policy_stays(client, world, owner_engine):
    _put(client, world, "aalten", POVERTY_120)
    bad = _put(client, world, "aalten", {"eligibility.poverty": {"percentage": 5000}, "eligibility.nonsense": {}})
    assert bad.status_code == 422
    errors = bad.get_json()["errors"]["json"]["plugins"]
    assert "percentage" in errors["eligibility.poverty"] and errors["eligibility.nonsense"] == ["no such plugin is installed"]
    two_funding = _put(client, world, "aalten", {"funding.lump_sum": {}, "funding.per_match": {}})
    assert "one funding plugin at a time" in two_funding.get_json()["errors"]["json"]["plugins"]["_policy"][0]
    current = client.get("/api/v1/aalten/policy", headers=world.bearer(R.TENANT_ADMIN)).get_json()
    assert current["version"] == 1 and current["plugins"]["eligibility.poverty"]["percentage"] == 120
    same = _put(client, world, "aalten", POVERTY_120)
    assert same.status_code == 409


def test_the_catalogue_lists_installed_plugins_and_only_enabled_ones_run(client, world):
    _put(client, world, "aalten", POVERTY_120)
    body = client.get("/api/v1/aalten/policy", headers=world.bearer(R.TENANT_ADMIN)).get_json()
    catalogue = {p["name"]: p for p in body["catalogue"]}
    assert catalogue["eligibility.poverty"]["enabled"] and not catalogue["eligibility.kopp_kov"]["enabled"]
    assert catalogue["eligibility.kopp_kov"]["title"]["nl"] and catalogue["eligibility.kopp_kov"]["default_config"] is not None
    assert {"eligibility", "screening", "funding", "report_format", "matching", "evaluation_plan",
            "outcome_instrument"} <= {p["kind"] for p in body["catalogue"]}


def test_policy_changes_are_audited(client, world, owner_engine):
    _put(client, world, "aalten", POVERTY_120)
    with owner_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
        row = conn.execute(text("SELECT actor, tenant_id FROM audit_event WHERE action = 'policy.change'")).one()
    assert row.actor == "token:tenant_admin token" and row.tenant_id == world.ids["aalten"]


def test_only_tenant_admins_change_the_policy(client, world):
    assert _put(client, world, "aalten", POVERTY_120, token=R.COORDINATOR).status_code == 403


def test_new_members_start_from_the_template_and_deviations_are_listed(app, client, world):
    admin = world.bearer(R.CONSORTIUM_ADMIN)
    template = {"eligibility.kopp_kov": {}, "eligibility.exclusions": {}, "screening.vog": {}}
    assert client.put("/api/v1/consortia/achterhoek/policy-template", json={"plugins": template},
                      headers=admin).status_code == 200
    created = client.post("/api/v1/consortia/achterhoek/municipalities", headers=admin,
                          json={"name": "Lochem", "cbs_code": "GM0262", "slug": "lochem", "inhabitants": 34000})
    assert created.status_code == 201
    with app.app_context():
        lochem_id = db.session.execute(text("SELECT id FROM municipality WHERE slug = 'lochem'")).scalar()
        assert service.current(lochem_id).plugins.keys() == template.keys()
    _put(client, world, "aalten", POVERTY_120)
    deviations = {d["municipality"]: d for d in client.get("/api/v1/consortia/achterhoek/policy-deviations",
                                                           headers=admin).get_json()}
    assert deviations["lochem"] == {"municipality": "lochem", "enabled": [], "disabled": [], "reconfigured": {}}
    assert deviations["aalten"]["enabled"] == ["eligibility.poverty"]
    assert deviations["aalten"]["disabled"] == ["eligibility.kopp_kov", "screening.vog"]
    assert deviations["berkelland"]["disabled"] == ["eligibility.exclusions", "eligibility.kopp_kov", "screening.vog"]


def test_the_impact_preview_counts_without_writing(client, world, owner_engine):
    _put(client, world, "aalten", POVERTY_120)
    coordinator = world.bearer(R.COORDINATOR)
    incomes = [1500, 1650, 1700, 1800, 2500]  # thresholds: 120 % = 1680, 130 % = 1820
    for income in incomes:
        _same_family(client, coordinator, "aalten", income=income)
    with owner_engine.begin() as conn:
        before = conn.execute(text("SELECT count(*) FROM policy_version")).scalar()
    preview = client.post("/api/v1/aalten/policy/preview", headers=world.bearer(R.TENANT_ADMIN),
                          json={"plugins": {**POVERTY_120, "eligibility.poverty": {"percentage": 130}}}).get_json()
    assert len(preview["become_eligible"]) == 2  # 1700 and 1800
    assert preview["lose_eligibility"] == []
    assert preview["summary"].startswith("2 of ")
    stricter = client.post("/api/v1/aalten/policy/preview", headers=world.bearer(R.TENANT_ADMIN),
                           json={"plugins": {**POVERTY_120, "eligibility.poverty": {"percentage": 100}}}).get_json()
    assert len(stricter["lose_eligibility"]) == 2  # 1500 and 1650 are above 1400
    with owner_engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM policy_version")).scalar() == before


def test_no_enabled_rules_means_a_coordinator_decides(client, world):
    coordinator = world.bearer(R.COORDINATOR)
    family = _same_family(client, coordinator, "aalten", income=1000)
    decision = client.post(f"/api/v1/aalten/families/{family}/eligibility-decision", headers=coordinator).get_json()
    assert decision["outcome"] == "needs_coordinator" and decision["policy_version"] is None
    assert decision["findings"][0]["message"]["code"] == "no_applicable_rule"
    assert "Geen regel voor toelating" in decision["findings"][0]["explanation"]


def test_triage_runs_the_eligibility_plugins(client, world):
    _put(client, world, "aalten", NO_CONDITIONS)
    coordinator = world.bearer(R.COORDINATOR)
    family = _same_family(client, coordinator, "aalten", income=1000)
    path = f"/api/v1/aalten/families/{family}/triage"
    client.post(path, json={"outcome": "too_heavy_referred"}, headers=if_match(client, path, coordinator))
    latest = client.get(f"/api/v1/aalten/families/{family}/decisions", headers=coordinator).get_json()["items"][0]
    assert latest["outcome"] == "not_eligible"
    assert any(f["effect"] == "exclude" and f["result"] == "met" for f in latest["findings"])


def test_screening_of_a_supporting_family(client, world):
    _put(client, world, "aalten", {"screening.vog": {}, "screening.references": {}})
    coordinator = world.bearer(R.COORDINATOR)
    family = world.records["aalten"]["supporting"]  # one adult with a recent VOG, no references checked
    decision = client.post(f"/api/v1/aalten/families/{family}/screening-decision", headers=coordinator).get_json()
    results = {f["rule"]: f["result"] for f in decision["findings"]}
    assert results == {"screening.vog": "pass", "screening.references": "missing"}
    assert decision["outcome"] == "needs_coordinator"


def _create(client, headers, body, *statuses):
    family = client.post("/api/v1/aalten/families", json=body, headers=headers)
    assert family.status_code == 201, family.get_json()
    for status in statuses:
        path = f"/api/v1/aalten/families/{family.get_json()['id']}/status"
        moved = client.post(path, json={"status": status}, headers=if_match(client, path, headers))
        assert moved.status_code == 200, moved.get_json()
    return family.get_json()["id"]


MATCHING = {"matching.proximity": {}, "matching.availability": {}, "matching.ages": {}, "matching.capacity": {},
            "matching.language": {}, "matching.wishes": {}}


def test_match_suggestions_are_ranked_with_reasons(client, world):
    _put(client, world, "aalten", MATCHING)
    coordinator = world.bearer(R.COORDINATOR)
    near = {"kind": "supporting", "display_name": "Dichtbij", "district_code": "WK019701",
            "neighbourhood_code": "BU01970101", "capacity_children": 2, "capacity_age_min": 0, "capacity_age_max": 12,
            "availability": {"wed": ["afternoon"]}, "languages": ["nl"]}
    far = {**near, "display_name": "Ver weg", "district_code": "WK019709", "neighbourhood_code": "BU01970909"}
    full = {**near, "display_name": "Vol", "capacity_children": 0}
    ids = {}
    for body in (near, far, full):
        ids[body["display_name"]] = _create(client, coordinator, body, "screening", "available")
    requesting = client.post("/api/v1/aalten/families", headers=coordinator, json={
        "kind": "requesting", "display_name": "Zoekt", "district_code": "WK019701", "neighbourhood_code": "BU01970101",
        "availability": {"wed": ["afternoon"]}, "languages": ["nl"],
        "members": [{"role": "adult", "first_name": "A"}, {"role": "child", "first_name": "B",
                                                            "date_of_birth": "2020-01-01"}]}).get_json()["id"]
    found = client.get(f"/api/v1/aalten/families/{requesting}/match-suggestions", headers=coordinator).get_json()
    names = [s["display_name"] for s in found]
    assert names.index("Dichtbij") < names.index("Ver weg")
    assert "Vol" not in names  # no room left: vetoed
    best = found[0]
    assert best["display_name"] == "Dichtbij" and 0 < best["score"] <= 1
    plugins = {c["plugin"] for c in best["components"]}  # wishes has nothing to judge here: no component
    assert plugins == set(MATCHING) - {"matching.wishes"}
    assert all(c["reason"] for c in best["components"])


def test_an_evaluation_plan_plugin_schedules_the_evaluations(app, client, world):
    _put(client, world, "aalten", {**OPEN_POLICY, "evaluation_plan.standard": {"trial_weeks": 4}})
    coordinator = world.bearer(R.COORDINATOR)
    supporting_id = world.records["aalten"]["supporting"]  # room for 3, 1 placed
    other = _create(client, coordinator, {"kind": "requesting", "display_name": "Nog een"}, "intake", "waiting")
    for purpose in ("processing", "evaluation_contact"):
        path = f"/api/v1/aalten/families/{other}/consents"
        client.post(path, headers=if_match(client, path, coordinator),
                    json={"purpose": purpose, "wording_version": "v1", "given_on": "2026-01-01"})
    match = client.post("/api/v1/aalten/matches", headers=coordinator, json={
        "requesting_family_id": other, "supporting_family_id": supporting_id, "proposed_on": "2026-09-01"}).get_json()
    for action in ("introduce", "start-trial"):
        tag = client.get(f"/api/v1/aalten/matches/{match['id']}", headers=coordinator).headers["ETag"]
        assert client.post(f"/api/v1/aalten/matches/{match['id']}/{action}", json={"on": "2026-10-01"},
                           headers={**coordinator, "If-Match": tag}).status_code == 200
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        due = db.session.scalars(select(Evaluation.due_on).where(Evaluation.match_id == match["id"])).all()
    assert due == [date(2026, 10, 1) + timedelta(weeks=4)]


def test_the_funding_statement_by_the_active_model(client, world):
    plugins = {"funding.lump_sum": {"amount_per_year": "36500.00", "starts_on": "2025-01-01"}, "report.csv": {}}
    assert _put(client, world, "aalten", plugins).status_code == 201
    admin = world.bearer(R.TENANT_ADMIN)
    statement = client.get("/api/v1/aalten/funding-statement?year=2025", headers=admin)
    assert statement.status_code == 200, statement.get_json()
    body = statement.get_json()
    assert body["model"] == "funding.lump_sum" and body["total"] == "36500.00"
    assert body["as_of"] == "2025-12-31"  # never after the period's end
    assert body["lines"][0]["description"].startswith("Subsidie 2025: 1 januari 2025 t/m 31 december 2025")
    avoided = body["avoided"]
    assert (avoided["expected"], avoided["low"], avoided["high"]) == ("0.00", "0.00", "0.00")
    assert avoided["method"].startswith("Geen koppeling eindigde in deze periode") and len(avoided["assumptions"]) == 4
    assert all(a["source"] is None for a in avoided["assumptions"])  # the built-in figures name no source
    before = client.get("/api/v1/aalten/funding-statement?year=2019", headers=admin).get_json()
    assert before["total"] == "0.00"  # before the subsidy began
    assert before["lines"][0]["description"] == "Geen subsidie in deze periode: de subsidie loopt vanaf 1 januari 2025."
    dated = client.get("/api/v1/aalten/funding-statement?year=2025&as_of=2025-03-31", headers=admin).get_json()
    assert dated["as_of"] == "2025-03-31" and dated["total"] == "36500.00"
    future = client.get("/api/v1/aalten/funding-statement?as_of=2999-01-01", headers=admin)
    assert future.status_code == 422 and "as_of" in future.get_json()["errors"]["query"]
    assert client.get("/api/v1/aalten/funding-statement?as_of=31-03-2025",
                      headers=admin).status_code == 422
    csv_file = client.get("/api/v1/aalten/funding-statement?year=2025&format=csv", headers=admin)
    assert csv_file.status_code == 200 and csv_file.mimetype.startswith("text/csv")
    assert "36500" in csv_file.get_data(as_text=True).replace(".", "").replace(",", "") or "36.500" in csv_file.get_data(as_text=True)
    assert client.get("/api/v1/aalten/funding-statement?year=2025&format=pdf", headers=admin).status_code == 409
    assert client.get("/api/v1/aalten/funding-statement", headers=world.bearer(R.FUNDER)).status_code == 200
    assert client.get("/api/v1/aalten/funding-statement", headers=world.bearer(R.COORDINATOR)).status_code == 403


def test_suggestions_see_a_changed_supporting_family(client, world):
    _put(client, world, "aalten", MATCHING)
    coordinator = world.bearer(R.COORDINATOR)
    supporting = _create(client, coordinator, {"kind": "supporting", "display_name": "Wisselend", "capacity_children": 2,
                                               "capacity_age_min": 0, "capacity_age_max": 12}, "screening", "available")
    requesting = _create(client, coordinator, {"kind": "requesting", "display_name": "Vraagt", "members": [
        {"role": "child", "first_name": "C", "date_of_birth": "2020-01-01"}]})
    url = f"/api/v1/aalten/families/{requesting}/match-suggestions?limit=100"
    assert "Wisselend" in [s["display_name"] for s in client.get(url, headers=coordinator).get_json()]
    tag = client.get(f"/api/v1/aalten/families/{supporting}", headers=coordinator).headers["ETag"]
    client.patch(f"/api/v1/aalten/families/{supporting}", json={"capacity_children": 0},
                 headers={**coordinator, "If-Match": tag})
    assert "Wisselend" not in [s["display_name"] for s in client.get(url, headers=coordinator).get_json()]


def test_reaching_waiting_or_available_asks_the_policy(client, world):
    _put(client, world, "aalten", {**NO_CONDITIONS, "screening.vog": {}})
    coordinator = world.bearer(R.COORDINATOR)
    requesting = _create(client, coordinator, {"kind": "requesting", "display_name": "Wacht"}, "intake", "waiting")
    supporting = _create(client, coordinator, {"kind": "supporting", "display_name": "Biedt", "members": [
        {"role": "adult", "first_name": "V", "vog_issued_on": "2026-01-05"}]}, "screening", "available")
    for family, kind, outcome in ((requesting, "eligibility", "eligible"), (supporting, "screening", "passed")):
        decisions = client.get(f"/api/v1/aalten/families/{family}/decisions", headers=coordinator).get_json()["items"]
        assert [(d["kind"], d["outcome"]) for d in decisions] == [(kind, outcome)]


def test_a_reason_is_made_only_when_shown_and_a_failing_one_does_not_sink_the_suggestion(caplog):
    from core.messages import Message
    from core.policy.suggestions import _component
    from core.policy.types import ScoreComponent

    made = []

    def reason():
        made.append(1)
        return Message("Both families speak %(languages)s.", {"languages": "Dutch"})

    component = ScoreComponent("matching.language", 1.0, 1.0, reason)
    assert made == []
    shown = _component("matching.language", component, "en")
    assert (made, shown["reason"], shown["message"]["text"]) == ([1], "Both families speak Dutch.",
                                                                 "Both families speak %(languages)s.")

    def broken():
        raise ValueError("no words")

    shown = _component("matching.language", ScoreComponent("matching.language", 0.5, 1.0, broken), "en")
    assert (shown["score"], shown["reason"], "message" in shown) == (0.5, "matching.language", False)
    assert "failed to word the reason" in caplog.text
