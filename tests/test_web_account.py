"""The own account in the browser's pages: settings, password change, API tokens, and the e-mailed links
(invitation, password forgotten), sent through the real test SMTP server (tests/smtp.py)."""
from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select, text

from core.auth import passwords
from core.auth import roles as R
from core.auth.models import ApiToken, User
from core.extensions import db, limiter
from core.scheduling import runner
from core.scheduling.models import PENDING, ScheduledItem
from core.scheduling.registry import kinds
from core.usecases import users
from tenants.context import cross_tenant_scope
from tenants.models import Municipality
from tests.conftest import PASSWORD, totp_code

PUBLIC_URL = "https://koppel.example.org"
NEW_PASSWORD = "lantern orchard quietly 77"
LINK = re.compile(r"https://koppel\.example\.org(/(?:invitation|password-reset)/[A-Za-z0-9._-]+)")


@pytest.fixture(autouse=True)
def _fresh_limits(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", PUBLIC_URL)
    limiter.reset()
    yield
    limiter.reset()


def deliver(app) -> list[int]:
    """Do the pending account mails as a worker would (each in its tenant or the kind's cross scope)."""
    with app.app_context():
        with cross_tenant_scope("scheduler"):
            pending = db.session.execute(
                select(ScheduledItem.id, ScheduledItem.tenant_id, ScheduledItem.kind)
                .where(ScheduledItem.state == PENDING, ScheduledItem.kind.in_((users.INVITATION, users.PASSWORD_RESET)))
                .order_by(ScheduledItem.id)).all()
            db.session.rollback()
        for item_id, tenant_id, kind in pending:
            with runner.scope(tenant_id, kinds()[kind].cross_scope):
                runner.run(item_id)
    return [row[0] for row in pending]


def link_path(received) -> str:
    match = LINK.search(received.body)
    assert match, received.body
    return match.group(1)


def _count(owner_engine, sql: str, **params) -> int:
    with owner_engine.begin() as c:
        if c.dialect.name == "postgresql":  # row-level security binds the owner too
            c.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
        return c.execute(text(sql), params).scalar()


def _user(app, email: str) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        db.session.expunge_all()
        return user


# ----------------------------------------------------------------------------- login page

def test_the_login_page_links_to_password_forgotten_and_names_an_empty_field(client, world):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/password-forgot"' in page
    empty = client.post("/login", data={"email": "", "password": ""})
    assert empty.status_code == 400
    body = empty.get_data(as_text=True)
    assert 'id="error-summary"' in body and 'href="#email"' in body and 'href="#password"' in body


# ----------------------------------------------------------------------------- settings and password

def test_the_account_page_saves_name_and_language(client, world, app, owner_engine):
    world.login(client, world.users[R.COORDINATOR])
    assert client.get("/account").status_code == 200
    bad = client.post("/account", data={"settings-name": "", "settings-language": "en"})
    assert bad.status_code == 422 and 'href="#settings-name"' in bad.get_data(as_text=True)
    assert _user(app, world.users[R.COORDINATOR]).language is None  # nothing written
    ok = client.post("/account", data={"settings-name": "Carla Coördinator", "settings-language": "en"})
    assert ok.status_code == 302
    user = _user(app, world.users[R.COORDINATOR])
    assert (user.name, user.language) == ("Carla Coördinator", "en")
    assert _count(owner_engine, "SELECT count(*) FROM audit_event WHERE action = 'user.settings'") == 1
    assert "Your account" in client.get("/account").get_data(as_text=True)  # now in English


def test_the_account_pages_need_a_login(client):
    for path in ("/account", "/account/password"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_changing_the_password_checks_the_current_one_and_the_rules(client, world, app, owner_engine):
    email = world.users[R.COORDINATOR]
    world.login(client, email)
    other = app.test_client()
    world.login(other, email)  # a second session elsewhere
    wrong = client.post("/account/password", data={"current_password": "not my password", "password": NEW_PASSWORD})
    assert wrong.status_code == 422 and 'href="#current_password"' in wrong.get_data(as_text=True)
    weak = client.post("/account/password", data={"current_password": PASSWORD, "password": "short"})
    assert weak.status_code == 422 and 'href="#password"' in weak.get_data(as_text=True)
    assert passwords.verify(_user(app, email).password_hash, PASSWORD)  # nothing written
    ok = client.post("/account/password", data={"current_password": PASSWORD, "password": NEW_PASSWORD})
    assert ok.status_code == 302
    assert passwords.verify(_user(app, email).password_hash, NEW_PASSWORD)
    assert client.get("/account").status_code == 200  # this session stays
    assert other.get("/account").status_code == 302  # the other one ended
    assert _count(owner_engine, "SELECT count(*) FROM audit_event WHERE action = 'user.password_change'") == 1


# ----------------------------------------------------------------------------- own API tokens

def test_an_own_token_is_shown_once_works_and_can_be_revoked(client, world, app):
    world.login(client, world.users[R.COORDINATOR])
    page = client.get("/account").get_data(as_text=True)
    scope = re.search(r'<option value="(m\d+)"', page).group(1)
    bad = client.post("/account/tokens", data={"token-name": "", "token-scope": scope})
    assert bad.status_code == 422 and 'href="#token-name"' in bad.get_data(as_text=True)
    bad_days = client.post("/account/tokens", data={"token-name": "x", "token-scope": scope, "token-days": "999"})
    assert bad_days.status_code == 422 and 'href="#token-days"' in bad_days.get_data(as_text=True)
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(ApiToken))
    made = client.post("/account/tokens", data={"token-name": "my script", "token-scope": scope, "token-days": "30"})
    assert made.status_code == 201
    raw = re.search(r'value="(kpl_[A-Za-z0-9_-]{43})"', made.get_data(as_text=True)).group(1)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == before + 1
    assert raw not in client.get("/account").get_data(as_text=True)  # shown once
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert me.status_code == 200 and me.get_json()["grants"][0]["role"] == R.COORDINATOR
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "my script"))
        other_id = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "tenant_admin token"))
    # someone else's token cannot be revoked here
    client.post("/account/tokens/revoke", data={"token_id": other_id})
    with app.app_context():
        assert db.session.get(ApiToken, other_id).revoked_at is None
    assert client.post("/account/tokens/revoke", data={"token_id": token_id}).status_code == 302
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


# ----------------------------------------------------------------------------- password forgotten

def test_password_forgotten_mails_a_link_that_works_once(client, world, app, smtp_server, owner_engine):
    email = world.users[R.COORDINATOR]
    known = client.post("/password-forgot", data={"email": email})
    unknown = client.post("/password-forgot", data={"email": "nobody@aalten.example"})
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"] == "/password-forgot/sent"
    deliver(app)
    [mail] = smtp_server.messages  # only the known address gets a mail
    assert mail.to == [email]
    assert mail.body.startswith("(English below)") and "wachtwoord" in mail.body
    path = link_path(mail)
    assert email not in path and "@" not in path

    assert client.get(path).status_code == 200
    weak = client.post(path, data={"password": "short"})
    assert weak.status_code == 422 and 'href="#password"' in weak.get_data(as_text=True)
    done = client.post(path, data={"password": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login/code")  # the second factor next
    assert client.post("/login/code", data={"code": totp_code(app, email)}).status_code == 302
    assert client.get("/account").status_code == 200  # logged in
    again = client.get(path)
    assert again.status_code == 410 and "Deze link werkt niet meer" in again.get_data(as_text=True)
    assert client.post(path, data={"password": "another good password 9"}).status_code == 410

    fresh = app.test_client()
    assert world.login(fresh, email, NEW_PASSWORD).status_code == 302
    assert _count(owner_engine, "SELECT count(*) FROM audit_event WHERE action = 'user.password_reset'") == 1


def test_a_reset_link_expires(client, world, app, monkeypatch):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == world.users[R.COORDINATOR]))
        token = users.make_link_token(users.PASSWORD_RESET, user)
    monkeypatch.setitem(users.LINK_AGE, users.PASSWORD_RESET, timedelta(seconds=-1))
    expired = client.get(f"/password-reset/{token}")
    assert expired.status_code == 410 and "verlopen" in expired.get_data(as_text=True)
    assert client.get("/password-reset/not-a-token").status_code == 410


def test_password_forgotten_is_rate_limited_and_names_an_empty_field(client, world):
    empty = client.post("/password-forgot", data={"email": ""})
    assert empty.status_code == 422 and 'href="#email"' in empty.get_data(as_text=True)
    for _ in range(4):
        assert client.post("/password-forgot", data={"email": "x@example.org"}).status_code == 302
    limited = client.post("/password-forgot", data={"email": "x@example.org"})
    assert limited.status_code == 429 and "Te veel pogingen" in limited.get_data(as_text=True)


# ----------------------------------------------------------------------------- invitations

def test_an_invitation_sets_the_password_and_logs_in(client, world, app, smtp_server, owner_engine):
    with app.app_context():
        aalten = db.session.get(Municipality, world.ids["aalten"])
        user = users.invite("Nieuw@Aalten.example ", "Nina Nieuw", R.COORDINATOR, municipality=aalten)
        db.session.commit()
        assert user.email == "nieuw@aalten.example" and not users.has_password(user)
    assert client.post("/login", data={"email": "nieuw@aalten.example", "password": "anything at all 1"}).status_code == 401
    deliver(app)
    [mail] = smtp_server.messages
    assert mail.to == ["nieuw@aalten.example"] and "Aalten" in mail.body
    path = link_path(mail)
    page = client.get(path)
    assert page.status_code == 200 and "Nina Nieuw" in page.get_data(as_text=True)
    assert client.post(path, data={"password": NEW_PASSWORD}).headers["Location"].endswith("/login/enrol")
    secret = re.search(r'data-secret="([A-Z2-7]+)"', client.get("/login/enrol").get_data(as_text=True)).group(1)
    assert client.post("/login/enrol", data={"code": pyotp.TOTP(secret).now()}).status_code == 201
    home = client.get("/")
    assert home.status_code == 200 and "Nina Nieuw" in home.get_data(as_text=True)
    assert client.get(path).status_code == 410  # used
    assert _count(owner_engine, "SELECT count(*) FROM audit_event WHERE action = 'user.accept_invitation'") == 1


def test_invite_adds_a_role_to_an_existing_user_and_refuses_bad_input(app, world):
    from marshmallow import ValidationError

    from core.errors import Conflict

    with app.app_context():
        druten = db.session.get(Municipality, world.ids["druten"])
        user = users.invite(world.users[R.COORDINATOR], "ignored", R.TENANT_ADMIN, municipality=druten)
        db.session.commit()
        assert {(m.role, m.municipality_id) for m in user.memberships} >= {(R.TENANT_ADMIN, druten.id)}
        with cross_tenant_scope("scheduler"):  # a user with a password gets no invitation mail
            assert db.session.scalar(select(func.count()).select_from(ScheduledItem)
                                     .where(ScheduledItem.kind == users.INVITATION)) == 0
        with pytest.raises(Conflict):
            users.invite(world.users[R.COORDINATOR], "x", R.TENANT_ADMIN, municipality=druten)
        db.session.rollback()
        for email, name, role, field in (("no-address", "N", R.COORDINATOR, "email"),
                                         ("a@b.example", "", R.COORDINATOR, "name"),
                                         ("a@b.example", "N", R.CONSORTIUM_ADMIN, "role")):
            with pytest.raises(ValidationError) as refused:
                users.invite(email, name, role, municipality=druten)
            assert field in refused.value.messages
            db.session.rollback()


def test_without_public_url_the_invitation_fails_with_that_reason(app, world, monkeypatch, smtp_server):
    monkeypatch.setitem(app.config, "PUBLIC_URL", None)
    with app.app_context():
        users.invite("late@aalten.example", "Late", R.COORDINATOR,
                     municipality=db.session.get(Municipality, world.ids["aalten"]))
        db.session.commit()
    from core.scheduling.registry import BadData

    with pytest.raises(BadData, match="PUBLIC_URL"):
        deliver(app)
    assert smtp_server.messages == []
