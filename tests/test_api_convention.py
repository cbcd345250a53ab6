"""One API convention (docs/api.md), checked on every route the OpenAPI document lists, on both backends:
every list is a page ``{items, next_cursor}`` with a signed cursor of ids only; every change of a family or a
match needs ``If-Match``; input is bounded before any query."""
from __future__ import annotations

import json
import re
from datetime import date

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import event, select

from core import notifications
from core.api import common
from core.auth import roles as R
from core.auth.models import User
from core.extensions import api as smorest_api
from core.extensions import db
from core.messages import Label, Message
from core.programme.models import Evaluation
from core.scheduling.models import WorkItem
from tenants.context import tenant_scope
from tests.conftest import enable_policy, if_match, populate

TODAY = date.today().isoformat()
#: GET operations that answer a JSON array and are no list of rows: a ranking of at most ``limit`` (itself
#: bounded), the policy's instruments, one entry per member municipality of a consortium.
NOT_PAGES = {"/api/v1/{municipality}/families/{family_id}/match-suggestions",
             "/api/v1/{municipality}/evaluation-instrument",
             "/api/v1/consortia/{consortium}/policy-deviations"}
#: Lists of the requesting user's own rows: read with a person's token (a machine token has none); their
#: tenant boundary is tried in tests/test_notifications_api.py.
PERSONAL = {"/api/v1/{municipality}/notifications"}
VERSIONED = re.compile(r"^/api/v1/\{municipality\}/(families/\{family_id\}|matches/\{match_id\})")
#: Changes under a family or match that add a record of their own (a decision, a contact) and leave the
#: family or match as it is: no If-Match.
OWN_RECORDS = {
    ("post", "/api/v1/{municipality}/families/{family_id}/decisions"),
    ("post", "/api/v1/{municipality}/families/{family_id}/decisions/{decision_id}/override"),
    ("post", "/api/v1/{municipality}/families/{family_id}/decisions/{decision_id}/confirm"),
    ("post", "/api/v1/{municipality}/families/{family_id}/eligibility-decision"),
    ("post", "/api/v1/{municipality}/families/{family_id}/screening-decision"),
    ("post", "/api/v1/{municipality}/families/{family_id}/contacts"),
    ("post", "/api/v1/{municipality}/matches/{match_id}/contacts"),
}
#: A valid body for each change that needs If-Match, so that only the version decides.
BODIES = {
    "/families/{family_id}": {"wishes": "x"},
    "/families/{family_id}/status": {"status": "intake"},
    "/families/{family_id}/intakes": {"held_on": TODAY},
    "/families/{family_id}/triage": {"outcome": "fits"},
    "/families/{family_id}/approvals": {},
    "/families/{family_id}/members": {"role": "child", "first_name": "Tim"},
    "/families/{family_id}/members/{member_id}": {"first_name": "Tom"},
    "/families/{family_id}/consents": {"purpose": "processing", "wording_version": "v2"},
    "/families/{family_id}/consents/{consent_id}/withdraw": {},
    "/matches/{match_id}/introduce": {},
    "/matches/{match_id}/start-trial": {},
    "/matches/{match_id}/activate": {"agreement": "Woensdag"},
    "/matches/{match_id}/end": {"end_reason": "goals_reached"},
    "/matches/{match_id}/cancel": {},
    "/matches/{match_id}/extend": {"new_end_on": "2099-01-01", "both_families_agree": True},
}


def _spec(app):
    with app.app_context():
        return smorest_api.spec.to_dict()


def _operations(app):
    for path, operations in _spec(app)["paths"].items():
        for method, operation in operations.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def _schema_200(operation) -> dict:
    return operation.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {}).get("schema", {})


def _lists(app) -> list[str]:
    return sorted(path for path, method, op in _operations(app)
                  if method == "get" and _schema_200(op).get("$ref", "").endswith("Page"))


@pytest.fixture
def filled(app, client, world):
    """Aalten with at least two rows in every list."""
    admin = world.bearer(R.TENANT_ADMIN)
    with app.app_context():
        enable_policy(world.ids["aalten"])
        enable_policy(world.ids["aalten"], {"eligibility.no_conditions": {}})
        world.records["aalten2"] = populate(world.ids["aalten"])
        with tenant_scope(world.ids["aalten"]):
            db.session.add(Evaluation(match_id=world.records["aalten"]["match"], kind="periodic", due_on=date.today()))
            person = db.session.scalar(select(User.id).where(User.email == world.users["person"]))
            message = Message("Evaluation due: %(kind)s of match %(match)s, on %(date)s.",
                              {"kind": Label("evaluation_kind", "periodic"), "match": 1, "date": date.today()})
            for n in range(2):
                notifications.notify([person], "evaluation_due", f"example:{n}", message)
                db.session.add(WorkItem(kind="evaluation", key=f"example:{n}", due_on=date.today(),
                                        message=message.as_dict()))
            db.session.commit()
    family, match = world.records["aalten"]["family"], world.records["aalten"]["match"]
    for _ in range(2):
        assert client.post(f"/api/v1/aalten/families/{family}/eligibility-decision", headers=admin).status_code == 201
        assert client.post(f"/api/v1/aalten/families/{family}/contacts", headers=admin,
                           json={"kind": "phone", "occurred_on": TODAY}).status_code == 201
    assert client.post(f"/api/v1/aalten/matches/{match}/contacts", headers=admin,
                       json={"kind": "phone", "occurred_on": TODAY}).status_code == 201
    assert client.put(f"/api/v1/aalten/targets/{date.today().year + 1}", headers=admin,
                      json={"new_matches_min": 12}).status_code == 200
    from tests.test_review import review_last_months

    review_last_months(app)
    return world


def _url(path: str, world) -> str:
    ids = world.records["aalten"]
    return (path.replace("{municipality}", "aalten").replace("{consortium}", "achterhoek")
            .replace("{family_id}", str(ids["family"])).replace("{match_id}", str(ids["match"])))


def _headers(path: str, world) -> dict:
    if path in PERSONAL:
        return world.bearer("person")
    if path.startswith("/api/v1/platform/"):
        return world.bearer(R.PLATFORM_ADMIN)
    return world.bearer(R.CONSORTIUM_ADMIN if path.startswith("/api/v1/consortia/") else R.TENANT_ADMIN)


def _key(item: dict) -> str:
    return str(item["id"]) if "id" in item else json.dumps(item, sort_keys=True)


class Queries:
    """Counts the SQL statements run."""

    def __init__(self, app):
        self.app, self.count = app, 0

    def __enter__(self):
        with self.app.app_context():
            self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self._one)
        return self

    def _one(self, *args):
        self.count += 1

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._one)


def test_every_get_answering_an_array_is_a_page_or_no_list_of_rows(app):
    arrays = {path for path, method, op in _operations(app) if method == "get" and _schema_200(op).get("type") == "array"}
    assert arrays == NOT_PAGES
    assert len(_lists(app)) >= 12


def test_every_list_is_a_page_and_walking_it_returns_every_row_once(app, client, filled):
    world = filled
    for path in _lists(app):
        url, headers = _url(path, world), _headers(path, world)
        full = client.get(f"{url}?limit=200", headers=headers)
        assert full.status_code == 200, (path, full.get_json())
        body = full.get_json()
        assert set(body) == {"items", "next_cursor"} and body["next_cursor"] is None, path
        assert len(body["items"]) >= 2, f"{path}: the fixture should give this list two rows or more"
        assert client.get(f"{url}?cursor=", headers=headers).get_json()["items"] == body["items"][:50], path
        walked, cursor = [], ""
        while True:
            page = client.get(f"{url}?limit=1&cursor={cursor}", headers=headers)
            assert page.status_code == 200, (path, page.get_json())
            walked += [_key(item) for item in page.get_json()["items"]]
            cursor = page.get_json()["next_cursor"]
            if cursor is None:
                break
            assert len(walked) <= len(body["items"]) + 50, f"{path}: the walk does not end"
        assert len(walked) == len(set(walked)), f"{path}: a row came twice"
        assert {_key(item) for item in body["items"]} <= set(walked), f"{path}: a row was skipped"


def test_every_list_answers_its_own_municipality_only(app, client, filled):
    """The same list of Aalten and of Druten (another consortium) share no row; a consortium's list names no
    municipality of another consortium."""
    world = filled
    druten = world.records["druten"]
    for path in _lists(app):
        mine = client.get(f"{_url(path, world)}?limit=200", headers=_headers(path, world)).get_json()["items"]
        if path.startswith("/api/v1/consortia/"):
            assert "druten" not in json.dumps(mine), path
            continue
        if path in PERSONAL or path.startswith("/api/v1/platform/"):  # no person's token for Druten; no municipality
            continue
        url = (path.replace("{municipality}", "druten").replace("{family_id}", str(druten["family"]))
               .replace("{match_id}", str(druten["match"])))
        response = client.get(f"{url}?limit=200", headers=world.bearer("druten"))
        assert response.status_code == 200, (path, response.get_json())
        theirs = response.get_json()["items"]
        if all("id" in item for item in mine):
            assert not {i["id"] for i in mine} & {i["id"] for i in theirs}, path
        else:  # rows without an id (targets, by year): Aalten's own row of the fixture is not Druten's
            assert [i for i in mine if i not in theirs], path


def test_a_page_costs_the_same_queries_for_one_row_as_for_many(app, client, filled):
    for path in _lists(app):
        url, headers = _url(path, filled), _headers(path, filled)
        client.get(f"{url}?limit=1", headers=headers)  # warm: caches, the policy
        counts = []
        for limit in (1, 200):
            with Queries(app) as queries:
                assert client.get(f"{url}?limit={limit}", headers=headers).status_code == 200
            counts.append(queries.count)
        assert counts[0] == counts[1], f"{path}: {counts[0]} statements for one row, {counts[1]} for all"


def _family_cursors(client, world, sort="display_name"):
    headers, cursor, cursors = world.bearer(R.COORDINATOR), "", []
    while True:
        page = client.get(f"/api/v1/aalten/families?limit=1&sort={sort}&cursor={cursor}", headers=headers).get_json()
        cursor = page["next_cursor"]
        if cursor is None:
            return cursors
        cursors.append(cursor)


def test_a_cursor_holds_an_id_only_never_a_name(client, world):
    cursors = _family_cursors(client, world)
    assert len(cursors) >= 2
    for cursor in cursors:
        assert type(URLSafeSerializer("any").loads_unsafe(cursor)[1]) is int
        assert "jansen" not in cursor.lower() and "vries" not in cursor.lower()


def _refused(response):
    assert response.status_code in (400, 422), (response.request.url, response.get_json())
    assert "cursor" in json.dumps(response.get_json()["errors"])


def test_a_tampered_foreign_or_malformed_cursor_is_refused_naming_it(app, client, world):
    coordinator = world.bearer(R.COORDINATOR)
    cursor = _family_cursors(client, world)[0]
    by_id = _family_cursors(client, world, "id")[0]
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    for bad in (tampered, "garbage", "[1]", "1.2.3", "x" * 200):
        _refused(client.get(f"/api/v1/aalten/families?sort=display_name&cursor={bad}", headers=coordinator))
    _refused(client.get(f"/api/v1/aalten/families?sort=registered_on&cursor={cursor}", headers=coordinator))
    _refused(client.get(f"/api/v1/aalten/matches?cursor={by_id}", headers=coordinator))
    druten = client.get("/api/v1/druten/families?limit=1", headers=world.bearer("druten")).get_json()["next_cursor"]
    _refused(client.get(f"/api/v1/aalten/families?cursor={druten}", headers=coordinator))
    # signed for this very list, but not an id
    for value in ("Familie Jansen", -1, True, 2**70, [1]):
        with app.test_request_context("/api/v1/aalten/families"):
            signed = common._serializer({"sort": "id", "order": "asc"}).dumps(value)
        _refused(client.get(f"/api/v1/aalten/families?cursor={signed}", headers=coordinator))
    assert client.get("/api/v1/aalten/families?limit=201", headers=coordinator).status_code == 422


def _changes(app):
    for path, method, op in _operations(app):
        if method != "get" and VERSIONED.match(path):
            declared = any(p.get("in") == "header" and p.get("name") == "If-Match" and p.get("required")
                           for p in op.get("parameters", []))
            yield method, path, declared, op


def test_every_change_of_a_family_or_match_declares_if_match_412_and_428(app):
    changes = list(_changes(app))
    undeclared = {(method, path) for method, path, declared, _ in changes if not declared}
    assert undeclared == OWN_RECORDS
    for method, path, declared, op in changes:
        if declared:
            assert {"412", "428"} <= set(op["responses"]), path
            success = [s for s in op["responses"] if s.startswith("2")]
            assert success and all("ETag" in op["responses"][s].get("headers", {}) for s in success), path
            assert _short(path) in BODIES, f"{path}: give a valid body in BODIES"


def _short(path: str) -> str:
    return path.removeprefix("/api/v1/{municipality}")


def _concrete(client, world, path: str) -> tuple[str, dict]:
    ids = world.records["aalten"]
    family_id = ids["supporting"] if "/approvals" in path else ids["family"]
    family = client.get(f"/api/v1/aalten/families/{family_id}", headers=world.bearer(R.COORDINATOR)).get_json()
    url = (_short(path).replace("{family_id}", str(family_id)).replace("{match_id}", str(ids["match"]))
           .replace("{member_id}", str(family["members"][0]["id"])).replace("{consent_id}", str(family["consents"][0]["id"])))
    return "/api/v1/aalten" + url, family


def test_every_change_needs_the_current_version(app, client, world):
    person = world.bearer("person")  # approvals need a person
    for method, path, declared, _ in _changes(app):
        if not declared:
            continue
        url, _ = _concrete(client, world, path)
        body = BODIES[_short(path)]
        missing = client.open(url, method=method, json=body, headers=person)
        assert missing.status_code == 428 and missing.get_json()["error"] == "precondition_required", (path, missing.get_json())
        star = client.open(url, method=method, json=body, headers={**person, "If-Match": "*"})
        assert star.status_code == 428 and star.get_json()["error"] == "if_match_star", path
        assert "*" in star.get_json()["message"]
        owner = "/".join(url.split("/")[:6])
        current = client.get(owner, headers=person).headers["ETag"]
        old = re.sub(r"-v\d+\"$", '-v1"', current)
        if old == current:  # make it stale
            client.patch(owner, json={"wishes": "y"}, headers={**person, "If-Match": current})
            current = client.get(owner, headers=person).headers["ETag"]
        stale = client.open(url, method=method, json=body, headers={**person, "If-Match": old})
        assert stale.status_code == 412 and stale.get_json()["error"] == "precondition_failed", (path, stale.get_json())
        assert client.get(owner, headers=person).headers["ETag"] == current, f"{path}: changed all the same"


def test_a_change_answers_the_new_etag(client, world):
    person = world.bearer("person")
    family = client.post("/api/v1/aalten/families", json={"kind": "requesting", "display_name": "Nieuw"},
                         headers=person).get_json()["id"]
    for purpose in ("processing", "evaluation_contact"):
        path = f"/api/v1/aalten/families/{family}/consents"
        assert client.post(path, json={"purpose": purpose, "wording_version": "v1"},
                           headers=if_match(client, path, person)).status_code == 201
    for method, path, body in (("PATCH", "", {"wishes": "z"}), ("POST", "/status", {"status": "intake"}),
                               ("POST", "/members", {"role": "child", "first_name": "Tim"}),
                               ("POST", "/intakes", {"held_on": TODAY}), ("POST", "/triage", {"outcome": "fits"})):
        url = f"/api/v1/aalten/families/{family}{path}"
        sent = if_match(client, url, person)
        response = client.open(url, method=method, json=body, headers=sent)
        assert response.status_code in (200, 201), response.get_json()
        assert response.headers["ETag"] not in (None, sent["If-Match"])
        assert response.headers["ETag"] == client.get(f"/api/v1/aalten/families/{family}", headers=person).headers["ETag"]
    consents = client.get(f"/api/v1/aalten/families/{family}", headers=person).get_json()["consents"]
    url = f"/api/v1/aalten/families/{family}/consents/{consents[1]['id']}/withdraw"
    sent = if_match(client, url, person)
    withdrawn = client.post(url, json={}, headers=sent)
    assert withdrawn.status_code == 200 and withdrawn.headers["ETag"] != sent["If-Match"]
    assert withdrawn.headers["ETag"].startswith('"family-')


def test_members_are_bounded_at_registration_and_when_added(client, world):
    coordinator = {**world.bearer(R.COORDINATOR), "Accept-Language": "en"}
    members = [{"role": "child", "first_name": f"Kind {n}"} for n in range(21)]
    body = {"kind": "requesting", "display_name": "Groot gezin", "members": members}
    refused = client.post("/api/v1/aalten/families", json=body, headers=coordinator)
    assert refused.status_code == 422 and "members" in refused.get_json()["errors"]["json"]
    family = client.post("/api/v1/aalten/families", json={**body, "members": members[:20]}, headers=coordinator)
    assert family.status_code == 201
    url = f"/api/v1/aalten/families/{family.get_json()['id']}/members"
    more = client.post(url, json={"role": "child", "first_name": "Nog een"}, headers=if_match(client, url, coordinator))
    assert more.status_code == 409 and more.get_json()["error"] == "too_many_members"
    assert "20" in more.get_json()["message"]


@pytest.mark.parametrize("field, value", [
    ("languages", ["nl"] * 11), ("problem_areas", ["overload"] * 20), ("support_kinds", ["respite"] * 30),
    ("availability", {f"day{n}": [] for n in range(8)}), ("availability", {"mon": ["morning"] * 10}),
    ("street", "x" * 121), ("email", "a" * 250 + "@example.org"), ("referrer_email", "a" * 250 + "@example.org"),
    ("former_family_id", 2**31), ("former_family_id", 0), ("display_name", "x" * 121),
])
def test_every_field_of_a_family_is_bounded(client, world, field, value):
    body = {"kind": "requesting", "display_name": "Familie", field: value}
    refused = client.post("/api/v1/aalten/families", json=body, headers=world.bearer(R.COORDINATOR))
    assert refused.status_code == 422 and field in refused.get_json()["errors"]["json"], refused.get_json()


def test_free_json_and_ids_are_bounded(client, world):
    coordinator = world.bearer(R.COORDINATOR)
    family = world.records["aalten"]["family"]
    finding = {"rule": "r", "result": "met", "explanation": "e"}
    deep: dict = {}
    for _ in range(12):
        deep = {"a": deep}
    for facts in ({"x": "y" * 17_000}, deep):
        refused = client.post(f"/api/v1/aalten/families/{family}/decisions", headers=coordinator, json={
            "kind": "eligibility", "outcome": "eligible", "findings": [{**finding, "facts": facts}]})
        assert refused.status_code == 422, refused.get_json()
    many = client.post(f"/api/v1/aalten/families/{family}/decisions", headers=coordinator, json={
        "kind": "eligibility", "outcome": "eligible", "findings": [finding] * 51})
    assert many.status_code == 422
    for value in (0, -1, 2**31, 2**63):
        proposed = client.post("/api/v1/aalten/matches", headers=coordinator,
                               json={"requesting_family_id": value, "supporting_family_id": family})
        assert proposed.status_code == 422 and "requesting_family_id" in proposed.get_json()["errors"]["json"]
        assert client.get(f"/api/v1/aalten/matches?family_id={value}", headers=coordinator).status_code == 422


def test_a_name_is_searched_in_the_body_never_in_the_url(client, world):
    coordinator = world.bearer(R.COORDINATOR)
    assert client.get("/api/v1/aalten/families?q=bakker", headers=coordinator).status_code == 422
    for name in ("Familie Bakker", "Familie Bakkers"):
        assert client.post("/api/v1/aalten/families", json={"kind": "requesting", "display_name": name},
                           headers=coordinator).status_code == 201
    names, body = [], {"q": "BAKKER", "limit": 1, "sort": "display_name"}
    while True:
        found = client.post("/api/v1/aalten/families/search", json=body, headers=coordinator).get_json()
        names += [f["display_name"] for f in found["items"]]
        if not found["next_cursor"]:
            break
        assert "akker" not in found["next_cursor"].lower()
        body["cursor"] = found["next_cursor"]
    assert {"Familie Bakker", "Familie Bakkers"} <= set(names) and names == sorted(names)
    assert all("bakker" in n.lower() for n in names)
    assert client.post("/api/v1/aalten/families/search", json={}, headers=coordinator).status_code == 422
