"""Isolation the database enforces on its own (PostgreSQL): as the web application's role, with any setting
it can make, no row of another tenant is readable, writable or referable; cross-tenant work runs as a role
of its own, which tenant requests never use."""
from __future__ import annotations

import re

import psycopg
import pytest
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.pool import NullPool

from core.extensions import db
from core.programme.models import Family
from tenants import rls
from tenants.context import Scope, cross_tenant_scope, tenant_scope
from tenants.isolation import TENANT_TABLES
from tenants.session import CrossTenantDatabaseMissing

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

#: (table, column, referenced table) of every foreign key between tenant-owned tables that includes the tenant.
COMPOSITE = "SELECT conrelid::regclass::text, conkey, confrelid::regclass::text FROM pg_constraint " \
            "WHERE contype = 'f' AND array_length(conkey, 1) = 2 AND connamespace = 'public'::regnamespace"


@pytest.fixture
def app_role(app):
    """Connections as the app role, made and entered into a scope as the app does (rls.install, apply_scope)."""
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    rls.install(engine, rls.scope_key(app.config["SECRET_KEY"]))
    yield engine
    engine.dispose()


def _entered(conn, tenant_id):
    """The psycopg connection under *conn*, in a transaction of tenant *tenant_id*'s scope."""
    rls.apply_scope(conn, Scope(tenant_id=tenant_id))
    return conn.connection.driver_connection


def _try(raw, statement: str, params=()):
    """Run *statement* in a savepoint: its rows (or rowcount), or the error it raised (the savepoint undone)."""
    raw.execute("SAVEPOINT attempt")
    try:
        cursor = raw.execute(statement, params)
        result = cursor.fetchall() if cursor.description else cursor.rowcount
    except psycopg.Error as error:
        raw.execute("ROLLBACK TO SAVEPOINT attempt")
        return error
    raw.execute("RELEASE SAVEPOINT attempt")
    return result


def _attacks(raw, other_tenant: int, stolen_mac: str | None):
    """Every way the app role might try to become another tenant (each may fail; the checks follow)."""
    b = str(other_tenant)
    yield "cross-tenant switch", "SELECT set_config('koppel.cross_tenant', 'on', true)", ()
    yield "cross-tenant switch for the session", "SELECT set_config('koppel.cross_tenant', 'on', false)", ()
    yield "another tenant's id", "SELECT set_config('koppel.tenant_id', %s, true)", (b,)
    yield "another tenant's id for the session", "SELECT set_config('koppel.tenant_id', %s, false)", (b,)
    if stolen_mac is not None:
        yield "a MAC from another connection", ("SELECT set_config('koppel.tenant_id', %s, true), "
                                                "set_config('koppel.tenant_mac', %s, true)"), (b, stolen_mac)
    yield "SET ROLE to the cross role", "SET ROLE koppel_cross", ()
    yield "SET ROLE to the owner", "SET ROLE koppel_owner", ()
    yield "RESET ROLE", "RESET ROLE", ()
    yield "SET SESSION AUTHORIZATION", "SET SESSION AUTHORIZATION koppel_owner", ()
    yield "row security off", "SET row_security = off", ()
    yield "the function with an argument", "SELECT koppel_current_tenant(%s)", (other_tenant,)
    yield "reading the key", "SELECT * FROM koppel_private.scope_key", ()
    yield "a function of its own in its place", (
        "CREATE FUNCTION public.koppel_current_tenant(integer) RETURNS integer LANGUAGE sql AS 'SELECT $1'"), ()
    yield "switching the policy off", "ALTER TABLE family NO FORCE ROW LEVEL SECURITY", ()
    yield "dropping the policy", "DROP POLICY tenant_isolation ON family", ()


def _assert_nothing_of(raw, own: int, other: int, references: list, other_ids: dict, what: str):
    """No row of *other* (nor one without a tenant) readable, writable or referable from *raw*."""
    for table in sorted(TENANT_TABLES):
        seen = _try(raw, f"SELECT count(*) FROM {table} WHERE tenant_id IS DISTINCT FROM %s", (own,))
        assert isinstance(seen, psycopg.Error) or seen == [(0,)], f"{what}: {table} shows other rows"
        for change in (f"UPDATE {table} SET tenant_id = tenant_id WHERE tenant_id = %s",
                       f"DELETE FROM {table} WHERE tenant_id = %s"):
            done = _try(raw, change, (other,))
            assert isinstance(done, psycopg.Error) or done == 0, f"{what}: {change} changed rows"
        added = _try(raw, f"INSERT INTO {table} (tenant_id) VALUES (%s)", (other,))
        assert isinstance(added, psycopg.Error) and added.sqlstate == "42501", f"{what}: {table} took a row of {other}"
    for table, column, target in references:
        # a copy of one of our own rows, pointing at the other tenant's row instead
        columns = [f'"{c}"' for c, in raw.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
            "AND attname <> 'id'", (table,)).fetchall()]
        values = ", ".join("%s" if c == f'"{column}"' else c for c in columns)
        statement = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} FROM {table} WHERE tenant_id = %s LIMIT 1"
        refused = _try(raw, statement, (other_ids[target], own))
        if refused == 0:
            continue  # no row of ours to copy: nothing to try with
        assert isinstance(refused, psycopg.Error) and refused.sqlstate in ("23503", "42501"), (
            f"{what}: {table}.{column} took {target} {other_ids[target]} of tenant {other}: {refused}")
        # the error reads the same for the other tenant's row as for an id that exists nowhere
        nowhere = _try(raw, statement, (10**9, own))
        assert _masked(refused, other_ids[target]) == _masked(nowhere, 10**9), what
        assert "=(" not in str(refused)  # PostgreSQL names no key values of a table under row-level security


def _masked(error, value) -> str:
    return re.sub(rf"\b{value}\b", "<id>", f"{error.sqlstate} {error}")


def _setup(app, owner_engine, world):
    own, other = world.ids["aalten"], world.ids["berkelland"]
    with owner_engine.connect() as conn:
        references = [(table, conn.execute(text(f"SELECT attname FROM pg_attribute WHERE attrelid = '{table}'::regclass "
                                                f"AND attnum = {keys[0]}")).scalar(), target)
                      for table, keys, target in conn.execute(text(COMPOSITE)).all()
                      if table in TENANT_TABLES and target in TENANT_TABLES]
        other_ids = {target: conn.execute(text(f"SELECT min(id) FROM {target} WHERE tenant_id = :t"),
                                          {"t": other}).scalar() for _, _, target in references}
    # a key whose target has no row of the other tenant (no work items there) has nothing to point at
    return own, other, [r for r in references if other_ids[r[2]] is not None], other_ids


def test_asvs_8_4_1_app_role_with_any_setting_reads_writes_or_references_no_other_tenant(
        app, world, owner_engine, app_role):
    own, other, references, other_ids = _setup(app, owner_engine, world)
    assert {("member", "family_id", "family"), ("match", "requesting_family_id", "family"),
            ("contact", "match_id", "match")} <= set(references)
    with app_role.connect() as victim, app_role.connect() as attacker:
        _entered(victim, other)  # another connection at work for the other tenant, its settings in plain view
        raw = _entered(attacker, own)
        assert raw.execute("SELECT count(*) FROM family").fetchone()[0] > 0  # our own rows: the scope works
        assert raw.execute("SELECT koppel_current_tenant()").fetchone()[0] == own
        seen = raw.execute("SELECT query FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                           "AND query LIKE %s", (f"%koppel.tenant_id', '{other}'%",)).fetchall()
        stolen = re.search(r"tenant_mac', '([0-9a-f]{64})'", seen[0][0]).group(1) if seen else None
        assert stolen is not None  # the MAC is visible to the same role: it must be useless here
        _assert_nothing_of(raw, own, other, references, other_ids, "as entered")
        for what, statement, params in _attacks(raw, other, stolen):
            raw.execute("SAVEPOINT attack")
            try:
                raw.execute(statement, params)
            except psycopg.Error:
                raw.execute("ROLLBACK TO SAVEPOINT attack")
            _assert_nothing_of(raw, own, other, references, other_ids, what)
        raw.execute("ROLLBACK")


def test_asvs_13_2_2_app_role_holds_no_key_no_other_role_and_no_tenant_without_a_valid_mac(app, app_role):
    with app_role.connect() as conn:
        raw = conn.connection.driver_connection
        member_of = raw.execute("SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member "
                                "WHERE r.rolname = current_user").fetchone()[0]
        assert member_of == 0
        assert not raw.execute("SELECT has_schema_privilege('koppel_private', 'USAGE')").fetchone()[0]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            raw.execute("SELECT inner_pad FROM koppel_private.scope_key")
        raw.rollback()
        for tenant, mac in (("1", ""), ("1", "0" * 64), ("", ""), ("1", rls.mac(b"\0" * 32, "1", raw.info.backend_pid)),
                            ("1", rls.mac(rls.scope_key(app.config["SECRET_KEY"]), "1", raw.info.backend_pid + 1))):
            raw.execute("SELECT set_config('koppel.tenant_id', %s, true), set_config('koppel.tenant_mac', %s, true)",
                        (tenant, mac))
            assert raw.execute("SELECT koppel_current_tenant()").fetchone()[0] is None
        raw.rollback()


def test_asvs_8_4_1_cross_scopes_run_as_the_cross_role_and_tenant_requests_never(app, world, client):
    with app.app_context():
        cross = db.engines["cross"]
        with cross_tenant_scope("consortium-aggregation"):
            assert db.session.scalar(text("SELECT current_user")) == "koppel_cross"
            tenants = db.session.scalars(text("SELECT DISTINCT tenant_id FROM family")).all()
            assert set(tenants) == {world.ids["aalten"], world.ids["berkelland"], world.ids["druten"]}
        with tenant_scope(world.ids["aalten"]):
            assert db.session.scalar(text("SELECT current_user")) == "koppel_app"
            assert db.session.scalars(text("SELECT DISTINCT tenant_id FROM family")).all() == [world.ids["aalten"]]
        db.session.rollback()
        # a tenant's work inside cross-tenant work (onboarding) stays in its transaction, filtered by the ORM
        with cross_tenant_scope("platform-maintenance"), tenant_scope(world.ids["aalten"]):
            assert db.session.scalar(text("SELECT current_user")) == "koppel_cross"
            assert set(db.session.scalars(select(Family.tenant_id)).all()) == {world.ids["aalten"]}
        db.session.rollback()
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(cross, "before_cursor_execute", seen)
    try:
        headers = world.bearer("coordinator")
        family = world.records["aalten"]["family"]
        for path in ("/api/v1/aalten/families", f"/api/v1/aalten/families/{family}",
                     f"/api/v1/aalten/families/{family}/decisions", "/api/v1/aalten/matches",
                     f"/api/v1/aalten/matches/{world.records['aalten']['match']}"):
            assert client.get(path, headers=headers).status_code == 200, path
        tag = client.get(f"/api/v1/aalten/families/{family}", headers=headers).headers["ETag"]
        changed = client.patch(f"/api/v1/aalten/families/{family}", json={"display_name": "Familie Jansen-de Wit"},
                               headers={**headers, "If-Match": tag})
        assert changed.status_code == 200
        other = world.records["berkelland"]["family"]
        assert client.get(f"/api/v1/aalten/families/{other}", headers=headers).status_code == 404
    finally:
        event.remove(cross, "before_cursor_execute", seen)
    assert statements == []


def test_asvs_16_5_3_a_cross_scope_without_its_database_fails_closed(app, tmp_path_factory):
    from tests.conftest import make_app

    bare = make_app("postgresql", tmp_path_factory, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                    CROSS_TENANT_DATABASE_URL="")
    with bare.app_context():
        assert "cross" not in db.engines
        with cross_tenant_scope("scheduler"), pytest.raises(CrossTenantDatabaseMissing, match="CROSS_TENANT_DATABASE_URL"):
            db.session.execute(text("SELECT 1"))
        db.session.rollback()
        for engine in db.engines.values():
            engine.dispose()


def test_asvs_16_5_1_a_refused_reference_answers_404_without_the_databases_words(app, world, owner_engine,
                                                                                tmp_path_factory):
    """A write that only the composite key stops (the checks before it were bypassed): a 404 as for any unknown
    id, with nothing of the database's message (which names keys and ids)."""
    from tests.conftest import make_app

    probe = make_app("postgresql", tmp_path_factory, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    other_family = world.records["berkelland"]["family"]

    from core.auth.access import public

    with owner_engine.connect() as conn:
        columns = conn.execute(text("SELECT attname FROM pg_attribute WHERE attrelid = 'consent'::regclass "
                                    "AND attnum > 0 AND NOT attisdropped AND attname <> 'id'")).scalars().all()
    copy = (f"INSERT INTO consent ({', '.join(columns)}) SELECT "
            f"{', '.join(':family' if c == 'family_id' else f'{chr(34)}{c}{chr(34)}' for c in columns)} FROM consent LIMIT 1")

    @probe.post("/api/v1/probe/<int:tenant_id>/<int:family_id>")
    @public
    def _probe(tenant_id, family_id):
        with tenant_scope(tenant_id):
            db.session.execute(text(copy), {"family": family_id})
        return "written"

    try:
        answer = probe.test_client().post(f"/api/v1/probe/{world.ids['aalten']}/{other_family}")
        nowhere = probe.test_client().post(f"/api/v1/probe/{world.ids['aalten']}/{10**9}")
        assert answer.status_code == nowhere.status_code == 404
        assert answer.get_json() == nowhere.get_json()  # the same as for an id that exists nowhere
        body = answer.get_data(as_text=True)
        assert not re.search(rf"\b{other_family}\b", body) and "consent" not in body and "Key" not in body, body
    finally:
        with probe.app_context():
            for engine in db.engines.values():
                engine.dispose()
