"""The tenant admin's pages: users and invitations, API tokens, programme targets, scheduled work."""
from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import select, text

from core.auth import roles as R
from core.auth.models import ApiToken, User
from core.extensions import db, limiter
from core.scheduling.models import FAILED, ScheduledItem
from core.types import utcnow
from tenants.context import tenant_scope
from tenants.models import Municipality
from tests.conftest import add_user
from tests.queries import count_statements
from tests.test_web_account import NEW_PASSWORD, PUBLIC_URL, deliver, link_path

PAGES = ("/aalten/admin/users", "/aalten/admin/tokens", "/aalten/admin/targets", "/aalten/admin/scheduled-work")


@pytest.fixture(autouse=True)
def _settings(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", PUBLIC_URL)
    limiter.reset()


@pytest.fixture
def admin(client, world):
    world.login(client, world.users[R.TENANT_ADMIN])
    return client


def _count(owner_engine, sql: str, **params) -> int:
    with owner_engine.begin() as c:
        if c.dialect.name == "postgresql":  # row-level security binds the owner too
            c.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
        return c.execute(text(sql), params).scalar()


def _user_id(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


def test_every_admin_page_opens_for_the_tenant_admin_only(app, client, world):
    world.login(client, world.users[R.TENANT_ADMIN])
    for path in PAGES:
        assert client.get(path).status_code == 200, path
    coordinator = app.test_client()
    world.login(coordinator, world.users[R.COORDINATOR])
    for path in PAGES:
        assert coordinator.get(path).status_code == 403, path


def test_an_admin_of_another_municipality_gets_404(app, client, world):
    with app.app_context():
        add_user("admin@druten.example", R.TENANT_ADMIN, municipality=db.session.get(Municipality, world.ids["druten"]))
        db.session.commit()
    world.login(client, "admin@druten.example")
    for path in PAGES:
        assert client.get(path).status_code == 404, path
    assert client.get("/druten/admin/users").status_code == 200
    # an Aalten user's id on Druten's own page: not found there, and nothing changes
    coordinator = _user_id(app, world.users[R.COORDINATOR])
    response = client.post("/druten/admin/users/action", data={"user_id": coordinator, "action": "disable"})
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(User, coordinator).active is True


def test_the_users_page_lists_roles_and_status(admin, world):
    page = admin.get("/aalten/admin/users").get_data(as_text=True)
    assert world.users[R.COORDINATOR] in page and world.users[R.TENANT_ADMIN] in page
    assert world.users[R.FUNDER] not in page  # staff only
    assert "druten" not in page.lower().replace("druten token", "")


def test_inviting_names_the_bad_field_and_writes_nothing(app, admin, world, owner_engine):
    before = _count(owner_engine, "SELECT count(*) FROM user_account")
    for data, field in (({"name": "Nina", "email": "not an address", "role": R.COORDINATOR}, "email"),
                        ({"name": "", "email": "nina@aalten.example", "role": R.COORDINATOR}, "name"),
                        ({"name": "Nina", "email": "nina@aalten.example", "role": R.FUNDER}, "role")):
        response = admin.post("/aalten/admin/users", data=data)
        assert response.status_code == 422, data
        assert f'href="#{field}"' in response.get_data(as_text=True), data
    assert _count(owner_engine, "SELECT count(*) FROM user_account") == before
    assert _count(owner_engine, "SELECT count(*) FROM scheduled_item WHERE kind = 'invitation'") == 0


def test_an_invited_coordinator_follows_the_mailed_link_and_is_logged_in(app, admin, world, smtp_server, owner_engine):
    response = admin.post("/aalten/admin/users", data={"name": "Nina Nieuw", "email": "nina@aalten.example",
                                                       "role": R.COORDINATOR})
    assert response.status_code == 302
    page = admin.get("/aalten/admin/users").get_data(as_text=True)
    assert "Nina Nieuw" in page and "uitgenodigd" in page
    deliver(app)
    [mail] = smtp_server.messages
    assert mail.to == ["nina@aalten.example"] and "Aalten" in mail.body
    assert "uitnodiging" in mail.message["Subject"]
    nina = app.test_client()
    assert nina.post(link_path(mail), data={"password": NEW_PASSWORD}).headers["Location"].endswith("/login/enrol")
    secret = re.search(r'data-secret="([A-Z2-7]+)"', nina.get("/login/enrol").get_data(as_text=True)).group(1)
    assert nina.post("/login/enrol", data={"code": pyotp.TOTP(secret).now()}).status_code == 201  # the authenticator
    assert nina.get("/aalten/").status_code == 200  # a coordinator of Aalten now
    assert _count(owner_engine, "SELECT count(*) FROM audit_event WHERE action IN ('user.create', "
                                "'membership.create', 'user.accept_invitation')") == 3


def test_sending_the_invitation_again_makes_the_old_link_stop(app, admin, world, smtp_server):
    admin.post("/aalten/admin/users", data={"name": "Nina", "email": "nina@aalten.example", "role": R.COORDINATOR})
    deliver(app)
    first = link_path(smtp_server.messages[-1])
    nina = _user_id(app, "nina@aalten.example")
    assert admin.post("/aalten/admin/users/action", data={"user_id": nina, "action": "invite_again"}).status_code == 302
    deliver(app)
    second = link_path(smtp_server.messages[-1])
    visitor = app.test_client()
    assert visitor.get(first).status_code == 410
    assert visitor.get(second).status_code == 200


def test_disabling_ends_the_users_sessions_at_once_and_enabling_lets_them_in(app, admin, world, owner_engine):
    coordinator = app.test_client()
    world.login(coordinator, world.users[R.COORDINATOR])
    assert coordinator.get("/aalten/").status_code == 200
    user_id = _user_id(app, world.users[R.COORDINATOR])
    assert admin.post("/aalten/admin/users/action", data={"user_id": user_id, "action": "disable"}).status_code == 302
    assert _count(owner_engine, "SELECT count(*) FROM user_session WHERE user_id = :u", u=user_id) == 0
    response = coordinator.get("/aalten/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert world.login(app.test_client(), world.users[R.COORDINATOR]).status_code == 401
    assert "uitgeschakeld" in admin.get("/aalten/admin/users").get_data(as_text=True)
    assert admin.post("/aalten/admin/users/action", data={"user_id": user_id, "action": "enable"}).status_code == 302
    assert world.login(app.test_client(), world.users[R.COORDINATOR]).status_code == 302
    assert _count(owner_engine, "SELECT count(*) FROM audit_event WHERE action IN ('user.disable', 'user.enable')") == 2


def test_an_admin_cannot_disable_themselves(app, admin, world):
    me = _user_id(app, world.users[R.TENANT_ADMIN])
    response = admin.post("/aalten/admin/users/action", data={"user_id": me, "action": "disable"})
    assert response.status_code == 409
    with app.app_context():
        assert db.session.get(User, me).active is True


def test_a_password_link_sent_by_the_admin_works(app, admin, world, smtp_server):
    user_id = _user_id(app, world.users[R.COORDINATOR])
    assert admin.post("/aalten/admin/users/action", data={"user_id": user_id, "action": "password_link"}).status_code == 302
    deliver(app)
    [mail] = smtp_server.messages
    visitor = app.test_client()
    assert visitor.post(link_path(mail), data={"password": NEW_PASSWORD}).status_code == 302
    assert world.login(app.test_client(), world.users[R.COORDINATOR], NEW_PASSWORD).status_code == 302


def test_a_municipality_token_is_shown_once_and_revoked(app, admin, world, owner_engine):
    bad = admin.post("/aalten/admin/tokens", data={"name": "rapportage", "roles": [R.FUNDER]})
    assert bad.status_code == 422 and 'href="#roles"' in bad.get_data(as_text=True)
    nameless = admin.post("/aalten/admin/tokens", data={"name": "", "roles": [R.COORDINATOR]})
    assert nameless.status_code == 422 and 'href="#name"' in nameless.get_data(as_text=True)
    before = _count(owner_engine, "SELECT count(*) FROM api_token")
    made = admin.post("/aalten/admin/tokens", data={"name": "rapportage", "roles": [R.COORDINATOR], "days": "30"})
    assert made.status_code == 201
    assert _count(owner_engine, "SELECT count(*) FROM api_token") == before + 1
    raw = re.search(r'value="(kpl_[A-Za-z0-9_-]{43})"', made.get_data(as_text=True)).group(1)
    again = admin.get("/aalten/admin/tokens").get_data(as_text=True)
    assert raw not in again and "rapportage" in again
    assert admin.get("/api/v1/aalten/families", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "rapportage"))
        druten_token = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "druten token"))
    assert admin.post("/aalten/admin/tokens/revoke", data={"token_id": druten_token}).status_code == 404
    assert admin.post("/aalten/admin/tokens/revoke", data={"token_id": token_id}).status_code == 302
    assert admin.get("/api/v1/aalten/families", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    assert _count(owner_engine, "SELECT count(*) FROM audit_event WHERE action IN ('token.create', 'token.revoke') "
                                "AND tenant_id = :t", t=world.ids["aalten"]) == 2


def test_targets_are_set_with_the_apis_rules(app, admin, world, owner_engine):
    bad = admin.post("/aalten/admin/targets", data={"year": "2026", "new_matches_min": "10", "new_matches_max": "5"})
    assert bad.status_code == 422 and 'href="#new_matches_max"' in bad.get_data(as_text=True)
    no_year = admin.post("/aalten/admin/targets", data={"year": "1900", "new_matches_min": "10"})
    assert no_year.status_code == 422 and 'href="#year"' in no_year.get_data(as_text=True)
    before = _count(owner_engine, "SELECT count(*) FROM programme_target")
    ok = admin.post("/aalten/admin/targets", data={"year": "2031", "new_matches_min": "10", "new_matches_max": "15",
                                                   "note": "jaar één"})
    assert ok.status_code == 302
    assert _count(owner_engine, "SELECT count(*) FROM programme_target") == before + 1
    page = admin.get("/aalten/admin/targets").get_data(as_text=True)
    assert "2031" in page and "jaar één" in page
    assert _count(owner_engine, "SELECT count(*) FROM audit_event WHERE action = 'target.set' AND tenant_id = :t",
                  t=world.ids["aalten"]) >= 1


def _fail(tenant_id: int, n: int, kind: str = "evaluation_due") -> list[int]:
    ids = []
    with tenant_scope(tenant_id):
        for i in range(n):
            item = ScheduledItem(kind=kind, key=f"test:{tenant_id}:{kind}:{i}", subject_id=i, due_at=utcnow(),
                                 state=FAILED, attempts=3, error="the server did not answer", finished_at=utcnow())
            db.session.add(item)
            db.session.flush()
            ids.append(item.id)
        db.session.commit()
    return ids


def test_scheduled_work_shows_failures_and_runs_one_again(app, admin, world, owner_engine):
    with app.app_context():
        [aalten_item] = _fail(world.ids["aalten"], 1)
        [druten_item] = _fail(world.ids["druten"], 1)
    page = admin.get("/aalten/admin/scheduled-work").get_data(as_text=True)
    assert "the server did not answer" in page and "Opnieuw uitvoeren" in page
    assert admin.post("/aalten/admin/scheduled-work/run-again", data={"item_id": druten_item}).status_code == 404
    assert admin.post("/aalten/admin/scheduled-work/run-again", data={"item_id": aalten_item}).status_code == 302
    assert _count(owner_engine, "SELECT state FROM scheduled_item WHERE id = :i", i=aalten_item) == "pending"
    assert _count(owner_engine, "SELECT state FROM scheduled_item WHERE id = :i", i=druten_item) == FAILED
    assert _count(owner_engine, "SELECT count(*) FROM audit_event WHERE action = 'scheduled_item.run_again'") == 1
    # a second time: it is no longer failed, so it is refused with a message and nothing changes
    again = admin.post("/aalten/admin/scheduled-work/run-again", data={"item_id": aalten_item}, follow_redirects=True)
    assert again.status_code == 200
    assert _count(owner_engine, "SELECT count(*) FROM audit_event WHERE action = 'scheduled_item.run_again'") == 1


# ----------------------------------------------------------------------------- N+1

def _statements(app, client, path: str) -> int:
    with app.app_context():
        engine = db.engine
    with count_statements(engine) as seen:
        assert client.get(path).status_code == 200
    return len(seen)


def test_the_users_page_does_not_grow_with_its_users(app, admin, world):
    small = _statements(app, admin, "/aalten/admin/users")
    with app.app_context():
        aalten = db.session.get(Municipality, world.ids["aalten"])
        for i in range(25):
            add_user(f"extra{i}@aalten.example", R.COORDINATOR, municipality=aalten)
        db.session.commit()
    large = _statements(app, admin, "/aalten/admin/users")
    assert large <= small, (small, large)


def test_the_scheduled_work_page_does_not_grow_with_its_failures(app, admin, world):
    with app.app_context():
        _fail(world.ids["aalten"], 1)
    small = _statements(app, admin, "/aalten/admin/scheduled-work")
    with app.app_context():
        _fail(world.ids["aalten"], 30, kind="vog_expiring")
        _fail(world.ids["aalten"], 30, kind="redecide")
    large = _statements(app, admin, "/aalten/admin/scheduled-work")
    assert large <= small, (small, large)
