"""Two tenants, random work, and no answer that holds the other tenant's ids (ASVS 8.2.2: IDOR/BOLA).

A hypothesis state machine on PostgreSQL (row-level security, the app's database role), through the
API with bearer tokens: two municipalities of one consortium, each with a coordinator's and a tenant
admin's token, create families with members, intakes, consents, status changes and matches, read
lists and single objects (their own ids and the other tenant's), reports, KPIs, funding statements,
exports and export schedules, and change their policy. After every step:

* no answer to one tenant holds an id of a row the other tenant owns (or of a user only the other
  tenant has): the JSON is walked, and any other body searched, for those ids;
* a request naming the other tenant's id answers exactly as one naming an id that exists nowhere (404,
  or for a reference in a body 422 "no such family"): nothing tells the two apart;
* the other tenant's URL answers 404; no answer is a 5xx.

The ids cannot be mistaken for anything else: before each example every table's id sequence starts at
its own multiple of ten million, so every id in the database is unique across tables and larger than
any count, amount or year in an answer. Each example starts with two new municipalities. The counts of
examples, steps and rules run are printed.
"""
from __future__ import annotations

import collections
import json
import re
import time
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import text

from core.auth import roles as R
from core.auth import tokens
from core.extensions import db
from core.policy import facts
from tenants import onboarding
from tenants.context import cross_tenant_scope

from tests.conftest import _owner_engine, _truncate, add_user, enable_policy

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

TENANTS = ("aalten", "berkelland")
#: Every table's ids start at its own multiple of this.
ID_STRIDE = 10_000_000
#: An id that no table reaches in a test: the answer for it is what "not there" looks like.
NOWHERE = 2_100_000_000
TODAY = date.today()
POLICIES = [
    {"eligibility.no_conditions": {}, "screening.vog": {}, "report.csv": {}, "report.json": {}},
    {"eligibility.no_conditions": {}, "screening.vog": {}, "report.csv": {}, "report.json": {}, "report.xlsx": {},
     "funding.per_match": {}},
    {"eligibility.poverty": {"percentage": 120}, "screening.vog": {}, "report.json": {}},
]
#: An id in a text: 8 to 10 digits, or grouped by thousands as a message writes it (150.000.000).
_DIGITS = re.compile(r"(?<![\d.,])(?:\d{8,10}|\d{1,3}(?:[.,\u00a0]\d{3}){2,3})(?![\d])")
_NUMBER = re.compile(r"\d[\d.,\u00a0]*")
COUNTS: collections.Counter = collections.Counter()
#: Examples (each with two new municipalities) and steps in each: about 20 s on one CPU.
EXAMPLES, STEPS = 5, 25


def _numbers(value, out: set) -> set:
    """Every integer in a JSON value, and every run of 8 to 10 digits in its strings and keys."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bool):
            continue
        if isinstance(item, int):
            out.add(item)
        elif isinstance(item, str):
            out.update(int(re.sub(r"\D", "", d)) for d in _DIGITS.findall(item))
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out


def _spread_ids(app) -> None:
    """Start each id sequence at its own multiple of ID_STRIDE (as the owner)."""
    engine = _owner_engine(app)
    with engine.begin() as conn:
        names = conn.execute(text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' "
                                  "ORDER BY sequencename")).scalars().all()
        for number, name in enumerate(names, start=1):
            conn.execute(text("SELECT setval(CAST(:s AS regclass), :v, false)"), {"s": name, "v": number * ID_STRIDE})
    engine.dispose()
    assert len(names) * ID_STRIDE < NOWHERE


def _owned_tables(engine) -> list[str]:
    """The tables with a ``tenant_id`` and an integer ``id`` (a data key's id is a random string, never answered)."""
    with engine.begin() as conn:
        return conn.execute(text(
            "SELECT c.table_name FROM information_schema.columns c JOIN information_schema.columns i "
            "ON i.table_name = c.table_name AND i.table_schema = c.table_schema AND i.column_name = 'id' "
            "WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' AND i.data_type IN ('integer', 'bigint') "
            "ORDER BY 1")).scalars().all()


def _owned_ids(engine, tables: list[str], tenant_ids: dict[str, int]) -> dict[str, set[int]]:
    """Per tenant: the ids of every row it owns, and of the users whose only memberships are its own."""
    out = {slug: set() for slug in tenant_ids}
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
        union = " UNION ALL ".join(f"SELECT tenant_id, id FROM {t}" for t in tables)
        for tenant_id, row_id in conn.execute(text(union)):
            for slug, wanted in tenant_ids.items():
                if tenant_id == wanted:
                    out[slug].add(row_id)
        rows = conn.execute(text("SELECT user_id, array_agg(DISTINCT municipality_id) FROM membership "
                                 "GROUP BY user_id")).all()
        for user_id, municipalities in rows:
            for slug, wanted in tenant_ids.items():
                if municipalities == [wanted]:
                    out[slug].add(user_id)
    return out


class TwoTenants(RuleBasedStateMachine):
    """Two municipalities at work side by side; see the module's docstring."""

    app = None  # set by the test
    owner = None  # an engine as the table owner, likewise
    tables: list[str] = []  # the tenant-owned tables

    def __init__(self):
        super().__init__()
        started = time.monotonic()
        app = self.app
        COUNTS["examples"] += 1
        number = COUNTS["examples"]
        with app.app_context():
            self.ids, self.headers, self.slugs = {}, {}, {}
            with cross_tenant_scope("platform-maintenance"):
                region = onboarding.add_consortium(f"Regio {number}", f"regio-{number}")
                for side, slug in enumerate(TENANTS):
                    self.slugs[slug] = f"{slug}-{number}"
                    municipality = onboarding.add_municipality(region, name=f"{slug.title()} {number}",
                                                               cbs_code=f"GM{number * 2 + side:04d}",
                                                               slug=self.slugs[slug], inhabitants=30000)
                    for role in (R.COORDINATOR, R.TENANT_ADMIN, R.FUNDER):
                        user = add_user(f"{role.replace('_', '-')}@{self.slugs[slug]}.example", role,
                                        municipality=municipality)
                        db.session.flush()
                        if role != R.FUNDER:
                            raw, _ = tokens.create(f"{slug} {role}", [role], municipality=municipality, created_by=user)
                            self.headers[(slug, role)] = {"Authorization": f"Bearer {raw}"}
                    self.ids[slug] = municipality.id
                db.session.commit()
            for slug in TENANTS:
                enable_policy(self.ids[slug], POLICIES[0])
        self.client = app.test_client()
        self.families = {slug: {"requesting": [], "supporting": []} for slug in TENANTS}
        self.matches = {slug: [] for slug in TENANTS}
        self.schedules = {slug: [] for slug in TENANTS}
        self.answers: list[tuple[str, object, set]] = []  # (tenant asking, body, ids the request named)
        COUNTS["setup seconds"] += round(time.monotonic() - started, 1)

    # ----------------------------------------------------------------------------- requests

    def call(self, slug, role, method, path, json_body=None, *, url_slug=None, named=(), etag_of=None):
        """A request of *slug*'s *role* to ``/api/v1/<url_slug or slug><path>``; never a 5xx."""
        headers = dict(self.headers[(slug, role)])
        base = f"/api/v1/{self.slugs[url_slug or slug]}"
        if etag_of is not None:
            tag = self.client.get(base + etag_of, headers=headers).headers.get("ETag")
            if tag:
                headers["If-Match"] = tag
        response = self.client.open(base + path, method=method, json=json_body, headers=headers)
        COUNTS[f"{method} {re.sub(r'/[0-9]+', '/<id>', path.split('?')[0])}"] += 1
        assert response.status_code < 500, (method, path, response.status_code, response.get_data()[:300])
        body = response.get_json(silent=True)
        if body is None:
            body = response.get_data().decode("utf-8", "replace")
        body = {"body": body, "location": response.headers.get("Location", "")}
        self.answers.append((slug, body, set(named)))
        return response

    def other(self, slug):
        return TENANTS[1 - TENANTS.index(slug)]

    def same_as_nowhere(self, slug, role, method, path_of, body_of, their_id):
        """The answer for the other tenant's *their_id* is the answer for an id that exists nowhere."""
        theirs = self.call(slug, role, method, path_of(their_id), body_of(their_id), named={their_id})
        nowhere = self.call(slug, role, method, path_of(NOWHERE), body_of(NOWHERE), named={NOWHERE})
        assert theirs.status_code in (404, 422), (path_of(their_id), theirs.status_code)
        assert theirs.status_code == nowhere.status_code
        assert _NUMBER.sub("<n>", json.dumps(theirs.get_json(), ensure_ascii=False)) == \
            _NUMBER.sub("<n>", json.dumps(nowhere.get_json(), ensure_ascii=False))
        return theirs.status_code

    # ----------------------------------------------------------------------------- creates

    @rule(slug=st.sampled_from(TENANTS), kind=st.sampled_from(["requesting", "supporting"]),
          children=st.integers(0, 2), ready=st.booleans())
    def create_family(self, slug, kind, children, ready):
        registered = (TODAY - timedelta(days=90)).isoformat()
        body = {"kind": kind, "display_name": f"Familie {kind}", "registered_on": registered,
                "members": [{"role": "adult", "first_name": "Anna", "last_name": "Jansen",
                             "vog_issued_on": registered if kind == "supporting" else None}]}
        if kind == "supporting":
            body.update(capacity_children=2, capacity_age_min=0, capacity_age_max=12)
        else:
            body["members"] += [{"role": "child", "first_name": f"Kind {n}", "date_of_birth": "2018-03-04"}
                                for n in range(children)]
            body.update(problem_areas=["overload"], household_income=1500)
        response = self.call(slug, R.COORDINATOR, "POST", "/families", body)
        assert response.status_code == 201, response.get_json()
        family = response.get_json()["id"]
        if not ready:
            return
        for purpose in ("processing", "share_with_referrer", "evaluation_contact"):
            self.call(slug, R.COORDINATOR, "POST", f"/families/{family}/consents",
                      {"purpose": purpose, "wording_version": "v1", "given_on": registered})
        steps = ["intake", "waiting"] if kind == "requesting" else ["screening", "available"]
        for status in steps:
            answer = self.call(slug, R.COORDINATOR, "POST", f"/families/{family}/status", {"status": status},
                               etag_of=f"/families/{family}")
            assert answer.status_code == 200, answer.get_json()
        self.families[slug][kind].append(family)

    @precondition(lambda self: any(self.families[s]["requesting"] for s in TENANTS))
    @rule(data=st.data())
    def record_intake(self, data):
        slug = data.draw(st.sampled_from([s for s in TENANTS if self.families[s]["requesting"]]))
        family = data.draw(st.sampled_from(self.families[slug]["requesting"]))
        self.call(slug, R.COORDINATOR, "POST", f"/families/{family}/intakes",
                  {"held_on": TODAY.isoformat(), "notes": "Gesprek bij het gezin thuis."},
                  etag_of=f"/families/{family}")

    @precondition(lambda self: any(self.families[s]["requesting"] and self.families[s]["supporting"]
                                   for s in TENANTS))
    @rule(data=st.data())
    def propose_match(self, data):
        slug = data.draw(st.sampled_from([s for s in TENANTS if self.families[s]["requesting"]
                                          and self.families[s]["supporting"]]))
        requesting = data.draw(st.sampled_from(self.families[slug]["requesting"]))
        supporting = data.draw(st.sampled_from(self.families[slug]["supporting"]))
        response = self.call(slug, R.COORDINATOR, "POST", "/matches", {
            "requesting_family_id": requesting, "supporting_family_id": supporting,
            "proposed_on": (TODAY - timedelta(days=30)).isoformat()})
        if response.status_code == 201:  # else refused by the policy, the capacity or an open match: a 4xx
            self.matches[slug].append(response.get_json()["id"])

    @precondition(lambda self: any(self.matches[s] for s in TENANTS))
    @rule(data=st.data(), step=st.sampled_from(["introduce", "cancel"]))
    def move_match(self, data, step):
        slug = data.draw(st.sampled_from([s for s in TENANTS if self.matches[s]]))
        match = data.draw(st.sampled_from(self.matches[slug]))
        self.call(slug, R.COORDINATOR, "POST", f"/matches/{match}/{step}", {}, etag_of=f"/matches/{match}")

    @rule(slug=st.sampled_from(TENANTS))
    def create_export_schedule(self, slug):
        response = self.call(slug, R.TENANT_ADMIN, "POST", "/export-schedules", {
            "funder_email": f"funder@{self.slugs[slug]}.example", "cron": "0 6 1 * *", "period": "month", "format": "json",
            "channel": "download"})
        if response.status_code == 201:
            self.schedules[slug].append(response.get_json()["id"])

    @rule(slug=st.sampled_from(TENANTS), policy=st.sampled_from(range(len(POLICIES))))
    def change_policy(self, slug, policy):
        response = self.call(slug, R.TENANT_ADMIN, "PUT", "/policy", {"plugins": POLICIES[policy],
                                                                       "note": "state machine"})
        assert response.status_code in (200, 201, 409), response.get_json()  # 409: that policy already

    # ----------------------------------------------------------------------------- reads

    @rule(slug=st.sampled_from(TENANTS), path=st.sampled_from([
        "/families", "/families?kind=requesting", "/matches", "/duplicates", "/evaluations", "/work-items",
        "/notifications", "/policy", "/policy/versions", "/export-schedules", "/exports", "/imports", "/targets",
        "/scheduled-work/items", "/kpis", f"/reports/programme?start={TODAY.year}-01-01&end={TODAY.isoformat()}",
        f"/reports/programme?format=csv&start={TODAY.year}-01-01&end={TODAY.isoformat()}", ""]),
          role=st.sampled_from([R.COORDINATOR, R.TENANT_ADMIN]))
    def read_list(self, slug, path, role):
        self.call(slug, role, "GET", path)

    @rule(slug=st.sampled_from(TENANTS), media_format=st.sampled_from(["json", "csv"]))
    def funding_statement(self, slug, media_format):
        self.call(slug, R.TENANT_ADMIN, "GET", f"/funding-statement?format={media_format}")

    @rule(slug=st.sampled_from(TENANTS))
    def search(self, slug):
        self.call(slug, R.COORDINATOR, "POST", "/families/search", {"q": "familie"})

    @precondition(lambda self: any(self.families[s]["requesting"] or self.families[s]["supporting"]
                                   for s in TENANTS))
    @rule(data=st.data(), sub=st.sampled_from(["", "/decisions", "/contacts", "/match-suggestions"]))
    def read_own_family(self, data, sub):
        slug = data.draw(st.sampled_from([s for s in TENANTS if any(self.families[s].values())]))
        family = data.draw(st.sampled_from(sum(self.families[slug].values(), [])))
        response = self.call(slug, R.COORDINATOR, "GET", f"/families/{family}{sub}")
        assert response.status_code in (200, 409), response.get_json()

    @precondition(lambda self: any(self.matches[s] for s in TENANTS))
    @rule(data=st.data(), sub=st.sampled_from(["", "/evaluations", "/contacts"]))
    def read_own_match(self, data, sub):
        slug = data.draw(st.sampled_from([s for s in TENANTS if self.matches[s]]))
        match = data.draw(st.sampled_from(self.matches[slug]))
        assert self.call(slug, R.COORDINATOR, "GET", f"/matches/{match}{sub}").status_code == 200

    # ----------------------------------------------------------------------------- across the boundary

    def _theirs(self, data, slug, kind):
        """One of the other tenant's ids of *kind*, or None."""
        found = {"family": sum(self.families[self.other(slug)].values(), []),
                 "match": self.matches[self.other(slug)], "schedule": self.schedules[self.other(slug)]}[kind]
        return data.draw(st.sampled_from(found)) if found else None

    @rule(data=st.data(), slug=st.sampled_from(TENANTS), kind=st.sampled_from(["family", "match", "schedule"]),
          how=st.sampled_from(["get", "sub", "change"]))
    def read_or_change_their_object(self, data, slug, kind, how):
        their = self._theirs(data, slug, kind)
        if their is None:
            return
        path = {"family": "/families/{}", "match": "/matches/{}", "schedule": "/export-schedules/{}"}[kind]
        role = R.TENANT_ADMIN if kind == "schedule" else R.COORDINATOR
        method, suffix, body = {
            ("family", "get"): ("GET", "", None), ("family", "sub"): ("GET", "/decisions", None),
            ("family", "change"): ("POST", "/status", {"status": "closed"}),
            ("match", "get"): ("GET", "", None), ("match", "sub"): ("GET", "/evaluations", None),
            ("match", "change"): ("POST", "/cancel", {}),
            ("schedule", "get"): ("GET", "", None), ("schedule", "sub"): ("DELETE", "", None),
            ("schedule", "change"): ("PATCH", "", {"active": False}),
        }[(kind, how)]
        assert self.same_as_nowhere(slug, role, method, lambda i: path.format(i) + suffix, lambda i: body, their) == 404

    @rule(data=st.data(), slug=st.sampled_from(TENANTS), field=st.sampled_from(["requesting", "supporting",
                                                                                "former"]))
    def refer_to_their_family(self, data, slug, field):
        """A match or family naming the other tenant's family: refused as a family that is nowhere."""
        their = self._theirs(data, slug, "family")
        mine = self.families[slug]["requesting" if field == "supporting" else "supporting"]
        if their is None or not mine:
            return
        if field == "former":
            def body(i):
                return {"kind": "supporting", "display_name": "Oud-vraaggezin", "former_family_id": i}
            self.same_as_nowhere(slug, R.COORDINATOR, "POST", lambda i: "/families", body, their)
            return
        own = mine[0]

        def body(i):
            pair = {"requesting_family_id": i, "supporting_family_id": own} if field == "requesting" else {
                "requesting_family_id": own, "supporting_family_id": i}
            return {**pair, "proposed_on": TODAY.isoformat()}
        self.same_as_nowhere(slug, R.COORDINATOR, "POST", lambda i: "/matches", body, their)

    @rule(slug=st.sampled_from(TENANTS), path=st.sampled_from(["/families", "/matches", "/kpis", "/policy",
                                                                "/exports", "/reports/programme", ""]))
    def their_municipality(self, slug, path):
        response = self.call(slug, R.TENANT_ADMIN, "GET", path, url_slug=self.other(slug))
        assert response.status_code == 404

    # ----------------------------------------------------------------------------- the invariant

    @invariant()
    def no_answer_holds_the_other_tenants_ids(self):
        if not self.answers:
            return
        owned = _owned_ids(self.owner, self.tables, self.ids)
        for slug, body, named in self.answers:
            leaked = (_numbers(body, set()) & owned[self.other(slug)]) - named
            assert not leaked, f"an answer to {slug} holds {self.other(slug)}'s ids {sorted(leaked)}: {body}"
        COUNTS["answers checked"] += len(self.answers)
        COUNTS["steps"] += 1
        self.answers = []


def test_asvs_8_2_2_two_tenants_never_see_each_others_ids(app, record_property):
    """Each example has two new municipalities of its own (a fresh state without emptying the database)."""
    _spread_ids(app)
    TwoTenants.app, TwoTenants.owner = app, _owner_engine(app)
    TwoTenants.tables = _owned_tables(TwoTenants.owner)
    COUNTS.clear()
    try:
        run_state_machine_as_test(TwoTenants, settings=settings(
            max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, derandomize=True, database=None,
            phases=[Phase.generate], suppress_health_check=list(HealthCheck)))
    finally:
        TwoTenants.owner.dispose()
        with app.app_context():
            _truncate(app)  # the next test's app fixture starts clean; the sequences too
    lines = [f"two-tenant state machine: {COUNTS['examples']} examples, {COUNTS['steps']} steps, "
             f"{COUNTS['answers checked']} answers checked"]
    lines += [f"  {name}: {count}" for name, count in sorted(COUNTS.items())
              if name not in ("examples", "steps", "answers checked")]
    record_property("summary", "\n".join(lines))  # printed at the end of the run (tests/conftest.py), also under xdist
    assert COUNTS["examples"] >= EXAMPLES and COUNTS["steps"] >= EXAMPLES * STEPS // 2
    assert sum(c for n, c in COUNTS.items() if "/<id>" in n) > 0  # the other tenant's ids were tried
