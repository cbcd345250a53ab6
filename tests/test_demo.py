"""The demo's data: regions, a user per role, programme data; the same after a second run."""
from sqlalchemy import func, select, text

from core import demo
from core.auth.models import User
from core.extensions import db


def _counts(owner_engine):
    with owner_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                for t in ("consortium", "municipality", "user_account", "membership", "family", "match")}


def test_demo_seed_is_complete_and_idempotent(app, owner_engine):
    with app.app_context():
        rows = demo.seed()
    first = _counts(owner_engine)
    assert first["consortium"] == 2 and first["municipality"] == 11
    assert first["user_account"] == first["membership"] == len(demo.DEMO_USERS)
    assert first["family"] == 11 * demo.DEMO_FAMILIES and first["match"] > 0
    assert {role for _, role, _ in rows} == {"coordinator", "tenant_admin", "consortium_admin", "funder", "platform_admin"}
    with app.app_context():
        demo.seed()
        assert db.session.scalar(select(func.count()).select_from(User)) == len(demo.DEMO_USERS)
    assert _counts(owner_engine) == first
    client = app.test_client()
    login = client.post("/login", data={"email": "coordinator.doetinchem@koppel.example", "password": demo.DEMO_PASSWORD})
    assert login.status_code == 302
    assert client.get("/doetinchem/").status_code == 200
