"""Login throttling that an attacker cannot turn against users, and no account enumeration.

Small limits are set per test; the counters live in the rate limiter's storage (memory here, Redis in
production), emptied before each test. On PostgreSQL only: nothing here differs between the backends."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import text, update

from core.auth import roles as R
from core.auth.models import User
from core.extensions import db, limiter
from tests.conftest import PASSWORD, totp_code

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
WRONG = "not the password at all"


@pytest.fixture(autouse=True)
def _small_limits(app, monkeypatch):
    for name, value in (("LOGIN_LIMIT_PER_IP", "8 per 15 minutes"), ("LOGIN_LIMIT_PER_ACCOUNT_IP", "3 per 15 minutes"),
                        ("LOGIN_LIMIT_PER_ACCOUNT", "5 per hour")):
        monkeypatch.setitem(app.config, name, value)
    limiter.reset()
    yield
    limiter.reset()


def _post(client, email, password, ip):
    return client.post("/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": ip})


def _full_login(app, email, ip):
    client = app.test_client()
    step = _post(client, email, PASSWORD, ip)
    if step.status_code != 302:
        return step
    return client.post("/login/code", data={"code": totp_code(app, email)}, environ_base={"REMOTE_ADDR": ip})


def _answer(response, email):
    """What a visitor sees, without the address they typed in themselves (and the time-stamped CSRF token)."""
    body = re.sub(r'name="csrf_token" value="[^"]*"', "", response.get_data(as_text=True))
    return response.status_code, body.replace(email, "EMAIL")


def test_asvs_6_3_8_unknown_disabled_wrong_and_throttled_answer_alike(app, world, owner_engine):
    client = app.test_client()
    coordinator, admin = world.users[R.COORDINATOR], world.users[R.TENANT_ADMIN]
    with app.app_context():
        db.session.execute(update(User).where(User.email == admin).values(active=False))
        db.session.commit()
    answers = {
        "unknown": _answer(_post(client, "nobody@aalten.example", WRONG, "10.0.0.1"), "nobody@aalten.example"),
        "disabled": _answer(_post(client, admin, PASSWORD, "10.0.0.2"), admin),
        "wrong": _answer(_post(client, coordinator, WRONG, "10.0.0.3"), coordinator),
    }
    for _ in range(2):
        _post(client, coordinator, WRONG, "10.0.0.3")
    answers["throttled"] = _answer(_post(client, coordinator, PASSWORD, "10.0.0.3"), coordinator)  # the right one
    assert len(set(answers.values())) == 1 and answers["wrong"][0] == 401, answers.keys()
    with owner_engine.begin() as conn:
        conn.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
        reasons = conn.execute(text("SELECT detail->>'reason' FROM audit_event WHERE action = 'auth.login' "
                                    "ORDER BY id")).scalars().all()
    assert reasons == ["unknown user", "inactive", "wrong password", "wrong password", "wrong password", "throttled"]


def test_asvs_6_3_1_throttling_slows_attackers_and_never_locks_out_a_known_address(app, world):
    # many addresses against one account: the user's known address stays open
    email = world.users[R.COORDINATOR]
    assert _full_login(app, email, "192.0.2.10").status_code == 302  # the user's office: now known
    attacker = app.test_client()
    for i in range(6):  # a botnet: two tries from each of three addresses (below the per-address limit)
        assert _post(attacker, email, WRONG, f"198.51.100.{i // 2}").status_code == 401
    assert _post(app.test_client(), email, PASSWORD, "203.0.113.7").status_code == 401  # a new address: refused
    assert _full_login(app, email, "192.0.2.10").status_code == 302  # the known one: not
    # one address against one account: only that address is refused
    person = world.users["person"]
    for _ in range(3):
        _post(attacker, person, WRONG, "198.51.100.9")
    assert _post(attacker, person, PASSWORD, "198.51.100.9").status_code == 401
    assert _full_login(app, person, "192.0.2.20").status_code == 302
    # one address against many accounts (password spraying)
    for name in (R.FUNDER, R.CONSORTIUM_ADMIN, R.PLATFORM_ADMIN, "a@x.example", "b@x.example", "c@x.example",
                 "d@x.example", "e@x.example"):
        _post(attacker, world.users.get(name, name), WRONG, "198.51.100.50")
    assert _post(attacker, world.users["person2"], PASSWORD, "198.51.100.50").status_code == 401
    assert _full_login(app, world.users["person2"], "192.0.2.30").status_code == 302
    # wrong codes count as failures: the 10^6 codes cannot be tried
    admin, client = world.users[R.TENANT_ADMIN], app.test_client()
    assert _post(client, admin, PASSWORD, "198.51.100.77").status_code == 302
    for _ in range(3):
        assert client.post("/login/code", data={"code": "000000"},
                           environ_base={"REMOTE_ADDR": "198.51.100.77"}).status_code == 401
    right = client.post("/login/code", data={"code": totp_code(app, admin)}, environ_base={"REMOTE_ADDR": "198.51.100.77"})
    assert right.status_code == 401


def test_the_redirect_after_login_stays_on_this_site(app, world):
    email = world.users[R.COORDINATOR]
    for target, expected in (("//evil.example/phish", "/"), ("/aalten/families", "/aalten/families")):
        client = app.test_client()
        client.post("/login", data={"email": email, "password": PASSWORD, "next": target})
        assert client.post("/login/code", data={"code": totp_code(app, email)}).headers["Location"] == expected
