"""PostgreSQL row-level security: policies for migrations, signed settings per transaction.

Two roles use the tables (the owner runs migrations and is trusted):

* the app role (``DATABASE_APP_ROLE``) sees and writes only the rows of the
  tenant that :func:`koppel_current_tenant` names: the id in
  ``koppel.tenant_id``, but only when ``koppel.tenant_mac`` holds its
  HMAC-SHA256, bound to the connection's backend pid, under a key that only
  the owner can read (``koppel_private.scope_key``). So the app role cannot
  choose a tenant by setting a value: a MAC is needed, and one seen on
  another connection (``pg_stat_activity``) does not fit this one.
* the cross role (``DATABASE_CROSS_ROLE``, ``CROSS_TENANT_DATABASE_URL``)
  sees and writes every row; only the named cross-tenant scopes use it
  (:meth:`tenants.session.TenantSession.get_bind`).

Both settings are transaction-local (``set_config(..., true)``), so nothing
leaks to the next user of a pooled connection. Every tenant-owned table has
``FORCE ROW LEVEL SECURITY``; a role without a policy sees no rows.
"""
from __future__ import annotations

import hashlib
import hmac

from psycopg.pq import TransactionStatus
from sqlalchemy import event, text

SET_SCOPE = "SELECT set_config('koppel.tenant_id', %s, true), set_config('koppel.tenant_mac', %s, true)"
# The same, opening the transaction (see apply_scope).
BEGIN_WITH_SCOPE = ("BEGIN; SELECT set_config('koppel.tenant_id', '{tenant_id}', true), "
                    "set_config('koppel.tenant_mac', '{mac}', true)")

#: The function the app role's policies compare with; read once per statement (an InitPlan), not once per row.
CURRENT_TENANT = "koppel_current_tenant"
SIGNED_TENANT_MATCH = f"tenant_id = (SELECT {CURRENT_TENANT}())"
#: Where the MAC key lives: a schema of the owner's that no other role may use.
PRIVATE_SCHEMA = "koppel_private"
KEY_TABLE = f"{PRIVATE_SCHEMA}.scope_key"

#: HMAC-SHA256 with the built-in sha256(): the key's inner and outer pads are stored (RFC 2104), so no extension
#: is needed. The setting is trusted only when its MAC fits this backend; otherwise NULL, and no row matches.
#: PL/pgSQL, whose plans a backend keeps (an SQL function with SET would be planned again at every call).
FUNCTION = f"""
CREATE OR REPLACE FUNCTION public.{CURRENT_TENANT}() RETURNS integer
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  tenant text := current_setting('koppel.tenant_id', true);
  pads record;
BEGIN
  IF tenant IS NULL OR tenant = '' THEN
    RETURN NULL;
  END IF;
  SELECT inner_pad, outer_pad INTO pads FROM {KEY_TABLE} WHERE id = 1;
  IF current_setting('koppel.tenant_mac', true) = encode(sha256(pads.outer_pad || sha256(pads.inner_pad
       || convert_to(tenant || ':' || pg_backend_pid(), 'UTF8'))), 'hex') THEN
    RETURN tenant::integer;
  END IF;
  RETURN NULL;
END
$$"""

# The policies before the roles were split: migrations 0001-0012 make these (they run before 0013 made the
# function), and 0013 replaces them. Kept under their old names for those migrations; never for new policies.
TENANT_MATCH = "tenant_id = (SELECT NULLIF(current_setting('koppel.tenant_id', true), '')::integer)"
CROSS_TENANT = "(SELECT current_setting('koppel.cross_tenant', true)) = 'on'"

KEY_INFO = "koppel_scope_key"  # the pool record's info: the MAC key
MACS_INFO = "koppel_scope_macs"  # ... and the MACs made for this connection, by tenant
_default_key: bytes | None = None


def scope_key(secret_key: str) -> bytes:
    """The 256-bit MAC key of the tenant settings, derived from ``SECRET_KEY`` (HKDF-SHA256)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"koppel", info=b"koppel.tenant-scope").derive(
        secret_key.encode())


def pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer pads of *key* (as the database stores them)."""
    block = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


def mac(key: bytes, tenant_id: str, backend_pid: int) -> str:
    """The MAC that makes *tenant_id* count on the connection of *backend_pid*."""
    return hmac.new(key, f"{tenant_id}:{backend_pid}".encode(), hashlib.sha256).hexdigest()


def apply_scope(connection, scope) -> None:
    """Set the transaction's scope settings on *connection* (PostgreSQL only).

    A tenant scope sets the tenant's id with its MAC for this connection
    (made once per pooled connection and tenant); any other scope clears
    both, so the app role sees no tenant-owned row. Straight through the
    driver (psycopg), since it runs in nearly every request. When no
    transaction is open yet, BEGIN and the settings go to the server in one
    round trip instead of two: the driver is put in autocommit mode, so that
    it sends no BEGIN of its own, and the transaction is opened explicitly.
    Commit and rollback end it as usual (psycopg ends whatever transaction
    the server has open), and :func:`install` takes autocommit off again
    when the connection goes back to the pool; on an engine without it, and
    on a connection asked for another isolation level, read-only or
    deferrable, psycopg opens the transaction itself.
    """
    fairy = connection.connection
    driver = fairy.driver_connection
    tenant_id, signature = "", ""
    if scope is not None and scope.tenant_id is not None:
        tenant_id = str(int(scope.tenant_id))
        macs = fairy.info.get(MACS_INFO)
        if macs is None:
            macs = fairy.info[MACS_INFO] = {}
        signature = macs.get(tenant_id)
        if signature is None:
            key = fairy.info.get(KEY_INFO) or _default_key
            if key is None:
                raise RuntimeError("no tenant-scope key: create the engine's app with SECRET_KEY (rls.install)")
            signature = macs[tenant_id] = mac(key, tenant_id, driver.info.backend_pid)
    if _may_open_transaction(fairy, driver):
        driver.autocommit = True
        # literals are safe: an integer and a hex digest (the simple protocol, two statements)
        driver.execute(BEGIN_WITH_SCOPE.format(tenant_id=tenant_id, mac=signature).encode())
    else:
        driver.execute(SET_SCOPE, (tenant_id, signature))


#: Marks a pooled connection of an engine with :func:`install`'s listeners (in the pool record's info).
OPENS_TRANSACTIONS = "koppel_opens_transactions"


def _may_open_transaction(fairy, driver) -> bool:
    return (driver.info.transaction_status == TransactionStatus.IDLE
            and fairy.info.get(OPENS_TRANSACTIONS)
            and driver.isolation_level is None and driver.read_only is None and driver.deferrable is None)


def install(engine, key: bytes | None = None) -> None:
    """Prepare a PostgreSQL *engine* for :func:`apply_scope`: the MAC *key* on each connection, and
    transactions opened with their scope (autocommit off again at checkin)."""
    global _default_key
    if key is not None:
        _default_key = key  # for engines made without install (tests, tools)

    @event.listens_for(engine, "connect")
    def _mark(dbapi_connection, record):
        record.info[OPENS_TRANSACTIONS] = True
        if key is not None:
            record.info[KEY_INFO] = key

    @event.listens_for(engine, "checkin")
    def _autocommit_off(dbapi_connection, record):
        # a connection not idle here failed its reset, and the pool discards it
        if dbapi_connection is not None and dbapi_connection.info.transaction_status == TransactionStatus.IDLE:
            dbapi_connection.autocommit = False


# ----------------------------------------------------------------------------- DDL for migrations

def enable_statements(table: str, *, nullable_tenant: bool = False, roles: dict | None = None) -> list[str]:
    """DDL that puts *table* under row-level security.

    With *nullable_tenant*, the app role may insert rows without a tenant
    but never sees them (the audit log's platform events). *roles* (from
    :func:`policy_roles`) gives the split policies; without it (migrations
    before 0013), the old single policy.
    """
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        *(policy_statements(table, roles, nullable_tenant=nullable_tenant) if roles is not None
          else [policy_statement(table, nullable_tenant=nullable_tenant)]),
    ]


def policy_statement(table: str, *, nullable_tenant: bool = False) -> str:
    """The single policy of migrations 0001-0012 (one setting, and a cross-tenant switch any role could set)."""
    check = f"({TENANT_MATCH}) OR ({CROSS_TENANT})"
    if nullable_tenant:
        check += " OR tenant_id IS NULL"
    return (f"CREATE POLICY tenant_isolation ON {table} USING (({TENANT_MATCH}) OR ({CROSS_TENANT})) "
            f"WITH CHECK ({check})")


def policy_statements(table: str, roles: dict, *, nullable_tenant: bool = False, rows: str | None = None) -> list[str]:
    """The policies since 0013: the app role's (the signed tenant only, or *rows* for both reading and
    writing) and the cross role's and owner's (every row). A role missing from *roles* gets no policy, so it
    sees nothing."""
    using = rows or SIGNED_TENANT_MATCH
    check = rows or (f"({SIGNED_TENANT_MATCH}) OR tenant_id IS NULL" if nullable_tenant else SIGNED_TENANT_MATCH)
    statements = []
    if roles.get("app"):
        statements.append(f'CREATE POLICY tenant_isolation ON {table} TO "{roles["app"]}" '
                          f"USING ({using}) WITH CHECK ({check})")
    every = [f'"{role}"' for role in (roles.get("cross"), roles["owner"]) if role]
    statements.append(f"CREATE POLICY cross_tenant ON {table} TO {', '.join(every)} USING (true) WITH CHECK (true)")
    return statements


def disable_statements(table: str) -> list[str]:
    return [
        f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
        f"DROP POLICY IF EXISTS cross_tenant ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]


def _role_exists(bind, role: str) -> bool:
    return bool(bind.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}).scalar())


def policy_roles(bind) -> dict | None:
    """The roles the split policies name (None before migration 0013 made its function): ``app`` and
    ``cross`` from the configuration when they exist, ``owner`` the migrating role."""
    from flask import current_app

    if not bind.execute(text("SELECT to_regprocedure(:f) IS NOT NULL"), {"f": f"public.{CURRENT_TENANT}()"}).scalar():
        return None
    app, cross = current_app.config["DATABASE_APP_ROLE"], current_app.config["DATABASE_CROSS_ROLE"]
    return {"app": app if _role_exists(bind, app) else None, "cross": cross if _role_exists(bind, cross) else None,
            "owner": bind.execute(text("SELECT current_user")).scalar()}


def grant(op, role: str, *, read_write=(), append_only=()) -> None:
    """The table rights of *role* (the app role, or the cross role)."""
    op.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
    for table in read_write:
        op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO "{role}"')
    for table in append_only:
        op.execute(f'GRANT SELECT, INSERT ON {table} TO "{role}"')
    op.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
    op.execute(f'GRANT SELECT ON alembic_version TO "{role}"')


def secure_tables(op, *, tenant_tables=(), nullable_tenant_tables=(), read_write=(), append_only=()) -> None:
    """For a migration: put tables under RLS and grant the app role (and the cross role) their rights.

    ``tenant_tables`` and ``nullable_tenant_tables`` get the isolation policies;
    ``read_write`` tables get SELECT/INSERT/UPDATE/DELETE, ``append_only`` ones
    SELECT/INSERT only. Does nothing on SQLite. When a role
    (``DATABASE_APP_ROLE``, ``DATABASE_CROSS_ROLE``) does not exist, its
    grants are skipped with a warning: RLS still holds, because a role
    without a policy sees no rows and the table owner is subject to it too
    (FORCE), but superusers bypass it, so never connect the app as one.
    """
    import logging

    from flask import current_app

    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    roles = policy_roles(bind)
    for table in tenant_tables:
        for statement in enable_statements(table, roles=roles):
            op.execute(statement)
    for table in nullable_tenant_tables:
        for statement in enable_statements(table, nullable_tenant=True, roles=roles):
            op.execute(statement)
    names = [current_app.config["DATABASE_APP_ROLE"]] + ([current_app.config["DATABASE_CROSS_ROLE"]] if roles else [])
    for role in names:
        if not _role_exists(bind, role):
            logging.getLogger(__name__).warning("database role %s does not exist; no grants made", role)
            continue
        grant(op, role, read_write=read_write, append_only=append_only)


def store_key(connection, secret_key: str) -> bool:
    """As the owner: keep the MAC key derived from *secret_key* (``koppel db upgrade`` does, after the
    migrations, so a new ``SECRET_KEY`` reaches the database with the next upgrade). False when the
    database has no key table (SQLite, or before migration 0013)."""
    if connection.dialect.name != "postgresql" or not connection.execute(
            text("SELECT to_regclass(:t) IS NOT NULL"), {"t": KEY_TABLE}).scalar():
        return False
    inner, outer = pads(scope_key(secret_key))
    connection.execute(text(
        f"INSERT INTO {KEY_TABLE} (id, inner_pad, outer_pad) VALUES (1, :inner, :outer) "
        "ON CONFLICT (id) DO UPDATE SET inner_pad = excluded.inner_pad, outer_pad = excluded.outer_pad, "
        "changed_at = now() WHERE (scope_key.inner_pad, scope_key.outer_pad) <> (excluded.inner_pad, excluded.outer_pad)"),
        {"inner": inner, "outer": outer})
    return True
