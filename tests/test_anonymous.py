"""What a request without credentials learns: the same answer for a municipality that exists and one that does not
(API and pages), at the same cost; and the security headers, with HSTS in production only."""
from __future__ import annotations

import base64

import pytest

from core import cache, config
from core.extensions import db
from tests.queries import count_statements

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

REQUESTS = [("GET", "/api/v1/{}/families", None), ("GET", "/api/v1/{}/families/1", None),
            ("POST", "/api/v1/{}/families", {"kind": "requesting", "display_name": "X"}),
            ("GET", "/api/v1/{}/kpis", None), ("GET", "/api/v1/consortia/{}/kpis", None)]


def _answer(response, slug: str) -> tuple:
    """Status, body and headers (not the date; the length follows the body), the slug made neutral."""
    headers = sorted((k, v.replace(slug, "<slug>")) for k, v in response.headers.items() if k not in ("Date", "Content-Length"))
    return response.status_code, response.get_data(as_text=True).replace(slug, "<slug>"), headers


def test_anonymous_api_answers_the_same_whether_the_municipality_exists_or_not(app, client, world):
    for method, path, body in REQUESTS:
        for headers in ({}, {"Authorization": "Bearer kpl_not-a-token"}):
            place = "achterhoek" if "consortia" in path else "aalten"
            known = client.open(path.format(place), method=method, json=body, headers=headers)
            unknown = client.open(path.format("nowhere"), method=method, json=body, headers=headers)
            assert known.status_code == 401, (path, known.get_json())
            assert _answer(known, place) == _answer(unknown, "nowhere"), path
    assert known.get_json()["error"] == "unauthenticated" and known.headers["WWW-Authenticate"]
    # with a token of another municipality: not found, alike
    druten = world.bearer("druten")
    assert _answer(client.get("/api/v1/aalten/families", headers=druten), "aalten") == \
        _answer(client.get("/api/v1/nowhere/families", headers=druten), "nowhere")
    assert client.get("/api/v1/nowhere/families", headers=druten).status_code == 404


def test_an_unknown_municipality_costs_what_a_known_one_costs(app, client, world, monkeypatch):
    """The slug's lookup is cached for unknown slugs as for known ones, so neither is measurably slower (and either
    refusal writes one audit event: in the municipality's log, or the platform's)."""
    monkeypatch.setitem(app.extensions["koppel.cache"], "tenants", cache.ShortCache(10))
    seen = {}
    for slug in ("aalten", "nowhere", "aalten", "nowhere"):
        with app.app_context(), count_statements(db.engine) as statements:
            assert client.get(f"/api/v1/{slug}/families").status_code == 401
        seen.setdefault(slug, []).append(sum("FROM municipality" in statement for statement in statements))
    assert seen["aalten"] == seen["nowhere"] == [1, 0]  # one lookup, then the cache


def test_anonymous_pages_send_to_the_login_alike_and_only_the_public_form_says_a_municipality_is_unknown(
        client, world):
    for path, place in (("/{}/families", "aalten"), ("/{}/", "aalten"), ("/{}/admin/users", "aalten"),
                        ("/regio/{}/", "achterhoek")):
        known, unknown = client.get(path.format(place)), client.get(path.format("nowhere"))
        assert known.status_code == 302 and "/login?next=" in known.headers["Location"]
        assert _answer(known, place) == _answer(unknown, "nowhere"), path
    assert client.get("/aalten/register").status_code == 200
    assert client.get("/nowhere/register").status_code == 404  # which municipalities take part is public
    assert client.post("/api/v1/nowhere/registrations", json={}).status_code == 404


def test_asvs_3_4_1_hsts_in_production_and_not_in_the_embedded_default(app, client, monkeypatch, tmp_path):
    required = {"SECRET_KEY": "s" * 40, "FIELD_ENCRYPTION_KEYS": "2026a:" + base64.b64encode(bytes(32)).decode()}
    production = config.load(str(tmp_path), {"KOPPEL_ENV": "production", **required})
    assert production["HSTS"] == "max-age=31536000; includeSubDomains"
    assert config.load(str(tmp_path), {"KOPPEL_ENV": "development"})["HSTS"] is None
    assert "Strict-Transport-Security" not in client.get("/login").headers  # the testing app, as the demo
    monkeypatch.setitem(app.config, "HSTS", production["HSTS"])
    for response in (client.get("/login"), client.get("/api/v1/aalten/families"), client.get("/healthz")):
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_asvs_3_4_4_nosniff_and_the_other_security_headers_on_pages_api_and_errors(client):
    for response in (client.get("/login"), client.get("/api/v1/aalten/families"), client.get("/nowhere/x")):
        headers = response.headers
        assert headers["Content-Security-Policy"] == (  # 3.4.3 (object-src, base-uri), 3.4.6 (frame-ancestors)
            "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
        assert headers["X-Content-Type-Options"] == "nosniff"  # 3.4.4
        assert headers["Referrer-Policy"] == "same-origin"  # 3.4.5
        assert headers["X-Frame-Options"] == "DENY"
