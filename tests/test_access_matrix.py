"""Every route × every role × every relation to the tenant, built from Flask's URL map.

A route whose view declares no access (``requires`` or ``public``) fails
here, so a new route cannot slip in unchecked. The expected answer comes
from the view's declaration and the small table of grants below, not from
the code under test.
"""
import pytest
from sqlalchemy import inspect, text

from core.auth import roles as R
from core.auth.access import CONSORTIUM, PLATFORM, PUBLIC, PUBLIC_TENANT, TENANT, USER
from tests.conftest import make_app

#: Endpoints that frameworks add, each public on purpose.
FRAMEWORK_PUBLIC = {"static", "api-docs.openapi_json"}

#: What each URL variable points at, per relation of the target to the principals' own tenant (Aalten).
TARGETS = {
    "municipality": {"own": "aalten", "sibling": "berkelland", "foreign": "druten"},
    "consortium": {"own": "achterhoek", "sibling": "achterhoek", "foreign": "nijmegen-regio"},
}

#: For which relations a principal of each role holds any role at all (see tests/conftest.py world).
HOLDS = {
    TENANT: {
        R.COORDINATOR: {"own"}, R.TENANT_ADMIN: {"own"}, R.FUNDER: {"own"},
        R.CONSORTIUM_ADMIN: {"own", "sibling"}, R.PLATFORM_ADMIN: {"own", "sibling", "foreign"},
    },
    CONSORTIUM: {
        R.COORDINATOR: set(), R.TENANT_ADMIN: set(), R.FUNDER: set(),
        R.CONSORTIUM_ADMIN: {"own", "sibling"}, R.PLATFORM_ADMIN: {"own", "sibling", "foreign"},
    },
}

RELATIONS = ("own", "sibling", "foreign")
REFUSED = {401, 403, 404}


def _view_access(app, endpoint, method):
    view = app.view_functions[endpoint]
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        view = getattr(view_class, method.lower())
    return getattr(view, "access", None)


def _routes():
    app = make_app("sqlite", None, SQLALCHEMY_DATABASE_URI="sqlite://")
    routes = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append(pytest.param(rule.rule, rule.endpoint, method, id=f"{method} {rule.rule}"))
    return routes


#: A file each framework endpoint serves (the static folder's stylesheet).
STATIC_FILES = {"static": {"filename": "koppel.css"}}

#: URL variables that are not ``<table>_id`` nor a slug above.
STATIC = {"year": 2026, "filename": "swagger-ui.css", "token": "x"}


def _object_id(conn, table: str, tenant_slug: str, chosen: dict) -> int:
    """An existing row of *table* in the tenant, consistent with the ids already chosen (e.g. its family)."""
    columns = {c["name"] for c in inspect(conn).get_columns(table)}
    where = ["tenant_id = (SELECT id FROM municipality WHERE slug = :slug)"]
    params = {"slug": tenant_slug}
    for name, value in chosen.items():
        if name in columns:
            where.append(f"{name} = :{name}")
            params[name] = value
    found = conn.execute(text(f"SELECT id FROM {table} WHERE {' AND '.join(where)} ORDER BY id LIMIT 1"), params).scalar()
    assert found is not None, f"no {table} row in {tenant_slug} for the matrix; add one in tests/conftest.py populate()"
    return found


def _url(app, owner_engine, endpoint, method, relation):
    """The URL of *endpoint* with slugs for *relation* and ids of existing objects of that tenant.

    ``own-url-foreign-object`` puts another consortium's object ids under the principal's own slug.
    """
    (rule,) = [r for r in app.url_map.iter_rules(endpoint) if method in r.methods]
    slugs = "own" if relation == "own-url-foreign-object" else relation
    object_tenant = TARGETS["municipality"]["foreign" if relation == "own-url-foreign-object" else relation]
    values, chosen = {}, {}
    with owner_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
        for name in sorted(rule.arguments, key=rule.rule.index):
            if name in TARGETS:
                values[name] = TARGETS[name][slugs]
            elif name in STATIC:
                values[name] = STATIC[name]
            else:
                assert name.endswith("_id"), f"{rule}: no test value for <{name}>; name it <table>_id or add to STATIC"
                values[name] = chosen[name] = _object_id(conn, name[:-3], object_tenant, chosen)
    return app.url_map.bind("localhost").build(endpoint, values, method=method)


def _has_object_ids(app, endpoint) -> bool:
    return any(a.endswith("_id") for r in app.url_map.iter_rules(endpoint) for a in r.arguments)


def _expected(access, role, relation):
    """'ok', or the refusing status code."""
    if relation == "own-url-foreign-object":  # object-level check: another tenant's id is not found
        refused = _expected(access, role, "own")
        return 404 if refused == "ok" and access.scope != PLATFORM else refused
    if access.scope in (USER, PUBLIC, PUBLIC_TENANT):
        return "ok"
    if access.scope == PLATFORM:
        return "ok" if role in access.roles else 403
    if relation not in HOLDS[access.scope][role]:
        return 404
    return "ok" if role in access.roles else 403


def _check(response, expected, what):
    if expected == "ok":
        assert response.status_code not in REFUSED and response.status_code < 500, (
            f"{what}: expected access, got {response.status_code} {response.get_data(as_text=True)[:200]}")
    else:
        assert response.status_code == expected, (
            f"{what}: expected {expected}, got {response.status_code} {response.get_data(as_text=True)[:200]}")


@pytest.mark.parametrize("rule,endpoint,method", _routes())
def test_route(app, world, owner_engine, rule, endpoint, method):
    access = _view_access(app, endpoint, method)
    if endpoint in FRAMEWORK_PUBLIC:  # public on purpose: anyone gets it, with or without a token
        url = app.url_map.bind("localhost").build(endpoint, STATIC_FILES.get(endpoint, {}), method=method)
        for headers in ({}, world.bearer("druten"), world.bearer(R.COORDINATOR)):
            response = app.test_client().open(url, method=method, headers=headers)
            assert response.status_code == 200 and response.get_data(), f"{method} {rule}: {response.status_code}"
        return
    assert access is not None, f"{method} {rule} ({endpoint}) declares no access: decorate it with requires() or public"
    api = rule.startswith("/api/")
    body = {"json": {}} if api and method in ("POST", "PUT", "PATCH") else {}

    def call(client, relation, headers=None):
        response = client.open(_url(app, owner_engine, endpoint, method, relation), method=method, headers=headers or {}, **body)
        if method != "GET":  # undo what an allowed write may have done to the shared world
            with owner_engine.begin() as conn:
                conn.execute(text("UPDATE municipality SET status = 'active'"))
        return response

    clients = {}
    relations = RELATIONS + (("own-url-foreign-object",) if _has_object_ids(app, endpoint) else ())
    for relation in relations:
        # no login at all
        response = call(app.test_client(), relation)
        if access.scope not in (PUBLIC, PUBLIC_TENANT):
            if api:
                _check(response, 401, f"anonymous {method} {rule} [{relation}]")
            else:
                assert response.status_code == 302 and "/login" in response.headers["Location"], (
                    f"anonymous {method} {rule}: {response.status_code}")
        # a valid token of another tenant (Druten: coordinator + tenant admin)
        if api and relation != "own-url-foreign-object":
            expected = "ok" if access.scope in (USER, PUBLIC, PUBLIC_TENANT) else 403 if access.scope == PLATFORM else 404
            if relation == "foreign" and access.scope == TENANT:
                expected = "ok" if access.roles & {R.COORDINATOR, R.TENANT_ADMIN} else 403
            _check(call(app.test_client(), "own" if relation != "foreign" else "foreign", world.bearer("druten")),
                   expected, f"Druten token {method} {rule} [{relation}]")
        # each role, by token on the API and by session on the web
        for role in R.ROLES:
            client = clients.get(role)
            if client is None:
                client = clients[role] = app.test_client()
                if not api:
                    assert world.login(client, world.users[role]).status_code == 302
            _check(call(client, relation, world.bearer(role) if api else None),
                   _expected(access, role, relation), f"{role} {method} {rule} [{relation}]")
            if endpoint == "web.logout":
                del clients[role]


def test_every_refusal_is_audited(app, world, owner_engine):
    client = app.test_client()
    assert client.get("/api/v1/druten", headers=world.bearer(R.COORDINATOR)).status_code == 404
    assert client.get("/api/v1/aalten/audit-events", headers=world.bearer(R.COORDINATOR)).status_code == 403
    assert client.get("/api/v1/aalten/audit-events").status_code == 401
    with owner_engine.begin() as conn:
        conn.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)")) if conn.dialect.name == "postgresql" else None
        rows = conn.execute(text(
            "SELECT tenant_id, outcome, actor FROM audit_event WHERE action = 'access' ORDER BY id")).all()
    assert [(r.tenant_id, r.outcome) for r in rows] == [
        (world.ids["druten"], "denied"), (world.ids["aalten"], "denied"), (world.ids["aalten"], "denied")]
    assert [r.actor for r in rows] == ["token:coordinator token", "token:coordinator token", None]
