"""Passwords, login throttling, web sessions, CSRF and API tokens."""
from datetime import timedelta

import pytest
from marshmallow import ValidationError
from sqlalchemy import select, text, update

from core.audit import AuditEvent
from core.auth import passwords, tokens
from core.auth import roles as R
from core.auth.models import ApiToken, UserSession
from core.extensions import db
from core.types import utcnow
from tests.conftest import PASSWORD, make_app


def _audit(owner_engine, action):
    with owner_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
        table = AuditEvent.__table__
        return conn.execute(select(table.c.outcome, table.c.actor, table.c.detail)
                            .where(table.c.action == action).order_by(table.c.id)).all()


# --- password policy -----------------------------------------------------------------------------

@pytest.mark.parametrize("password,problem", [
    ("kort-wacht", "at least 12"),
    ("wachtwoord1234", "too common"),
    ("Password123456!!", "too common"),  # a common word with digits and punctuation appended
    ("aaaaaaaaaaaaaaaa", "too common"),
    ("jan.jansen-geheim-2026", "e-mail name"),
])
def test_the_password_policy_refuses(password, problem):
    with pytest.raises(ValidationError) as info:
        passwords.validate(password, email="jan.jansen@aalten.nl")
    assert any(problem in message for message in info.value.messages["password"])


def test_a_long_uncommon_password_passes_and_is_hashed_with_argon2id():
    passwords.validate("fiets over de IJssel 1987", email="jan@aalten.nl")
    hashed = passwords.hash_password("fiets over de IJssel 1987")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify(hashed, "fiets over de IJssel 1987")
    assert not passwords.verify(hashed, "fiets over de IJssel 1988")
    assert not passwords.verify(None, "anything at all")


def test_the_common_password_list_is_shipped():
    assert len(passwords.common_passwords()) > 20000


# --- login -----------------------------------------------------------------------------------------

def test_login_with_a_wrong_password_is_generic_and_audited(client, world, owner_engine):
    wrong = client.post("/login", data={"email": world.users[R.COORDINATOR], "password": "not the password!"})
    unknown = client.post("/login", data={"email": "nobody@aalten.example", "password": "not the password!"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_data(as_text=True).count('role="alert"') == 1
    # the same message whether or not the account exists
    assert _flash(wrong) == _flash(unknown)
    rows = _audit(owner_engine, "auth.login")
    assert [(r.outcome, r.detail["reason"]) for r in rows] == [("failure", "wrong password"), ("failure", "unknown user")]


def _flash(response):
    body = response.get_data(as_text=True)
    start = body.index('role="alert">') + len('role="alert">')
    return body[start:body.index("<", start)]


# Throttling: tests/test_login.py.


# --- sessions --------------------------------------------------------------------------------------

def _sid(client):
    with client.session_transaction() as session:
        return session.get("sid")


def test_login_renews_the_session_id_and_logout_ends_it_on_the_server(app, world):
    client = app.test_client()
    with client.session_transaction() as session:
        session["sid"] = "planted-by-an-attacker"
    world.login(client, world.users[R.COORDINATOR])
    first = _sid(client)
    assert first and first != "planted-by-an-attacker"
    world.login(client, world.users[R.COORDINATOR])
    assert _sid(client) != first
    stolen = client.get_cookie("koppel_session").value
    assert client.get("/aalten/").status_code == 200
    client.post("/logout")
    assert client.get("/aalten/").status_code == 302
    # replaying the old cookie does not bring the session back
    replay = app.test_client()
    replay.set_cookie("koppel_session", stolen)
    assert replay.get("/aalten/").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(UserSession).where(UserSession.user.has(email=world.users[R.COORDINATOR]))) is None


@pytest.mark.parametrize("column,age", [("last_seen_at", timedelta(minutes=31)), ("created_at", timedelta(hours=13))])
def test_idle_and_absolute_timeouts_end_the_session(app, world, column, age):
    client = app.test_client()
    world.login(client, world.users[R.COORDINATOR])
    assert client.get("/aalten/").status_code == 200
    with app.app_context():
        db.session.execute(update(UserSession).values({column: utcnow() - age}))
        db.session.commit()
    response = client.get("/aalten/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_forms_need_a_csrf_token(app, world, tmp_path_factory):
    protected = make_app("sqlite", tmp_path_factory, WTF_CSRF_ENABLED=True,
                         SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                         MIGRATION_DATABASE_URL=app.config["MIGRATION_DATABASE_URL"])
    client = protected.test_client()
    response = client.post("/login", data={"email": world.users[R.COORDINATOR], "password": PASSWORD})
    assert response.status_code == 400
    assert _sid(client) is None


# --- API tokens ------------------------------------------------------------------------------------

def test_a_token_is_stored_only_as_a_hash(app, world):
    raw = world.tokens[R.COORDINATOR]
    with app.app_context():
        stored = db.session.scalars(select(ApiToken)).all()
        assert all(raw not in (t.token_hash, t.prefix) for t in stored)
        assert any(t.token_hash == tokens.digest(raw) for t in stored)


def test_a_valid_token_identifies_its_scope(client, world):
    response = client.get("/api/v1/me", headers=world.bearer(R.COORDINATOR))
    assert response.status_code == 200
    assert response.json["grants"] == [{"role": "coordinator", "municipality_id": world.ids["aalten"], "consortium_id": None}]


@pytest.mark.parametrize("case", ["malformed", "unknown", "expired", "revoked", "basic"])
def test_bad_tokens_get_401_and_are_audited(app, client, world, owner_engine, case):
    raw = world.tokens[R.COORDINATOR]
    header = f"Bearer {raw}"
    if case == "malformed":
        header = "Bearer not-a-token"
    elif case == "unknown":
        header = "Bearer " + tokens.PREFIX + "A" * 43
    elif case == "basic":
        header = "Basic dXNlcjpwYXNz"
    else:
        with app.app_context():
            token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == tokens.digest(raw)))
            if case == "expired":
                token.expires_at = utcnow() - timedelta(seconds=1)
            else:
                tokens.revoke(token)
            db.session.commit()
    response = client.get("/api/v1/aalten", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["error"] == "unauthenticated"
    reason = "not a bearer token" if case == "basic" else case
    assert _audit(owner_engine, "auth.token")[-1].detail["reason"] == reason


@pytest.mark.parametrize("roles,scope,field", [
    ([R.COORDINATOR], "consortium", "roles"),
    ([R.CONSORTIUM_ADMIN], "municipality", "roles"),
    ([R.PLATFORM_ADMIN], "municipality", "roles"),
    (["chief"], "municipality", "roles"),
    ([], "municipality", "roles"),
])
def test_token_roles_must_fit_the_scope(app, world, roles, scope, field):
    from tenants.models import Consortium, Municipality

    with app.app_context():
        target = {"municipality": db.session.get(Municipality, world.ids["aalten"]),
                  "consortium": db.session.get(Consortium, world.ids["achterhoek"])}[scope]
        with pytest.raises(ValidationError) as info:
            tokens.create("x", roles, **{scope: target})
        assert field in info.value.messages
        db.session.rollback()


def test_verified_tokens_and_tenants_are_cached_briefly(app, world, tmp_path_factory, backend):
    cached = make_app(backend, tmp_path_factory, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                      MIGRATION_DATABASE_URL=app.config["MIGRATION_DATABASE_URL"], AUTH_CACHE_SECONDS=60)
    client = cached.test_client()
    headers = world.bearer(R.COORDINATOR)
    assert client.get("/api/v1/aalten", headers=headers).status_code == 200
    # revoked and suspended elsewhere (another process): still served from this process's cache ...
    with app.app_context():
        db.session.execute(update(ApiToken).where(ApiToken.token_hash == tokens.digest(world.tokens[R.COORDINATOR]))
                           .values(revoked_at=utcnow()))
        db.session.commit()
    assert client.get("/api/v1/aalten", headers=headers).status_code == 200
    # ... but a revocation in this process takes effect at once
    with cached.app_context():
        token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == tokens.digest(world.tokens[R.COORDINATOR])))
        tokens.revoke(token)
        db.session.commit()
    assert client.get("/api/v1/aalten", headers=headers).status_code == 401
    admin = world.bearer(R.PLATFORM_ADMIN)
    assert client.get("/api/v1/druten", headers=admin).status_code == 200
    assert client.post("/api/v1/platform/municipalities/druten/suspend", headers=admin).status_code == 200
    assert client.get("/api/v1/druten", headers=admin).status_code == 403
