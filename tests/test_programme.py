"""The programme through its API: families, matches and their lifecycle, capacity, consent, duplicates."""
import threading
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from core.auth import roles as R
from core.errors import Conflict
from core.extensions import db
from core.programme import matches
from core.programme.models import Evaluation, Family, Match, ReferrerNotification
from tenants.context import tenant_scope

from tests.conftest import enable_policy, if_match

TODAY = date.today()


class Api:
    """The API as a coordinator who reads English (the messages asserted here are the English ones)."""

    def __init__(self, client, headers, slug="aalten"):
        self.client, self.headers, self.base = client, {**headers, "Accept-Language": "en"}, f"/api/v1/{slug}"

    def __call__(self, method, path, json=None, headers=None, **kw):
        """A change of a family or a match carries If-Match (see ``if_match``); pass your own (or None) to test it."""
        headers = {**self.headers, **(headers or {})}
        if method != "GET":
            headers = if_match(self.client, self.base + path, headers)
        headers = {name: value for name, value in headers.items() if value is not None}  # {"If-Match": None}: none
        return self.client.open(self.base + path, method=method, json=json, headers=headers, **kw)

    def ok(self, method, path, json=None, status=(200, 201), **kw):
        response = self(method, path, json, **kw)
        assert response.status_code in ((status,) if isinstance(status, int) else status), response.get_json()
        return response.get_json()


@pytest.fixture
def api(app, client, world):
    with app.app_context():
        for slug in ("aalten", "druten"):
            enable_policy(world.ids[slug])
    return Api(client, world.bearer(R.COORDINATOR))


def _counts(owner_engine, *tables):
    with owner_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in tables}


def _family(api, kind="requesting", **extra):
    body = {"kind": kind, "display_name": f"Familie {kind} {extra.pop('n', '')}".strip(),
            "registered_on": (TODAY - timedelta(days=90)).isoformat()}
    if kind == "supporting":
        body.update(capacity_children=2, capacity_age_min=0, capacity_age_max=12,
                    members=[{"role": "adult", "first_name": "Els", "vog_issued_on": body["registered_on"]}])
    body.update(extra)
    family = api.ok("POST", "/families", body)
    for purpose in ("processing", "share_with_referrer", "evaluation_contact"):
        api.ok("POST", f"/families/{family['id']}/consents", {"purpose": purpose, "wording_version": "v1",
                                                             "given_on": body["registered_on"]})
    target = "waiting" if kind == "requesting" else "screening"
    api.ok("POST", f"/families/{family['id']}/status", {"status": "intake" if kind == "requesting" else "screening"})
    if kind == "requesting":
        api.ok("POST", f"/families/{family['id']}/status", {"status": target})
    else:
        api.ok("POST", f"/families/{family['id']}/status", {"status": "available"})
    return family["id"]


def _etag(api, path):
    return api("GET", path).headers["ETag"]


def _act(api, match_id, action, body=None, expect=200):
    tag = _etag(api, f"/matches/{match_id}")
    response = api("POST", f"/matches/{match_id}/{action}", body or {}, headers={"If-Match": tag})
    assert response.status_code == expect, response.get_json()
    return response.get_json()


STEPS = {
    "introduce": {},
    "start-trial": {},
    "activate": {"agreement": "Woensdagmiddag 13-17 uur; geen overnachtingen."},
    "end": {"end_reason": "goals_reached", "outcome": "no_further_care"},
    "cancel": {},
}
REACH = {  # the actions that bring a new match into each state
    "proposed": [], "introduction": ["introduce"], "trial": ["introduce", "start-trial"],
    "active": ["introduce", "start-trial", "activate"], "ended": ["introduce", "start-trial", "end"],
    "cancelled": ["cancel"],
}
ALLOWED = {("proposed", "introduce"), ("proposed", "cancel"), ("introduction", "start-trial"),
           ("introduction", "cancel"), ("trial", "activate"), ("trial", "end"), ("active", "end")}


def _match(api, children=1, requesting=None, supporting=None):
    requesting = requesting or _family(api, "requesting")
    supporting = supporting or _family(api, "supporting")
    body = {"requesting_family_id": requesting, "supporting_family_id": supporting, "children": children,
            "proposed_on": (TODAY - timedelta(days=60)).isoformat()}
    return api.ok("POST", "/matches", body, status=201)["id"]


@pytest.mark.parametrize("state", list(REACH))
@pytest.mark.parametrize("action", list(STEPS))
def test_every_transition_is_allowed_or_refused_with_a_reason(api, world, state, action):
    match_id = _match(api)
    for step in REACH[state]:
        _act(api, match_id, step, STEPS[step])
    allowed = (state, action) in ALLOWED
    body = _act(api, match_id, action, STEPS[action], expect=200 if allowed else 409)
    if not allowed:
        assert body["error"] == "step_not_allowed" and "cannot move to" in body["message"]
        assert body["params"]["state"] == {"label": "match_state", "code": state}


def test_a_full_lifecycle_sets_dates_history_evaluations_and_notifications(app, api, world):
    match_id = _match(api)
    for step in ("introduce", "start-trial", "activate"):
        _act(api, match_id, step, STEPS[step])
    match = api.ok("GET", f"/matches/{match_id}")
    assert [t["to_state"] for t in match["transitions"]] == ["proposed", "introduction", "trial", "active"]
    assert match["agreement"].startswith("Woensdagmiddag") and match["agreement_recorded_on"] == TODAY.isoformat()
    assert match["planned_end_on"] == (TODAY + timedelta(days=365)).isoformat()
    kinds = [e["kind"] for e in api.ok("GET", f"/matches/{match_id}/evaluations")["items"]]
    assert kinds[0] == "trial_end" and kinds[-2:] == ["extension_decision", "end"] and "periodic" in kinds
    # an extension both families want moves the end and re-plans
    new_end = (TODAY + timedelta(days=600)).isoformat()
    _act(api, match_id, "extend", {"new_end_on": new_end, "both_families_agree": True})
    evaluations = api.ok("GET", f"/matches/{match_id}/evaluations")["items"]
    assert evaluations[-1]["kind"] == "end" and evaluations[-1]["due_on"] == new_end
    assert len([e for e in evaluations if e["kind"] == "end"]) == 1
    refused = _act(api, match_id, "extend", {"new_end_on": (TODAY + timedelta(days=900)).isoformat(),
                                             "both_families_agree": False}, expect=409)
    assert "both families" in refused["message"]
    _act(api, match_id, "end", STEPS["end"])
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        events = db.session.scalars(select(ReferrerNotification.event).where(ReferrerNotification.match_id == match_id)).all()
    assert events == []  # no referrer e-mail recorded for these families: nothing to tell


def test_the_referrer_is_told_at_start_and_end_when_consent_allows(app, api, world):
    requesting = _family(api, referrer_email="cjg@aalten.example", referral_source="cjg")
    match_id = _match(api, requesting=requesting)
    for step in ("introduce", "start-trial", "end"):
        _act(api, match_id, step, STEPS[step])
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        rows = db.session.execute(select(ReferrerNotification.event, ReferrerNotification.recipient)
                                  .where(ReferrerNotification.match_id == match_id).order_by(ReferrerNotification.id)).all()
    assert [tuple(r) for r in rows] == [("start", "cjg@aalten.example"), ("end", "cjg@aalten.example")]


def test_a_step_may_not_go_back_in_time(api, world):
    match_id = _match(api)
    body = _act(api, match_id, "introduce", {"on": (TODAY - timedelta(days=90)).isoformat()}, expect=422)
    assert "on" in body["errors"]["json"]


def test_changes_need_the_current_etag(api, world):
    family_id = _family(api)
    stale = _etag(api, f"/families/{family_id}")
    assert api("PATCH", f"/families/{family_id}", {"wishes": "x"}, headers={"If-Match": None}).status_code == 428
    assert api("PATCH", f"/families/{family_id}", {"wishes": "eerste"}, headers={"If-Match": stale}).status_code == 200
    lost = api("PATCH", f"/families/{family_id}", {"wishes": "tweede"}, headers={"If-Match": stale})
    assert lost.status_code == 412
    fresh = _etag(api, f"/families/{family_id}")
    assert fresh != stale
    assert api("GET", f"/families/{family_id}", headers={"If-None-Match": fresh}).status_code == 304


# --- capacity and concurrency ----------------------------------------------------------------------

def test_capacity_of_the_supporting_family_is_respected(api, world):
    supporting = _family(api, "supporting")  # room for 2 children
    _match(api, children=1, supporting=supporting)
    _match(api, children=1, supporting=supporting)
    body = api("POST", "/matches", {"requesting_family_id": _family(api), "supporting_family_id": supporting,
                                    "children": 1}).get_json()
    assert body["error"] == "no_room" and "room for 2 and has 2 in open matches" in body["message"]
    assert body["params"]["capacity"] == 2 and body["params"]["placed"] == 2


def test_an_ended_match_frees_capacity(api, world):
    supporting = _family(api, "supporting")
    first = _match(api, children=2, supporting=supporting)
    for step in ("introduce", "start-trial"):
        _act(api, first, step)
    _act(api, first, "end", {"end_reason": "mismatch"})
    _match(api, children=2, supporting=supporting)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_coordinators_cannot_both_fill_the_last_place(app, api, world):
    supporting = _family(api, "supporting", capacity_children=1)
    requesting = [_family(api, n=i) for i in range(2)]
    results, started = [], threading.Event()

    def propose(requesting_id, hold):
        with app.app_context(), tenant_scope(world.ids["aalten"]):
            try:
                matches.propose({"requesting_family_id": requesting_id, "supporting_family_id": supporting,
                                 "children": 1, "proposed_on": TODAY, "support_kinds": [], "note": None})
                started.set()
                time.sleep(hold)  # keep the lock while the other coordinator tries
                db.session.commit()
                results.append("ok")
            except Conflict as exc:
                db.session.rollback()
                results.append(str(exc))

    first = threading.Thread(target=propose, args=(requesting[0], 0.5))
    first.start()
    assert started.wait(5)
    second = threading.Thread(target=propose, args=(requesting[1], 0))
    began = time.monotonic()
    second.start()
    first.join()
    second.join()
    assert time.monotonic() - began >= 0.3  # the second waited for the first one's lock
    assert results[0] == "ok" and "room for 1 and has 1 in open matches" in results[1]
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        assert db.session.scalar(select(func.count()).select_from(Match).where(
            Match.supporting_family_id == supporting)) == 1


def test_a_family_of_another_municipality_cannot_be_matched(api, world):
    druten_family = world.records["druten"]["supporting"]
    body = api("POST", "/matches", {"requesting_family_id": _family(api), "supporting_family_id": druten_family}).get_json()
    assert body["code"] == 422 and "No family" in body["errors"]["json"]["supporting_family_id"][0]


def test_matching_needs_waiting_and_available_families(api, world):
    registered = api.ok("POST", "/families", {"kind": "requesting", "display_name": "Nieuw"})["id"]
    body = api("POST", "/matches", {"requesting_family_id": registered, "supporting_family_id": _family(api, "supporting")})
    assert body.status_code == 409 and "only a waiting family" in body.get_json()["message"]


# --- consent -----------------------------------------------------------------------------------------

def _consent_id(api, family_id, purpose):
    return next(c["id"] for c in api.ok("GET", f"/families/{family_id}")["consents"] if c["purpose"] == purpose)


def test_withdrawing_consent_stops_what_it_covers(app, api, world):
    requesting = _family(api, referrer_email="sociaal@aalten.example")
    match_id = _match(api, requesting=requesting)
    for step in ("introduce", "start-trial"):
        _act(api, match_id, step)
    api.ok("POST", f"/families/{requesting}/consents/{_consent_id(api, requesting, 'share_with_referrer')}/withdraw", {})
    api.ok("POST", f"/families/{requesting}/consents/{_consent_id(api, requesting, 'evaluation_contact')}/withdraw", {})
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        assert db.session.scalars(select(ReferrerNotification.status).where(
            ReferrerNotification.match_id == match_id)).all() == ["cancelled"]
        assert set(db.session.scalars(select(Evaluation.skipped_reason).where(
            Evaluation.match_id == match_id))) == {"consent_withdrawn"}
    again = api("POST", f"/families/{requesting}/consents/{_consent_id(api, requesting, 'evaluation_contact')}/withdraw", {})
    assert again.status_code == 409
    api.ok("POST", f"/families/{requesting}/consents/{_consent_id(api, requesting, 'processing')}/withdraw", {})
    match = api.ok("GET", f"/matches/{match_id}")
    assert match["state"] == "ended" and match["end_reason"] == "consent_withdrawn"
    assert api.ok("GET", f"/families/{requesting}")["status"] == "closed"
    # and no new match for a family without consent for processing
    api.ok("POST", f"/families/{requesting}/status", {"status": "registered"})
    api.ok("POST", f"/families/{requesting}/status", {"status": "waiting"})
    refused = api("POST", "/matches", {"requesting_family_id": requesting, "supporting_family_id": _family(api, "supporting")})
    assert refused.status_code == 409 and "consent for processing" in refused.get_json()["message"]


# --- families ----------------------------------------------------------------------------------------

def test_possible_duplicates_are_flagged_never_merged(api, world):
    first = api.ok("POST", "/families", {"kind": "requesting", "display_name": "Familie Yilmaz", "postcode": "7101 AA",
                                         "house_number": "12", "members": [
                                             {"role": "adult", "first_name": "Elif", "last_name": "Yilmaz",
                                              "date_of_birth": "1988-04-01"}]})
    same_address = api.ok("POST", "/families", {"kind": "requesting", "display_name": "Yilmaz", "postcode": "7101AA",
                                                "house_number": "12"})
    same_person = api.ok("POST", "/families", {"kind": "supporting", "display_name": "E. Yilmaz", "members": [
        {"role": "adult", "first_name": "elif", "last_name": "YILMAZ", "date_of_birth": "1988-04-01"}]})
    other = api.ok("POST", "/families", {"kind": "requesting", "display_name": "Familie Smit", "postcode": "7101 AA",
                                         "house_number": "14"})
    assert [(d["other_family_id"], d["reason"]) for d in same_address["duplicates"]] == [(first["id"], "same_address")]
    assert [(d["other_family_id"], d["reason"]) for d in same_person["duplicates"]] == [(first["id"], "same_name_and_birth_date")]
    assert other["duplicates"] == []
    flags = api.ok("GET", "/duplicates")["items"]
    assert len([f for f in flags if first["id"] in (f["family_id"], f["other_family_id"])]) == 2
    resolved = api.ok("POST", f"/duplicates/{flags[-1]['id']}/resolve", {"resolution": "distinct"})
    assert resolved["resolution"] == "distinct"
    for family in (first, same_address, same_person):  # all still there: nothing merged
        assert api("GET", f"/families/{family['id']}").status_code == 200


def test_invalid_input_names_every_field_and_writes_nothing(api, world, owner_engine):
    before = _counts(owner_engine, "family", "member", "family_status_change")
    response = api("POST", "/families", {
        "kind": "supporting", "display_name": "", "postcode": "12345", "district_code": "X1",
        "availability": {"maandag": ["morning"], "tue": ["night"]}, "problem_areas": ["kopp"],
        "capacity_age_min": 10, "capacity_age_max": 4, "languages": ["dutch"], "email": "geen-adres",
        "members": [{"role": "child", "first_name": "Tim", "vog_issued_on": "2020-01-01"}, {"role": "pet"}],
    })
    assert response.status_code == 422
    errors = response.get_json()["errors"]["json"]
    assert set(errors) >= {"display_name", "postcode", "district_code", "availability", "languages", "email", "members"}
    assert set(errors["members"]) == {"0", "1"} or set(errors["members"]) == {0, 1}
    second = api("POST", "/families", {"kind": "supporting", "display_name": "Ok", "problem_areas": ["kopp"],
                                       "capacity_age_min": 10, "capacity_age_max": 4})
    assert set(second.get_json()["errors"]["json"]) == {"problem_areas", "capacity_age_max"}
    assert _counts(owner_engine, "family", "member", "family_status_change") == before


def test_family_status_follows_the_kind(api, world):
    requesting = api.ok("POST", "/families", {"kind": "requesting", "display_name": "R"})["id"]
    refused = api("POST", f"/families/{requesting}/status", {"status": "available"})
    assert refused.status_code == 409 and "requesting family cannot go from registered to available" in refused.get_json()["message"]
    history = api.ok("POST", f"/families/{requesting}/status", {"status": "intake", "reason": "gesprek gepland"})
    assert [(h["from_status"], h["to_status"]) for h in history["status_changes"]] == [(None, "registered"), ("registered", "intake")]


def test_four_eyes_needs_two_different_coordinators(app, world, client):
    from tests.conftest import add_user

    with app.app_context():
        from tenants.models import Municipality

        add_user("tweede@aalten.example", R.COORDINATOR, municipality=db.session.get(Municipality, world.ids["aalten"]))
        db.session.commit()
    first, second = app.test_client(), app.test_client()
    world.login(first, world.users[R.COORDINATOR])
    world.login(second, "tweede@aalten.example")
    family = world.records["aalten"]["supporting"]
    csrf_free = {"json": {}}
    path = f"/api/v1/aalten/families/{family}/approvals"
    machine = if_match(first, path, world.bearer(R.COORDINATOR))
    assert first.post(path, headers=machine, **csrf_free).status_code == 409
    # people approve through a token of their own user
    from core.auth import tokens

    with app.app_context():
        from core.auth.models import User
        from tenants.models import Municipality

        aalten = db.session.get(Municipality, world.ids["aalten"])
        raws = []
        for email in (world.users[R.COORDINATOR], "tweede@aalten.example"):
            user = db.session.scalar(select(User).where(User.email == email))
            raw, _ = tokens.create("mine", [R.COORDINATOR], municipality=aalten, created_by=user)
            raws.append(raw)
        db.session.commit()
    one, two = ({"Authorization": f"Bearer {r}"} for r in raws)
    assert client.post(path, json={}, headers=if_match(client, path, one)).status_code == 201
    again = client.post(path, json={}, headers=if_match(client, path, one))
    assert again.status_code == 409 and "andere coördinator" in again.get_json()["message"]  # Dutch by default
    assert again.get_json()["error"] == "approved_already"
    assert client.post(path, json={}, headers=if_match(client, path, two)).get_json()["approvals"] == 2


def test_an_override_needs_a_reason_and_keeps_the_history(client, world, owner_engine):
    api = Api(client, world.bearer("person"))
    family = world.records["aalten"]["family"]
    decision = world.records["aalten"]["decision"]
    short = api("POST", f"/families/{family}/decisions/{decision}/override", {"outcome": "not_eligible", "reason": "nee"})
    assert short.status_code == 422 and "reason" in short.get_json()["errors"]["json"]
    api.ok("POST", f"/families/{family}/decisions/{decision}/override",
           {"outcome": "not_eligible", "reason": "Problematiek blijkt te zwaar na huisbezoek"})
    history = api.ok("GET", f"/families/{family}/decisions")["items"]
    assert [(d["outcome"], d["overrides_id"]) for d in history] == [("not_eligible", decision), ("eligible", None)]
    assert history[0]["override_reason"].startswith("Problematiek")


def test_reading_a_family_is_audited(api, world, owner_engine):
    family = world.records["aalten"]["family"]
    api.ok("GET", f"/families/{family}")
    api.ok("GET", "/families?limit=2")
    with owner_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
        actions = conn.execute(text("SELECT action, object_id FROM audit_event WHERE action IN ('family.read', 'family.list') "
                                    "ORDER BY id")).all()
    assert [tuple(a) for a in actions] == [("family.read", str(family)), ("family.list", None)]


def test_reciprocity_links_a_former_requesting_family(api, world):
    former = world.records["aalten"]["family"]
    supporting = api.ok("POST", "/families", {"kind": "supporting", "display_name": "Nu steungezin",
                                              "former_family_id": former})
    assert supporting["former_family_id"] == former
    wrong = api("POST", "/families", {"kind": "supporting", "display_name": "X",
                                      "former_family_id": world.records["druten"]["family"]})
    assert wrong.status_code == 422 and "former_family_id" in wrong.get_json()["errors"]["json"]


# --- lists -------------------------------------------------------------------------------------------

def test_keyset_pages_cover_every_family_once(api, world):
    for i in range(7):
        api.ok("POST", "/families", {"kind": "requesting", "display_name": f"Familie {chr(75 + i)}"})
    seen, cursor = [], None
    while True:
        page = api.ok("GET", "/families?limit=3&sort=display_name" + (f"&cursor={cursor}" if cursor else ""))
        seen += [f["display_name"] for f in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 10
    filtered = api.ok("GET", "/families?kind=supporting&status=matched&status=available")
    assert [(f["kind"], f["status"]) for f in filtered["items"]] == [("supporting", "matched")]
    assert api("GET", "/families?cursor=garbage").status_code == 422


# --- public registration -----------------------------------------------------------------------------

REGISTRATION = {"kind": "requesting", "display_name": "Familie Bakker", "email": "bakker@example.org",
                "postcode": "7121 AB", "house_number": "3", "consent_processing": True,
                "consent_wording_version": "web-2026-01",
                "members": [{"role": "child", "first_name": "Lotte", "date_of_birth": "2019-06-01"}]}


def test_public_registration_needs_no_login_and_only_that_municipality_sees_it(app, client, world):
    from tests.test_registration import confirm_waiting

    receipt = client.post("/api/v1/aalten/registrations", json=REGISTRATION)
    assert receipt.status_code == 202 and receipt.get_json()["municipality"] == "Aalten"
    assert "id" not in receipt.get_json()
    confirm_waiting(app, client, "aalten", world.ids["aalten"])  # as the mailed link does
    mine = client.post("/api/v1/aalten/families/search", json={"q": "familie bakker"},
                       headers=world.bearer(R.COORDINATOR)).get_json()
    assert [f["status"] for f in mine["items"]] == ["registered"]
    theirs = client.post("/api/v1/druten/families/search", json={"q": "familie bakker"},
                         headers=world.bearer("druten")).get_json()
    assert theirs["items"] == []


def test_public_registration_is_validated(client, world):
    response = client.post("/api/v1/aalten/registrations", json={**REGISTRATION, "consent_processing": False,
                                                                 "email": None, "postcode": "nope"})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]["json"]) == {"postcode"} or set(response.get_json()["errors"]["json"]) >= {"postcode"}


def test_public_registration_is_rate_limited(world, app, tmp_path_factory, backend):
    from core.extensions import limiter
    from tests.conftest import make_app

    limited = make_app(backend, tmp_path_factory, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                       MIGRATION_DATABASE_URL=app.config["MIGRATION_DATABASE_URL"],
                       REGISTRATION_LIMIT_PER_IP="2 per hour")
    limiter.reset()
    try:
        client = limited.test_client()
        codes = [client.post("/api/v1/aalten/registrations", json=REGISTRATION).status_code for _ in range(3)]
        assert codes == [202, 202, 429]
        other_ip = client.post("/api/v1/aalten/registrations", json=REGISTRATION,
                               environ_base={"REMOTE_ADDR": "10.9.8.7"})
        assert other_ip.status_code == 202
    finally:
        limiter.reset()


def test_a_suspended_municipality_takes_no_registrations(app, client, world):
    app.test_cli_runner().invoke(args=["municipality", "suspend", "aalten"])
    response = client.post("/api/v1/aalten/registrations", json=REGISTRATION)
    assert response.status_code == 403 and response.get_json()["error"] == "tenant_suspended"
