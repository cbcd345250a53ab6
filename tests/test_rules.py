"""The programme's rules bind: the policy gates a match, overrides are a person's with a reason, statuses and
evaluations follow what happened, and the agreed terms stay within the policy. Through the API, on both backends."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from core.auth import roles as R
from core.extensions import db
from core.programme.models import Decision, Evaluation, Family
from tenants.context import tenant_scope

from tests.conftest import OPEN_POLICY, enable_policy, if_match
from tests.test_import import post as import_post

TODAY = date.today()
AGO = (TODAY - timedelta(days=90)).isoformat()
REASON = "Het steungezin is bekend bij de school en de VOG is aangevraagd; we starten al met kennismaken."
POVERTY = {"eligibility.poverty": {}, "screening.vog": {}}


class Api:
    def __init__(self, client, world, token=R.COORDINATOR):
        self.client, self.headers = client, world.bearer(token)

    def __call__(self, method, path, json=None, headers=None):
        """A change of a family or a match carries If-Match (see ``if_match``)."""
        headers = {**self.headers, **(headers or {})}
        if method != "GET":
            headers = if_match(self.client, "/api/v1/aalten" + path, headers)
        return self.client.open("/api/v1/aalten" + path, method=method, json=json, headers=headers)

    def ok(self, method, path, json=None, status=(200, 201), headers=None):
        response = self(method, path, json, headers)
        assert response.status_code in ((status,) if isinstance(status, int) else status), response.get_json()
        return response.get_json()

    def act(self, match_id, action, body=None):
        tag = self("GET", f"/matches/{match_id}").headers["ETag"]
        return self(f"POST", f"/matches/{match_id}/{action}", body or {}, headers={"If-Match": tag})


@pytest.fixture
def api(client, world):
    return Api(client, world)


@pytest.fixture
def person(client, world):
    """A coordinator's own token: an override is made by a person."""
    return Api(client, world, "person")


def policy(app, world, plugins=None):
    with app.app_context():
        enable_policy(world.ids["aalten"], plugins)


def family(api, kind="requesting", vog=AGO, **extra) -> int:
    body = {"kind": kind, "display_name": f"Familie {kind}", "registered_on": AGO, **extra}
    if kind == "supporting":
        body.setdefault("capacity_children", 2)
        body.setdefault("members", [{"role": "adult", "first_name": "Els", "vog_issued_on": vog}])
    family_id = api.ok("POST", "/families", body)["id"]
    for purpose in ("processing", "evaluation_contact"):
        api.ok("POST", f"/families/{family_id}/consents", {"purpose": purpose, "wording_version": "v1",
                                                           "given_on": AGO})
    for status in (("intake", "waiting") if kind == "requesting" else ("screening", "available")):
        api.ok("POST", f"/families/{family_id}/status", {"status": status})
    return family_id


def propose(api, requesting, supporting, **extra):
    return api("POST", "/matches", {"requesting_family_id": requesting, "supporting_family_id": supporting,
                                    "proposed_on": (TODAY - timedelta(days=30)).isoformat(), **extra})


def audit_actions(owner_engine, action) -> list[dict]:
    with owner_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
        return [dict(r._mapping) for r in conn.execute(
            text("SELECT object_id, detail FROM audit_event WHERE action = :a"), {"a": action})]


# --- the gate -------------------------------------------------------------------------------------

def test_a_supporting_family_without_a_vog_cannot_be_proposed(app, api, world):
    policy(app, world)
    supporting = family(api, "supporting", members=[{"role": "adult", "first_name": "Els"}])
    response = propose(api, family(api), supporting)
    body = response.get_json()
    assert response.status_code == 409 and body["error"] == "match_not_allowed"
    (problem,) = body["problems"]
    assert (problem["family_id"], problem["decision_kind"], problem["outcome"]) == (supporting, "screening",
                                                                                      "needs_coordinator")
    (finding,) = problem["findings"]
    assert finding["rule"] == "screening.vog" and finding["result"] == "missing" and finding["explanation"]


def test_the_same_with_an_override_and_a_reason_succeeds_and_is_recorded(app, client, person, world, owner_engine):
    policy(app, world)
    supporting = family(person, "supporting", members=[{"role": "adult", "first_name": "Els"}])
    requesting = family(person)
    short = propose(person, requesting, supporting, override_reason="Kan wel.")
    assert short.status_code == 422 and "reason" in short.get_json()["errors"]["json"]
    response = propose(person, requesting, supporting, override_reason=REASON)
    assert response.status_code == 201, response.get_json()
    match = response.get_json()
    (override,) = match["overrides"]
    assert (override["step"], override["kind"], override["family_id"], override["reason"]) == (
        "proposed", "screening", supporting, REASON)
    assert override["confirmed_by_user_id"] == override["by_user_id"] is not None
    assert match["transitions"][0]["to_state"] == "proposed" and match["transitions"][0]["reason"] == REASON
    decisions = person.ok("GET", f"/families/{supporting}/decisions")["items"]
    assert decisions[0]["source"] == "override" and decisions[0]["outcome"] == "passed"
    assert decisions[0]["overrides_id"] == decisions[1]["id"] and decisions[1]["source"] == "policy"
    audited = audit_actions(owner_engine, "match.override")
    assert [(int(a["object_id"])) for a in audited] == [match["id"]]
    for action in ("introduce", "start-trial"):
        assert person.act(match["id"], action).status_code == 200
    kpis = person.ok("GET", f"/kpis?year={TODAY.year}")
    assert kpis["matches"]["started_on_override"] == 1 and kpis["matches"]["overrides_recorded"] == 1


def test_a_not_eligible_requesting_family_cannot_be_proposed(app, api, world):
    policy(app, world, POVERTY)
    requesting = family(api, household_income=9000,
                        members=[{"role": "adult", "first_name": "Anna"}, {"role": "child", "first_name": "Bo"}])
    response = propose(api, requesting, family(api, "supporting"))
    assert response.status_code == 409
    (problem,) = response.get_json()["problems"]
    assert (problem["family_id"], problem["decision_kind"], problem["outcome"]) == (requesting, "eligibility",
                                                                                      "not_eligible")
    assert [f["rule"] for f in problem["findings"]] == ["eligibility.poverty"]


def test_a_decision_under_an_older_policy_version_is_re_run_before_the_proposal(app, api, world):
    policy(app, world, POVERTY)
    requesting = family(api, household_income=9000, members=[{"role": "adult", "first_name": "Anna"}])
    supporting = family(api, "supporting")
    old = api.ok("GET", f"/families/{requesting}/decisions")["items"]
    assert [(d["kind"], d["outcome"], d["policy_version"]) for d in old][:1] == [("eligibility", "not_eligible", 1)]
    policy(app, world, OPEN_POLICY)  # version 2: no conditions
    assert propose(api, requesting, supporting).status_code == 201
    history = [(d["kind"], d["outcome"], d["policy_version"]) for d in api.ok("GET", f"/families/{requesting}/decisions")["items"]
               if d["kind"] == "eligibility"]
    assert history[0] == ("eligibility", "eligible", 2) and ("eligibility", "not_eligible", 1) in history


def test_a_historical_decision_never_satisfies_a_rule(app, api, world):
    policy(app, world, POVERTY)
    requesting = family(api, household_income=9000, members=[{"role": "adult", "first_name": "Anna"}])
    written = api.ok("POST", f"/families/{requesting}/decisions", {
        "kind": "eligibility", "outcome": "eligible",
        "findings": [{"rule": "own", "result": "met", "explanation": "Zelf besloten"}]})
    assert written["source"] == "historical"
    assert propose(api, requesting, family(api, "supporting")).status_code == 409


def test_an_override_of_screening_needs_a_second_coordinator_where_the_policy_has_four_eyes(app, client, world):
    policy(app, world, {**OPEN_POLICY, "screening.four_eyes": {}})
    anna, bart = Api(client, world, "person"), Api(client, world, "person2")
    supporting = family(anna, "supporting")  # a VOG, but no approvals: four eyes not met
    requesting = family(anna)
    refused = propose(anna, requesting, supporting, override_reason=REASON)
    assert refused.status_code == 409 and refused.get_json()["error"] == "override_needs_second_coordinator"
    decision = anna.ok("GET", f"/families/{supporting}/decisions")["items"][0]
    override = anna.ok("POST", f"/families/{supporting}/decisions/{decision['id']}/override",
                       {"outcome": "passed", "reason": REASON}, status=201)
    assert override["confirmed_by_user_id"] is None
    waiting = propose(anna, requesting, supporting)
    assert waiting.status_code == 409 and waiting.get_json()["problems"][0]["awaiting_confirmation"] == override["id"]
    own = anna(f"POST", f"/families/{supporting}/decisions/{override['id']}/confirm")
    assert own.status_code == 409 and own.get_json()["error"] == "override_needs_second_coordinator"
    bart.ok("POST", f"/families/{supporting}/decisions/{override['id']}/confirm")
    match = propose(anna, requesting, supporting)
    assert match.status_code == 201, match.get_json()
    assert [o["decision_id"] for o in match.get_json()["overrides"]] == [override["id"]]


def test_activation_asks_the_policy_again_a_vog_that_expired_during_the_trial_stops_it(app, api, world):
    policy(app, world)
    supporting = family(api, "supporting")
    match_id = propose(api, family(api), supporting).get_json()["id"]
    assert api.act(match_id, "introduce").status_code == 200
    assert api.act(match_id, "start-trial").status_code == 200
    member = api.ok("GET", f"/families/{supporting}")["members"][0]["id"]
    expired = (TODAY - timedelta(days=4 * 366)).isoformat()
    tag = api("GET", f"/families/{supporting}").headers["ETag"]
    api.ok("PATCH", f"/families/{supporting}/members/{member}", {"vog_issued_on": expired}, headers={"If-Match": tag})
    response = api.act(match_id, "activate", {"agreement": "Woensdagmiddag"})
    assert response.status_code == 409
    (problem,) = response.get_json()["problems"]
    assert problem["family_id"] == supporting and problem["findings"][0]["rule"] == "screening.vog"
    assert problem["findings"][0]["result"] == "fail"


def test_activation_refuses_terms_outside_the_policy_naming_each_term(app, api, world):
    policy(app, world, {**OPEN_POLICY, "match_terms.standard": {}})  # 12 months at most, weekly or fortnightly
    match_id = propose(api, family(api), family(api, "supporting")).get_json()["id"]
    api.act(match_id, "introduce")
    api.act(match_id, "start-trial")
    response = api.act(match_id, "activate", {
        "agreement": "Elke maand een weekend", "frequency": "monthly", "overnight_stays": True, "hours_per_session": 30,
        "planned_end_on": (TODAY + timedelta(days=600)).isoformat()})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]["json"]) == {"frequency", "overnight_stays", "hours_per_session",
                                                          "planned_end_on"}
    match = api.act(match_id, "activate", {"agreement": "Om de week op woensdagmiddag", "frequency": "fortnightly"})
    assert match.status_code == 200, match.get_json()
    body = match.get_json()
    assert (body["frequency"], body["hours_per_session"], body["overnight_stays"]) == ("fortnightly", 4.0, False)
    assert body["planned_end_on"] == (date.fromisoformat(body["active_on"]).replace(
        year=date.fromisoformat(body["active_on"]).year + 1)).isoformat()


# --- statuses and evaluations follow what happened ---------------------------------------------------

def test_families_leave_the_waiting_list_at_the_introduction_and_a_stopped_supporting_family_is_closed(
        app, api, world):
    policy(app, world)
    requesting, supporting = family(api), family(api, "supporting")
    match_id = propose(api, requesting, supporting).get_json()["id"]
    assert api.ok("GET", f"/families/{requesting}")["status"] == "waiting"
    api.act(match_id, "introduce")
    assert api.ok("GET", f"/families/{requesting}")["status"] == "matched"
    assert api.ok("GET", f"/families/{supporting}")["status"] == "matched"
    api.act(match_id, "start-trial")
    api.act(match_id, "end", {"end_reason": "supporting_family_stopped"})
    assert api.ok("GET", f"/families/{supporting}")["status"] == "closed"
    assert api.ok("GET", f"/families/{requesting}")["status"] == "waiting"  # waits for another match


def test_triage_too_heavy_or_declined_takes_a_family_off_the_waiting_list(app, api, world):
    policy(app, world)
    heavy, declined, fits = family(api), family(api), family(api)
    for family_id, outcome in ((heavy, "too_heavy_referred"), (declined, "declined_by_family"), (fits, "fits")):
        api.ok("POST", f"/families/{family_id}/triage", {"outcome": outcome})
    assert [api.ok("GET", f"/families/{f}")["status"] for f in (heavy, declined, fits)] == ["closed", "closed",
                                                                                          "waiting"]
    history = api.ok("GET", f"/families/{heavy}")["status_changes"]
    assert history[-1]["reason"] == "triage: too_heavy_referred"


def test_an_ended_match_closes_its_open_evaluations_and_the_end_evaluation_falls_due_on_the_real_end(
        app, api, world):
    policy(app, world)
    match_id = propose(api, family(api), family(api, "supporting")).get_json()["id"]
    api.act(match_id, "introduce", {"on": (TODAY - timedelta(days=25)).isoformat()})
    api.act(match_id, "start-trial", {"on": (TODAY - timedelta(days=20)).isoformat()})
    ended_on = (TODAY - timedelta(days=5)).isoformat()
    api.act(match_id, "end", {"end_reason": "requesting_family_declined", "on": ended_on})
    evaluations = api.ok("GET", f"/matches/{match_id}/evaluations")["items"]
    open_ = [e for e in evaluations if e["completed_on"] is None and e["skipped_reason"] is None]
    assert [(e["kind"], e["due_on"]) for e in open_] == [("end", ended_on)]
    assert {e["skipped_reason"] for e in evaluations if e["kind"] == "trial_end"} == {"match_ended"}
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        overdue = db.session.scalars(select(Evaluation).where(
            Evaluation.match_id == match_id, Evaluation.completed_on.is_(None),
            Evaluation.skipped_reason.is_(None), Evaluation.due_on < TODAY)).all()
    assert [e.kind for e in overdue] == ["end"]  # the end evaluation only: nothing left over from the plan


# --- every way in reaches the same decision ------------------------------------------------------------

def test_api_form_and_import_reach_the_same_decision_by_the_same_use_case(app, client, api, world):
    policy(app, world)
    through_api = api.ok("POST", "/families", {"kind": "requesting", "display_name": "Familie Api"})["id"]
    form = client.post("/api/v1/aalten/registrations", json={
        "kind": "requesting", "display_name": "Familie Formulier", "email": "form@example.org", "postcode": "7121 AB",
        "house_number": "1", "consent_processing": True, "consent_wording_version": "2026-01"})
    assert form.status_code == 202, form.get_json()
    from tests.test_registration import confirm_waiting

    confirm_waiting(app, client, "aalten", world.ids["aalten"])  # as the mailed link does
    sheet = "external_ref;kind;display_name\r\nI-1;vraaggezin;Familie Import\r\n".encode()
    imported = import_post(client, world, families=sheet, dry_run=False)
    assert imported.status_code == 201, imported.get_json()
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        found = {}
        for name in ("Familie Api", "Familie Formulier", "Familie Import"):
            family_id = db.session.scalar(select(Family.id).where(Family.display_name == name))
            found[name] = [(d.kind, d.outcome, d.source, d.policy_version, d.findings[0]["rule"])
                           for d in db.session.scalars(select(Decision).where(Decision.family_id == family_id))]
    assert found == {name: [("eligibility", "eligible", "policy", 1, "eligibility.no_conditions")] for name in found}


def test_a_refusal_reads_in_the_language_asked_for_or_set_by_the_user(app, client, person, world):
    policy(app, world)
    supporting = family(person, "supporting", members=[{"role": "adult", "first_name": "Els"}])
    requesting = family(person)
    dutch = propose(person, requesting, supporting).get_json()
    assert dutch["message"].startswith("Volgens het beleid kan deze koppeling nog niet worden voorgesteld")
    english = person("POST", "/matches", {"requesting_family_id": requesting, "supporting_family_id": supporting},
                     headers={"Accept-Language": "en"}).get_json()
    assert english["message"].startswith("The policy does not allow") and english["error"] == dutch["error"]
    assert english["params"] == dutch["params"] == {"step": {"label": "match_step", "code": "proposed"}}
    assert client.patch("/api/v1/me", json={"language": "en"}, headers=world.bearer("person")).status_code == 200
    assert propose(person, requesting, supporting).get_json()["message"].startswith("The policy does not allow")
    machine = client.patch("/api/v1/me", json={"language": "en"}, headers=world.bearer(R.COORDINATOR))
    assert machine.status_code == 409 and machine.get_json()["error"] == "no_person"
