"""The second factor (TOTP and recovery codes), enrolment, re-authentication and ending sessions.

On PostgreSQL only: nothing here differs between the backends (the migration is checked on both)."""
from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select, text, update

from core.auth import mfa
from core.auth import roles as R
from core.auth.models import RecoveryCode, User, UserSession
from core.extensions import db
from core.types import utcnow
from core.usecases import users
from tests.conftest import PASSWORD, TOTP_SECRET, totp_code

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
NEW_PASSWORD = "lantern orchard quietly 77"


def _password(client, email, password=PASSWORD, **kwargs):
    return client.post("/login", data={"email": email, "password": password}, **kwargs)


def _audit(owner_engine, action):
    with owner_engine.begin() as conn:
        conn.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
        return conn.execute(text("SELECT outcome, object_id, detail FROM audit_event WHERE action = :a ORDER BY id"),
                            {"a": action}).all()


def _unenrolled(app, email):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        mfa.reset(user)
        db.session.commit()


def test_asvs_6_3_3_every_staff_role_needs_a_second_factor(app, world):
    for role in (R.COORDINATOR, R.TENANT_ADMIN, R.CONSORTIUM_ADMIN, R.FUNDER, R.PLATFORM_ADMIN):
        client = app.test_client()
        step = _password(client, world.users[role])
        assert step.status_code == 302 and step.headers["Location"].endswith("/login/code"), role
        assert client.get("/account").status_code == 302  # the password alone opens nothing
        assert client.post("/login/code", data={"code": "000000"}).status_code == 401
        done = client.post("/login/code", data={"code": totp_code(app, world.users[role])})
        assert done.status_code == 302 and client.get("/account").status_code == 200, role


def test_asvs_6_5_1_a_totp_code_works_once(app, world):
    email = world.users[R.COORDINATOR]
    code = totp_code(app, email)
    first = app.test_client()
    _password(first, email)
    assert first.post("/login/code", data={"code": code}).status_code == 302
    second = app.test_client()  # the same code, replayed within its 30 seconds
    _password(second, email)
    assert second.post("/login/code", data={"code": code}).status_code == 401
    assert second.get("/account").status_code == 302


def test_asvs_6_5_3_and_6_5_5_the_totp_secret_is_random_stored_encrypted_and_codes_live_30_seconds(
        app, world, owner_engine):
    email = world.users[R.COORDINATOR]
    with owner_engine.begin() as conn:
        stored = conn.execute(text("SELECT id, totp_secret FROM user_account WHERE email = :e"), {"e": email}).one()
    assert TOTP_SECRET not in stored.totp_secret and stored.totp_secret.startswith("v1:")
    with app.app_context():
        assert mfa.decrypt_secret(stored.id, stored.totp_secret) == TOTP_SECRET
        assert mfa.decrypt_secret(stored.id + 1, stored.totp_secret) is None  # bound to its user
        app.config["SECRET_KEY"], key = "another key entirely", app.config["SECRET_KEY"]
        try:
            assert mfa.decrypt_secret(stored.id, stored.totp_secret) is None
        finally:
            app.config["SECRET_KEY"] = key
        user = db.session.get(User, stored.id)
        now = utcnow().timestamp()  # 6.5.5: a code of three steps ago no longer works; one of the last step does
        assert not mfa.verify_totp(user, pyotp.TOTP(TOTP_SECRET).at(now - 3 * mfa.STEP))
        assert mfa.verify_totp(user, pyotp.TOTP(TOTP_SECRET).at(now - mfa.STEP))
        mfa.reset(user)
        fresh = mfa.pending_secret(user)
        assert re.fullmatch(r"[A-Z2-7]{32}", fresh) and fresh != TOTP_SECRET  # 160 bits from pyotp (secrets)
        assert mfa.pending_secret(user) == fresh  # kept until confirmed
        db.session.rollback()


def test_asvs_6_5_2_enrolment_shows_qr_and_recovery_codes_stored_hashed_each_working_once(app, world, owner_engine):
    email = world.users[R.COORDINATOR]
    _unenrolled(app, email)
    client = app.test_client()
    step = _password(client, email)
    assert step.headers["Location"].endswith("/login/enrol")
    assert client.get("/aalten/").status_code == 302  # no other page before enrolment
    page = client.get("/login/enrol").get_data(as_text=True)
    assert "<svg" in page and "data:" not in page  # inline SVG: nothing the CSP must allow
    secret = re.search(r'data-secret="([A-Z2-7]{32})"', page).group(1)
    assert client.get("/login/enrol").get_data(as_text=True).count(secret) >= 1  # a reload shows the same secret
    wrong = client.post("/login/enrol", data={"code": "123456"})
    assert wrong.status_code == 422 and 'href="#code"' in wrong.get_data(as_text=True)
    done = client.post("/login/enrol", data={"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 201
    codes = re.findall(r"<code>([A-Z2-9]{4}(?:-[A-Z2-9]{4}){3})</code>", done.get_data(as_text=True))
    assert len(set(codes)) == 10
    assert client.get("/aalten/").status_code == 200  # logged in
    with owner_engine.begin() as conn:
        hashes = conn.execute(text("SELECT lookup, code_hash FROM recovery_code")).all()
    assert len(hashes) == 10 and all(h.code_hash.startswith("$argon2id$") for h in hashes)
    assert not any(code.replace("-", "")[4:] in h.code_hash for code in codes for h in hashes)
    assert _audit(owner_engine, "user.mfa_enrol")
    # a recovery code instead of the app's code: once
    for expected in (302, 401):
        other = app.test_client()
        _password(other, email)
        assert other.post("/login/code", data={"code": codes[0].lower()}).status_code == expected


def test_asvs_6_4_3_a_password_set_by_email_link_does_not_skip_the_second_factor(app, world):
    email = world.users[R.COORDINATOR]
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        token = users.make_link_token(users.PASSWORD_RESET, user)
    client = app.test_client()
    response = client.post(f"/password-reset/{token}", data={"password": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/code")
    assert client.get("/account").status_code == 302
    assert client.post("/login/code", data={"code": totp_code(app, email)}).status_code == 302
    assert client.get("/account").status_code == 200


def _old_auth(app):
    with app.app_context():
        db.session.execute(update(UserSession).values(auth_at=utcnow() - timedelta(minutes=16)))
        db.session.commit()


def test_asvs_7_5_1_sensitive_changes_ask_for_password_and_code_again(app, world, client, owner_engine):
    email = world.users[R.TENANT_ADMIN]
    world.login(client, email)
    data = {"name": "koppeling", "roles": [R.COORDINATOR]}
    assert client.post("/aalten/admin/tokens", data=data).status_code == 201  # fresh from the login
    _old_auth(app)
    asked = client.post("/aalten/admin/tokens", data=data, headers={"Referer": "http://localhost/aalten/admin/tokens"})
    assert asked.status_code == 303 and "/reauthenticate?next=/aalten/admin/tokens" in asked.headers["Location"]
    for path, form in (("/aalten/admin/policy/save", {}), ("/aalten/admin/users/action", {"user_id": "1", "action": "x"}),
                       ("/account/tokens", {}), ("/account/sessions/end", {})):
        assert client.post(path, data=form).status_code == 303, path
    assert client.get("/reauthenticate?next=/aalten/admin/tokens").status_code == 200
    wrong = client.post("/reauthenticate", data={"password": PASSWORD, "code": "000000", "next": "/aalten/admin/tokens"})
    assert wrong.status_code == 401
    ok = client.post("/reauthenticate", data={"password": PASSWORD, "code": totp_code(app, email),
                                              "next": "/aalten/admin/tokens"})
    assert ok.status_code == 302 and ok.headers["Location"] == "/aalten/admin/tokens"
    assert client.post("/aalten/admin/tokens", data=data).status_code == 201
    _old_auth(app)
    evil = client.post("/reauthenticate", data={"password": PASSWORD, "code": totp_code(app, email),
                                                "next": "//evil.example/x"})
    assert evil.headers["Location"] == "/"
    assert [r.outcome for r in _audit(owner_engine, "auth.reauthenticate")] == ["failure", "success", "success"]


def test_asvs_7_4_5_and_7_4_2_an_admin_ends_a_users_sessions_resets_the_authenticator_and_disables(
        app, world, client, owner_engine):
    admin, coordinator = world.users[R.TENANT_ADMIN], world.users[R.COORDINATOR]
    world.login(client, admin)
    theirs = app.test_client()
    world.login(theirs, coordinator)
    assert theirs.get("/aalten/").status_code == 200
    with app.app_context():
        ids = dict(db.session.execute(select(User.email, User.id)).all())
    page = client.get("/aalten/admin/users").get_data(as_text=True)
    assert 'value="end_sessions"' in page and 'value="reset_mfa"' in page
    # a user of no role in this municipality is not found
    foreign = client.post("/aalten/admin/users/action", data={"user_id": ids[world.users[R.CONSORTIUM_ADMIN]],
                                                              "action": "end_sessions"})
    assert foreign.status_code == 404
    done = client.post("/aalten/admin/users/action", data={"user_id": ids[coordinator], "action": "end_sessions"})
    assert done.status_code == 302
    assert theirs.get("/aalten/").status_code == 302
    assert _audit(owner_engine, "user.sessions_end")[-1].object_id == str(ids[coordinator])
    world.login(theirs, coordinator)
    assert client.post("/aalten/admin/users/action", data={"user_id": ids[coordinator],
                                                           "action": "reset_mfa"}).status_code == 302
    assert theirs.get("/aalten/").status_code == 302
    assert _password(theirs, coordinator).headers["Location"].endswith("/login/enrol")
    with app.app_context():
        assert db.session.scalar(select(RecoveryCode.id)) is None
    # 7.4.2: disabling ends the sessions too
    person = world.users["person"]
    world.login(theirs, person)
    assert client.post("/aalten/admin/users/action", data={"user_id": ids[person], "action": "disable"}).status_code == 302
    assert theirs.get("/aalten/").status_code == 302
    assert _password(theirs, person).status_code == 401


def test_asvs_7_5_2_users_see_and_end_their_other_sessions(app, world, client, owner_engine):
    email = world.users[R.COORDINATOR]
    world.login(client, email)
    other = app.test_client()
    world.login(other, email)
    page = client.get("/account").get_data(as_text=True)
    assert page.count("<tr>") >= 3 and "/account/sessions/end" in page  # two sessions listed
    assert client.post("/account/sessions/end").status_code == 302
    assert other.get("/account").status_code == 302 and client.get("/account").status_code == 200
    assert _audit(owner_engine, "user.sessions_end")[-1].detail == {"sessions_ended": 1, "own": True}
