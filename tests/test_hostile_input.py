"""No input gives a 5xx: every route of the app, with hostile path arguments, query strings and bodies.

A property-based sweep (hypothesis, fixed seed) over Flask's URL map as an anonymous client and as a
coordinator (bearer token for the API, a logged-in session for the pages), and a plain test for each
case that once gave 500: a NUL byte in a slug, a lone surrogate in JSON, an id beyond PostgreSQL's
integer, JSON nested 50,000 deep, a 40 MB body, a 405 without ``Allow``.
"""
from __future__ import annotations

import base64
import collections
import io
import json
import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from marshmallow import class_registry

from core import inputs
from core.auth import roles as R

ERROR_KEYS = {"code", "status", "error", "message"}


def _b64(data) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


#: Strings that once broke something, or might: NUL, lone surrogates, numbers out of range, odd cursors.
NASTY = ["", " ", "\x00", "a\x00b", "\ud800", "x\udfffy", "-1", "0", "2147483648", "-2147483649",
         "9223372036854775808", "1" * 5000, "1e309", "NaN", "Infinity", "null", "true", "[]", "{}", "../../etc/passwd",
         "%00", "%", "%ff", "' OR 1=1 --", "x" * 20_000, "é" * 300, "\u202e", "\ufeff",
         _b64({"id": "x"}), _b64([1e300, "a"]), _b64([2**70]), _b64({"after": None}), _b64(b"\xff\xfe\x00"),
         _b64("plain"), "!!!not-base64!!!", "2024-13-45", "0000-00-00", "99999-01-01"]
NASTY_INTS = [0, -1, 1, 2**31 - 1, 2**31, -(2**31) - 1, 2**63, 10**30]


def _field_names() -> list[str]:
    """Every field name of the app's marshmallow schemas (query parameters and JSON keys)."""
    names = set()
    for entries in class_registry._registry.values():
        for schema in entries:
            names.update(getattr(schema, "_declared_fields", {}))
    return sorted(names)


strings = st.sampled_from(NASTY) | st.text(max_size=12) | st.sampled_from(["\x00", "\ud800"]).map(lambda c: f"a{c}")
integers = st.sampled_from(NASTY_INTS) | st.integers()
scalars = st.none() | st.booleans() | integers | st.floats() | strings


def json_values(keys):
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4),
                        max_leaves=12)


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _path_segment(value) -> str:
    return quote(str(value).encode("utf-8", "surrogatepass"), safe="")


class Sweep:
    """The routes of the app and the requests made, counted per route class (api/web and method)."""

    def __init__(self, app, world):
        self.app, self.world = app, world
        self.routes = []
        for rule in app.url_map.iter_rules():
            if rule.endpoint == "static" or "docs" in rule.endpoint:
                continue
            for method in sorted(rule.methods - {"OPTIONS"}):
                self.routes.append((rule, method))
        self.counts = collections.Counter()
        self.keys = _field_names()
        self.anonymous = app.test_client()
        self.web = app.test_client()
        assert world.login(self.web, world.users[R.COORDINATOR]).status_code in (302, 303)
        self.bearer = world.bearer(R.COORDINATOR)
        self.valid = {"municipality": "aalten", "consortium": "achterhoek", "year": 2026,
                      **{f"{kind}_id": world.records["aalten"].get(kind) for kind in ("family", "match", "decision",
                                                                                    "evaluation", "duplicate_flag")}}

    def value_for(self, data, rule, name):
        converter = type(rule._converters[name]).__name__
        if data.draw(st.booleans(), label=f"valid {name}") and self.valid.get(name) is not None:
            return self.valid[name]
        if "Integer" in converter or "Id" in converter:
            return data.draw(integers, label=name)
        return data.draw(strings.filter(lambda s: s and "/" not in s), label=name)

    def request(self, data, rule, method):
        path = rule.rule
        for name in rule.arguments:
            path = re.sub(rf"<(?:[^:<>]+:)?{name}>", _path_segment(self.value_for(data, rule, name)), path)
        query = data.draw(st.lists(st.tuples(st.sampled_from(self.keys) | strings, strings), max_size=3), label="query")
        query_string = "&".join(f"{_path_segment(k)}={_path_segment(v)}" for k, v in query)
        api = rule.rule.startswith("/api/")
        kwargs = {"query_string": query_string}
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            kind = data.draw(st.sampled_from(["json", "deep", "form", "raw"]), label="body")
            if kind == "json":
                kwargs["data"] = json.dumps(data.draw(json_values(st.sampled_from(self.keys) | strings)))
                kwargs["content_type"] = "application/json"
            elif kind == "deep":
                kwargs.update(data=deep(data.draw(st.sampled_from([65, 1000, 5000]))), content_type="application/json")
            elif kind == "form":
                fields = data.draw(st.lists(st.tuples(st.sampled_from(self.keys), strings), max_size=4), label="form")
                kwargs["data"] = "&".join(f"{_path_segment(k)}={_path_segment(v)}" for k, v in fields)
                kwargs["content_type"] = "application/x-www-form-urlencoded"
            else:
                kwargs.update(data=data.draw(st.binary(max_size=64)), content_type="application/json")
        for who, client, headers in (("anonymous", self.anonymous, {}),
                                     ("coordinator", self.anonymous if api else self.web, self.bearer if api else {})):
            self.counts[f"{'api' if api else 'web'} {method} {who}"] += 1
            try:
                response = client.open(path, method=method, headers=headers, **kwargs)
            except Exception as exc:  # noqa: BLE001 - the test client re-raises what the app did not handle
                raise AssertionError(f"{method} {path} as {who}: {exc!r}") from exc
            assert response.status_code < 500, f"{method} {path} as {who}: {response.status_code}"
            if api and response.status_code >= 400 and method != "HEAD":
                body = response.get_json(silent=True)
                report = rule.endpoint == "imports.run_import" and "problem_count" in (body or {})  # its own 422
                assert isinstance(body, dict) and (ERROR_KEYS <= set(body) or report), \
                    f"{method} {path}: {response.data[:200]}"


#: Examples per route and method (each a request as two roles): more finds more, and costs CI time.
EXAMPLES = 8


@pytest.fixture
def sweep(app, world):
    return Sweep(app, world)


def test_no_route_gives_a_5xx_for_hostile_input(sweep):
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def every_route(data):
        for rule, method in sweep.routes:
            sweep.request(data, rule, method)

    every_route()
    print(f"\nhostile input: {sum(sweep.counts.values())} requests over {len(sweep.routes)} routes and methods")
    for route_class, count in sorted(sweep.counts.items()):
        print(f"  {route_class}: {count}")
    assert sum(sweep.counts.values()) >= EXAMPLES * 2 * len(sweep.routes)


# --------------------------------------------------------------------------- the cases that once gave 500

def _error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.data[:300]
    body = response.get_json()
    assert ERROR_KEYS <= set(body) and body["code"] == status
    if code:
        assert body["error"] == code
    return body


def test_a_nul_byte_in_a_slug_is_refused_naming_it(client):
    body = _error(client.get("/api/v1/x%00/families"), 400, "invalid_characters")
    assert body["params"]["field"] == "municipality"
    assert client.get("/x%00/").status_code == 400


def test_a_nul_byte_in_a_query_parameter_or_form_field(client, world):
    body = _error(client.get("/api/v1/aalten/families?q=a%00b", headers=world.bearer(R.COORDINATOR)), 400,
                  "invalid_characters")
    assert body["params"] == {"field": "q"}
    assert client.post("/login", data={"email": "a\x00@example.org", "password": "x"}).status_code == 400


def test_a_lone_surrogate_or_nul_in_json_is_refused_naming_the_field(client, world):
    payload = '{"display_name": "Gezin", "members": [{"first_name": "\\ud800"}]}'
    response = client.post("/api/v1/aalten/families", data=payload, content_type="application/json",
                           headers={**world.bearer(R.COORDINATOR), "Accept-Language": "en"})
    body = _error(response, 400, "invalid_characters")
    assert body["params"]["field"] == "members[0].first_name"
    assert "members[0].first_name" in body["message"] and "not allowed" in body["message"]
    response = client.post("/api/v1/aalten/families", data='{"display_name": "a\\u0000b"}',
                           content_type="application/json", headers=world.bearer(R.COORDINATOR))
    assert _error(response, 400, "invalid_characters")["params"]["field"] == "display_name"
    assert "niet is toegestaan" in response.get_json()["message"]  # Dutch by default


def test_an_id_beyond_the_database_integer_is_not_found(client, world):
    for value in ("2147483648", "0", "9" * 5000):
        response = client.get(f"/api/v1/aalten/families/{value}", headers=world.bearer(R.COORDINATOR))
        _error(response, 404)
    assert client.get("/api/v1/aalten/families/2147483647", headers=world.bearer(R.COORDINATOR)).status_code == 404


def test_json_nested_50000_deep_is_refused(client, world):
    for text in (deep(50_000), '{"a":' * 50_000 + "1" + "}" * 50_000, deep(inputs.MAX_JSON_DEPTH + 1)):
        response = client.post("/api/v1/aalten/families", data=text, content_type="application/json",
                               headers=world.bearer(R.COORDINATOR))
        assert _error(response, 400, "too_deep")["params"] == {"limit": inputs.MAX_JSON_DEPTH}
    assert _error(client.post("/api/v1/aalten/families", data=deep(50_000), content_type="application/json"),
                  400, "too_deep")  # before the access check: nothing is parsed further


class _Unread:
    """A body stream that fails the test when read."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


def test_a_body_over_the_limit_is_refused_without_reading_it(app, client, world):
    size = 40 * 1024 * 1024
    for path in ("/api/v1/aalten/families", "/api/v1/aalten/imports", "/login"):
        response = client.post(path, content_type="application/json", headers=world.bearer(R.COORDINATOR),
                               environ_overrides={"wsgi.input": _Unread(), "CONTENT_LENGTH": str(size)})
        assert response.status_code == 413
        if path.startswith("/api/"):
            assert {"code", "error", "message"} <= set(response.get_json())
    assert app.config["MAX_CONTENT_LENGTH"] == app.config["REQUEST_MAX_BYTES"]
    # the import takes more than the general limit
    response = client.post("/api/v1/aalten/imports", data={"families": (io.BytesIO(b"x" * 2_000_000), "f.csv")},
                           headers=world.bearer(R.COORDINATOR), content_type="multipart/form-data")
    assert response.status_code == 202  # taken, as a background job


def test_405_carries_allow_and_head_and_options_behave(client, world):
    response = client.put("/api/v1/aalten/families", json={}, headers=world.bearer(R.COORDINATOR))
    body = _error(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert "POST" in body["message"]
    assert "GET" in client.put("/healthz").headers["Allow"]
    response = client.options("/api/v1/aalten/families")
    assert response.status_code == 200 and "POST" in response.headers["Allow"]
    assert client.head("/api/v1/aalten/families", headers=world.bearer(R.COORDINATOR)).status_code == 200
    assert client.head("/healthz").status_code == 200


def test_garbage_in_cookies_headers_and_encodings(client, world):
    client.set_cookie("session", "garbage.garbage.garbage")
    assert client.get("/").status_code < 500
    client.set_cookie("session", "eyJ4IjoxfQ.Zz9Zzw.wrong-signature")
    assert client.get("/aalten/").status_code < 500
    client.set_cookie("remember_token", "1|" + "\x7f" * 50)
    assert client.get("/aalten/").status_code < 500
    for path in ("/%ff%fe/", "/api/v1/%ff/families", "/api/v1/aalten/families/%ED%A0%80", "/%", "/api/v1/%zz"):
        assert client.get(path).status_code < 500, path
    for header in ({"Authorization": "Bearer \x7f\x00"}, {"Authorization": "Bearer " + "k" * 10_000},
                   {"Authorization": "Basic"}, {"Accept-Language": "\x00;q=x,,;;"}, {"Host": "a" * 300},
                   {"Host": "[::1"}, {"If-Match": '"\x00"'}, {"Content-Type": "application/json; charset=x-bogus"}):
        response = client.post("/api/v1/aalten/families", data="{}", headers=header,
                               content_type=header.get("Content-Type", "application/json"))
        assert response.status_code < 500, header
