"""The session class used by the app: Flask-SQLAlchemy's, with tenant isolation and a connection per role.

On PostgreSQL a named cross-tenant scope runs its statements as the cross
role (``CROSS_TENANT_DATABASE_URL``, the ``cross`` bind); everything else
runs as the app role, which sees only the tenant whose signed setting its
transaction carries (:mod:`tenants.rls`). Code keeps using ``db.session``:
:meth:`TenantSession.get_bind` picks the engine from the current scope.
Pending changes are flushed before the scope moves from one role's
connection to the other, so each change is written by the scope that made it.
A tenant scope entered inside a cross-tenant one stays on the cross role's
connection (one transaction: onboarding writes a municipality and then its
policy). On SQLite both are the same engine.
"""
from flask import current_app, has_app_context
from flask_sqlalchemy.session import Session as _FlaskSession

from tenants import context, isolation
from tenants.context import current_scope

#: The bind key of the cross role's engine (``SQLALCHEMY_BINDS``, made from ``CROSS_TENANT_DATABASE_URL``).
CROSS_BIND = "cross"


class CrossTenantDatabaseMissing(RuntimeError):
    """A cross-tenant scope on PostgreSQL without ``CROSS_TENANT_DATABASE_URL``: refused, not run as the app role."""


def cross_engine(engines):
    """The engine of cross-tenant work among Flask-SQLAlchemy's *engines*: the ``cross`` bind, or on SQLite the
    default engine; on PostgreSQL without the setting, :class:`CrossTenantDatabaseMissing`."""
    engine = engines.get(CROSS_BIND)
    if engine is not None:
        return engine
    default = engines[None]
    if default.dialect.name != "postgresql":
        return default
    raise CrossTenantDatabaseMissing(
        "CROSS_TENANT_DATABASE_URL is not set: cross-tenant work (scheduler, consortium aggregation, platform "
        "maintenance) runs as the database's cross-tenant role (postgresql+psycopg://koppel_cross:...@host/koppel), "
        "never as the app role")


def engine_for(scope):
    """The engine that statements of *scope* run on (for a transaction of their own, ``engine.begin()``)."""
    engines = current_app.extensions["sqlalchemy"].engines
    if scope is not None and scope.runs_as_cross:
        return cross_engine(engines)
    return engines[None]


class TenantSession(_FlaskSession):
    """A session that filters and guards tenant-owned rows, and runs cross-tenant scopes as the cross role.

    ``get()`` may answer from the identity map without a query, where no
    loader criteria apply; it is checked against the current scope here.
    """

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None:
            scope = current_scope()
            if scope is not None and scope.runs_as_cross:
                return cross_engine(self._db.engines)
        return super().get_bind(mapper, clause=clause, bind=bind, **kwargs)

    def get(self, entity, ident, **kwargs):
        obj = super().get(entity, ident, **kwargs)
        if obj is not None and not isolation.visible(obj):
            return None
        return obj


def _flush_before_switch(old, new) -> None:
    """Write what is pending on the role's connection that the scope *old* leaves (see :data:`context.on_switch`);
    with no scope before, nothing tenant-owned can be pending, and either role may write the rest."""
    if old is None or not has_app_context():
        return
    registry = current_app.extensions["sqlalchemy"].session.registry
    if not registry.has():
        return
    session = registry()
    if session.new or session.deleted or session.dirty:
        session.flush()


isolation.install(TenantSession)
context.on_switch.append(_flush_before_switch)
