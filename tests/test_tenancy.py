"""Both isolation layers: the ORM layer on SQLite and PostgreSQL, RLS on PostgreSQL."""
import pytest
from sqlalchemy import create_engine, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from core.audit import AuditEvent
from core.auth.models import Membership
from core.extensions import db
from core.types import utcnow
from tenants import rls
from tenants.context import (
    CrossTenantWriteError,
    Scope,
    TenantContextError,
    cross_tenant_scope,
    current_tenant_id,
    tenant_scope,
)
from tenants.isolation import TENANT_TABLES


def _event(tenant_id, action="test.event"):
    return {"tenant_id": tenant_id, "action": action, "outcome": "success", "at": utcnow()}


@pytest.fixture
def events(app, world):
    """Three events in Aalten, two in Berkelland, one platform event."""
    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        rows = [_event(world.ids["aalten"])] * 3 + [_event(world.ids["berkelland"])] * 2 + [_event(None)]
        db.session.execute(insert(AuditEvent.__table__), rows)
        db.session.commit()
    return world.ids


def _actions(tenant_id):
    return db.session.scalars(select(AuditEvent.tenant_id).where(AuditEvent.action == "test.event")).all()


def _raw_count(where=""):
    return db.session.execute(text(f"SELECT count(*) FROM audit_event WHERE action = 'test.event' {where}")).scalar()


def test_queries_see_only_the_current_tenant(app, events):
    with app.app_context():
        with tenant_scope(events["aalten"]):
            assert _actions(events["aalten"]) == [events["aalten"]] * 3
        # the same statement again, for another tenant: the criteria are not cached with the first id
        with tenant_scope(events["berkelland"]):
            assert _actions(events["berkelland"]) == [events["berkelland"]] * 2
        with cross_tenant_scope("consortium-aggregation"):
            assert len(_actions(None)) == 6


def test_no_tenant_context_fails_closed(app, events):
    with app.app_context():
        with pytest.raises(TenantContextError):
            db.session.scalars(select(AuditEvent)).all()
        # also when the tenant-owned table is only joined, or in a subquery
        with pytest.raises(TenantContextError):
            db.session.execute(select(Membership.id).join(AuditEvent, AuditEvent.actor_user_id == Membership.user_id)).all()
        with pytest.raises(TenantContextError):
            db.session.execute(select(func.count()).select_from(select(AuditEvent.id).subquery())).scalar()
        with pytest.raises(TenantContextError):
            db.session.get(AuditEvent, 1)


def test_unknown_cross_tenant_scope_is_refused():
    with pytest.raises(ValueError, match="unknown cross-tenant scope"):
        with cross_tenant_scope("whatever"):
            pass


def test_scopes_nest_and_restore():
    with tenant_scope(1):
        with tenant_scope(2):
            assert current_tenant_id() == 2
        assert current_tenant_id() == 1
    assert current_tenant_id() is None


def test_flush_guard_fills_the_tenant_and_refuses_another(app, events):
    with app.app_context():
        with tenant_scope(events["aalten"]):
            event = AuditEvent(action="x", outcome="success")
            db.session.add(event)
            db.session.flush()
            assert event.tenant_id == events["aalten"]
            db.session.add(AuditEvent(action="x", outcome="success", tenant_id=events["berkelland"]))
            with pytest.raises(CrossTenantWriteError):
                db.session.flush()
            db.session.rollback()
        db.session.add(AuditEvent(action="x", outcome="success", tenant_id=events["aalten"]))
        with pytest.raises(TenantContextError):
            db.session.flush()
        db.session.rollback()


def test_identity_map_does_not_leak_across_tenants(app, events):
    with app.app_context():
        with cross_tenant_scope("consortium-aggregation"):
            other = db.session.scalars(select(AuditEvent).where(AuditEvent.tenant_id == events["berkelland"])).first()
        with tenant_scope(events["aalten"]):
            assert other in db.session  # it is in the identity map ...
            assert db.session.get(AuditEvent, other.id) is None  # ... but get() does not hand it out


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_orm_update_is_limited_to_the_tenant(app, events):
    # On PostgreSQL the app role may not UPDATE the audit log at all (see below).
    with app.app_context():
        with tenant_scope(events["aalten"]):
            own = db.session.scalar(select(func.count()).select_from(AuditEvent))
            result = db.session.execute(update(AuditEvent).values(object_type="touched"))
            db.session.commit()
            assert result.rowcount == own
        with cross_tenant_scope("consortium-aggregation"):
            touched = db.session.scalars(select(AuditEvent.tenant_id).where(AuditEvent.object_type == "touched")).all()
        assert set(touched) == {events["aalten"]}


# --- PostgreSQL row-level security -------------------------------------------------------------

pg = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@pg
def test_rls_hides_other_tenants_from_raw_sql(app, events):
    with app.app_context():
        with tenant_scope(events["aalten"]):
            assert _raw_count() == 3
            assert _raw_count(f"AND tenant_id = {events['berkelland']}") == 0
        db.session.commit()
        assert _raw_count() == 0  # no context: the database shows nothing either
        db.session.commit()
        with cross_tenant_scope("scheduler"):
            assert _raw_count() == 6


@pg
def test_rls_refuses_an_insert_for_another_tenant(app, events):
    with app.app_context(), tenant_scope(events["aalten"]):
        with pytest.raises(DBAPIError, match="row-level security"):
            db.session.execute(
                text("INSERT INTO audit_event (tenant_id, action, outcome, at) VALUES (:t, 'x', 'success', now())"),
                {"t": events["berkelland"]},
            )
        db.session.rollback()


@pg
def test_the_tenant_setting_does_not_outlive_its_transaction(app, events):
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], pool_size=1, max_overflow=0)
    rls.install(engine, rls.scope_key(app.config["SECRET_KEY"]))
    try:
        with engine.connect() as conn:
            with conn.begin():
                rls.apply_scope(conn, Scope(tenant_id=events["aalten"]))
                assert conn.execute(text("SELECT count(*) FROM audit_event WHERE action = 'test.event'")).scalar() == 3
        with engine.connect() as conn:  # the same pooled connection, next user
            assert conn.execute(text("SELECT count(*) FROM audit_event")).scalar() == 0
    finally:
        engine.dispose()


@pg
def test_a_transaction_opened_with_its_scope_is_one_transaction(app, events):
    """BEGIN and the settings go out in one round trip, with the driver in autocommit (rls.apply_scope):
    a rollback still undoes the writes, the settings end with the transaction, and the connection goes
    back to the pool with the driver's own transactions."""
    with app.app_context():
        with tenant_scope(events["aalten"]):
            db.session.execute(insert(AuditEvent.__table__), [_event(events["aalten"], "test.undone")])
            driver = db.session.connection().connection.driver_connection
            assert driver.autocommit and _raw_count() == 3
        db.session.rollback()
        assert not driver.autocommit  # back in the pool
        assert driver.execute("SELECT current_setting('koppel.tenant_id', true)").fetchone()[0] in ("", None)
        driver.rollback()
        with db.engine.connect() as conn:  # no scope: psycopg opens the transaction itself
            conn.execute(insert(AuditEvent.__table__), [_event(None, "test.undone")])
            assert not conn.connection.driver_connection.autocommit
            conn.rollback()
        with cross_tenant_scope("scheduler"):
            assert db.session.scalar(select(func.count()).where(AuditEvent.action == "test.undone")) == 0


@pg
def test_a_failed_statement_in_a_transaction_opened_with_its_scope_leaves_a_usable_connection(app, events):
    with app.app_context():
        with tenant_scope(events["aalten"]):
            driver = db.session.connection().connection.driver_connection
            with pytest.raises(DBAPIError, match="no_such_table"):
                db.session.execute(text("SELECT * FROM no_such_table"))
        db.session.rollback()
        assert not driver.autocommit
        with tenant_scope(events["berkelland"]):
            assert _raw_count() == 2
        db.session.rollback()


@pg
def test_an_engine_without_the_checkin_listener_keeps_psycopgs_begin(app, events):
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.connect() as conn:
            rls.apply_scope(conn, Scope(tenant_id=events["aalten"]))
            assert not conn.connection.driver_connection.autocommit
            assert conn.scalar(text("SELECT count(*) FROM audit_event WHERE action = 'test.event'")) == 3
    finally:
        engine.dispose()


@pg
def test_a_transaction_with_its_own_isolation_level_keeps_it(app, events):
    with app.app_context(), tenant_scope(events["aalten"]):
        db.session.connection(execution_options={"isolation_level": "SERIALIZABLE"})
        assert db.session.scalar(text("SHOW transaction_isolation")) == "serializable"
        assert _raw_count() == 3
        db.session.rollback()


@pg
def test_a_scope_entered_inside_an_open_transaction_reaches_the_database(app, events):
    with app.app_context():
        db.session.execute(select(Membership.id)).all()  # opens the transaction, with no scope
        with tenant_scope(events["aalten"]):
            assert _raw_count() == 3
        with tenant_scope(events["berkelland"]):
            assert _raw_count() == 2
        db.session.rollback()


@pg
def test_every_tenant_table_forces_rls_and_the_app_role_owns_nothing(app, owner_engine):
    with owner_engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = ANY(:t)"
        ), {"t": list(TENANT_TABLES)}).all()
        assert {r.relname for r in rows} == TENANT_TABLES
        assert all(r.relrowsecurity and r.relforcerowsecurity for r in rows)
        owned = conn.execute(text(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = :role"
        ), {"role": app.config["DATABASE_APP_ROLE"]}).scalar()
        assert owned == 0
    with app.app_context():
        role = db.session.execute(text("SELECT current_user")).scalar()
        assert role == app.config["DATABASE_APP_ROLE"]
        assert not db.session.execute(text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")).scalar()


@pg
@pytest.mark.parametrize("statement", ["UPDATE audit_event SET action = 'forged'", "DELETE FROM audit_event"])
def test_the_audit_log_is_append_only_for_the_app(app, events, statement):
    with app.app_context(), tenant_scope(events["aalten"]):
        with pytest.raises(DBAPIError, match="permission denied"):
            db.session.execute(text(statement))
        db.session.rollback()


def test_a_statement_that_hides_its_entity_in_expressions_fails_closed(app, events):
    """``select(cast(extract(...)))`` over a tenant table carries no ORM entity, so the tenant criteria cannot
    reach it (row-level security alone would filter it, and SQLite has none): refused, not answered for
    every tenant. Naming the entity (``select_from``) lets the criteria in."""
    from sqlalchemy import Integer, cast, extract

    year = cast(extract("year", AuditEvent.at), Integer)
    with app.app_context(), tenant_scope(events["aalten"]):
        with pytest.raises(TenantContextError):
            db.session.execute(select(year, func.count()).group_by(year)).all()
        # a column of the entity anywhere in the statement brings the criteria along
        assert db.session.execute(select(func.count()).where(year > 2000, AuditEvent.action == "test.event")).scalar() == 3
        counted = db.session.execute(select(year, func.count()).select_from(AuditEvent)
                                     .where(AuditEvent.action == "test.event").group_by(year)).all()
        assert [n for _, n in counted] == [3]
