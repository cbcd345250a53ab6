"""PostgreSQL row-level security: policies for migrations, settings per transaction.

The app sets two transaction-local settings (``set_config(..., true)``, so
nothing leaks to the next user of a pooled connection):

* ``koppel.tenant_id``: the current tenant's id, or empty;
* ``koppel.cross_tenant``: ``on`` inside a named cross-tenant scope.

Every tenant-owned table has ``FORCE ROW LEVEL SECURITY`` and one policy
that shows and accepts only rows of the current tenant (or all rows in a
cross-tenant scope). The app connects as a role that owns no tables.
"""
from __future__ import annotations

from psycopg.pq import TransactionStatus
from sqlalchemy import event, text

SET_SCOPE = "SELECT set_config('koppel.tenant_id', %s, true), set_config('koppel.cross_tenant', %s, true)"
# The same, opening the transaction (see apply_scope).
BEGIN_WITH_SCOPE = ("BEGIN; SELECT set_config('koppel.tenant_id', '{tenant_id}', true), "
                    "set_config('koppel.cross_tenant', '{cross}', true)")

# Each setting is read once per statement (an InitPlan), not once per row.
TENANT_MATCH = "tenant_id = (SELECT NULLIF(current_setting('koppel.tenant_id', true), '')::integer)"
CROSS_TENANT = "(SELECT current_setting('koppel.cross_tenant', true)) = 'on'"


def apply_scope(connection, scope) -> None:
    """Set the transaction's scope settings on *connection* (PostgreSQL only).

    Straight through the driver (psycopg), since it runs in nearly every
    request. When no transaction is open yet, BEGIN and the settings go to
    the server in one round trip instead of two: the driver is put in
    autocommit mode, so that it sends no BEGIN of its own, and the
    transaction is opened explicitly. Commit and rollback end it as usual
    (psycopg ends whatever transaction the server has open), and
    :func:`install` takes autocommit off again when the connection goes back
    to the pool; on an engine without it, and on a connection asked for
    another isolation level, read-only or deferrable, psycopg opens the
    transaction itself.
    """
    driver = connection.connection.driver_connection
    tenant_id = str(int(scope.tenant_id)) if scope and scope.tenant_id is not None else ""
    cross = "on" if scope and scope.cross_tenant else ""
    if _may_open_transaction(connection, driver):
        driver.autocommit = True
        # literals are safe: an integer and one of two fixed strings (the simple protocol, two statements)
        driver.execute(BEGIN_WITH_SCOPE.format(tenant_id=tenant_id, cross=cross).encode())
    else:
        driver.execute(SET_SCOPE, (tenant_id, cross))


#: Marks a pooled connection of an engine with :func:`install`'s listeners (in the pool record's info).
OPENS_TRANSACTIONS = "koppel_opens_transactions"


def _may_open_transaction(connection, driver) -> bool:
    return (driver.info.transaction_status == TransactionStatus.IDLE
            and connection.connection.info.get(OPENS_TRANSACTIONS)
            and driver.isolation_level is None and driver.read_only is None and driver.deferrable is None)


def install(engine) -> None:
    """Let :func:`apply_scope` open transactions on a PostgreSQL *engine*: autocommit off again at checkin."""

    @event.listens_for(engine, "connect")
    def _mark(dbapi_connection, record):
        record.info[OPENS_TRANSACTIONS] = True

    @event.listens_for(engine, "checkin")
    def _autocommit_off(dbapi_connection, record):
        # a connection not idle here failed its reset, and the pool discards it
        if dbapi_connection is not None and dbapi_connection.info.transaction_status == TransactionStatus.IDLE:
            dbapi_connection.autocommit = False


def enable_statements(table: str, *, nullable_tenant: bool = False) -> list[str]:
    """DDL that puts *table* under row-level security.

    With *nullable_tenant*, rows without a tenant may be inserted in any scope
    but are visible only in a cross-tenant scope (the audit log's platform events).
    """
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        policy_statement(table, nullable_tenant=nullable_tenant),
    ]


def policy_statement(table: str, *, nullable_tenant: bool = False) -> str:
    """CREATE POLICY tenant_isolation for *table*."""
    check = f"({TENANT_MATCH}) OR ({CROSS_TENANT})"
    if nullable_tenant:
        check += " OR tenant_id IS NULL"
    return f"CREATE POLICY tenant_isolation ON {table} USING (({TENANT_MATCH}) OR ({CROSS_TENANT})) WITH CHECK ({check})"


def disable_statements(table: str) -> list[str]:
    return [
        f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]


def secure_tables(op, *, tenant_tables=(), nullable_tenant_tables=(), read_write=(), append_only=()) -> None:
    """For a migration: put tables under RLS and grant the app role its rights.

    ``tenant_tables`` and ``nullable_tenant_tables`` get the isolation policy;
    ``read_write`` tables get SELECT/INSERT/UPDATE/DELETE for the app role,
    ``append_only`` ones SELECT/INSERT only. Does nothing on SQLite. When the
    app role (``DATABASE_APP_ROLE``) does not exist, grants are skipped with a
    warning: RLS still holds, because the table owner is subject to it too
    (FORCE), but superusers bypass it, so never connect the app as one.
    """
    import logging

    from flask import current_app

    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table in tenant_tables:
        for statement in enable_statements(table):
            op.execute(statement)
    for table in nullable_tenant_tables:
        for statement in enable_statements(table, nullable_tenant=True):
            op.execute(statement)
    role = current_app.config["DATABASE_APP_ROLE"]
    if not bind.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}).scalar():
        logging.getLogger(__name__).warning("database role %s does not exist; no grants made", role)
        return
    op.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
    for table in read_write:
        op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO "{role}"')
    for table in append_only:
        op.execute(f'GRANT SELECT, INSERT ON {table} TO "{role}"')
    op.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
    op.execute(f'GRANT SELECT ON alembic_version TO "{role}"')
