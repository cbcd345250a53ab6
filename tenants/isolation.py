"""The ORM isolation layer for tenant-owned models.

* :class:`TenantOwned` marks a model whose rows belong to one municipality.
* Every SELECT, UPDATE and DELETE through a session gets
  ``with_loader_criteria`` for the current tenant.
* The flush guard fills ``tenant_id`` on new rows and refuses rows of another
  tenant.
* With no tenant context, a statement on a tenant-owned table raises
  :class:`~tenants.context.TenantContextError` (fail closed).
* On PostgreSQL, each transaction carries the scope in transaction-local
  settings that the row-level security policies read (:mod:`tenants.rls`),
  and cross-tenant scopes run as another role (:mod:`tenants.session`).

What this layer does not reach: ``text()`` and Core statements on tables,
and INSERTs. Row-level security covers those on PostgreSQL.
"""
from __future__ import annotations

from functools import lru_cache
from itertools import chain

from sqlalchemy import ForeignKey, ForeignKeyConstraint, UniqueConstraint, event
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column, with_loader_criteria
from sqlalchemy.sql.util import find_tables

from tenants import rls
from tenants.context import CrossTenantWriteError, TenantContextError, current_scope

#: Names of the tables of tenant-owned models, filled as models are declared.
TENANT_TABLES: set[str] = set()
#: Table name -> tenant-owned model class.
TENANT_MODELS: dict[str, type] = {}


class TenantOwned:
    """Mixin for a model whose rows belong to one municipality (the tenant).

    Set ``__tenant_nullable__ = True`` for a table that also holds
    platform-level rows without a tenant (only the audit log does); those rows
    are visible in a cross-tenant scope only.
    """

    __tenant_nullable__ = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__tablename__" in cls.__dict__:
            TENANT_TABLES.add(cls.__dict__["__tablename__"])
            TENANT_MODELS[cls.__dict__["__tablename__"]] = cls

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        return mapped_column(
            ForeignKey("municipality.id", ondelete="RESTRICT"),
            nullable=cls.__tenant_nullable__,
            index=True,
        )


def tenant_reference(column: str, table: str, ondelete: str) -> ForeignKeyConstraint:
    """A foreign key from *column* to *table*'s id that includes the tenant: ``(column, tenant_id)`` references
    ``table (id, tenant_id)``, so a row can only reference a row of its own tenant (the database checks foreign
    keys past row-level security). Named as the plain key was (``fk_<table>_<column>_<target>``). *table*
    declares :func:`referable`; a relationship over *column* names it in ``foreign_keys``."""
    return ForeignKeyConstraint([column, "tenant_id"], [f"{table}.id", f"{table}.tenant_id"], ondelete=ondelete)


def referable() -> UniqueConstraint:
    """``UNIQUE (id, tenant_id)``: what :func:`tenant_reference` points at."""
    return UniqueConstraint("id", "tenant_id")


def _statement_touches_tenant_tables(statement) -> bool:
    try:
        tables = find_tables(statement, include_aliases=True, include_joins=True, include_selects=True, include_crud=True)
    except Exception:  # an unusual construct: assume the worst
        return True
    return any(getattr(t, "name", None) in TENANT_TABLES for t in tables)


def _sync_database_scope(session: Session) -> None:
    """Bring the app role's transaction settings in line with the current scope (PostgreSQL).

    ``session.info`` keeps the scope whose settings the app role's connection carries; a cross-tenant
    scope runs on the cross role's connection, which needs none (:mod:`tenants.session`).
    """
    scope = current_scope()
    if scope is not None and scope.runs_as_cross:
        session.get_bind()  # fails closed when the cross role's engine is missing
        return
    if not session.in_transaction() or session.get_bind().dialect.name != "postgresql":
        return
    key = scope.key if scope else None
    if session.info.get("koppel_scope_key", None) != key:
        connection = session.connection()  # when it begins here, _after_begin sets the scope
        if session.info.get("koppel_scope_key", None) != key:
            rls.apply_scope(connection, scope)
            session.info["koppel_scope_key"] = key


@lru_cache(maxsize=4096)
def _tenant_criteria(tenant_id: int):
    """The loader criteria for one tenant; made once per tenant, since every query needs them.

    The tenant id reaches the lambda through its closure, which SQLAlchemy binds as a
    parameter: one option object per tenant, so each carries its own id.
    """
    return with_loader_criteria(TenantOwned, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)


def install(session_class: type[Session]) -> None:
    """Register the isolation listeners on *session_class*."""

    @event.listens_for(session_class, "after_begin")
    def _after_begin(session, transaction, connection):
        if connection.dialect.name != "postgresql":
            return
        scope = current_scope()
        if scope is not None and scope.runs_as_cross:
            return  # the cross role's connection: no settings (its policy shows every row)
        if scope is not None:
            rls.apply_scope(connection, scope)
        session.info["koppel_scope_key"] = scope.key if scope else None

    @event.listens_for(session_class, "do_orm_execute")
    def _do_orm_execute(state):
        if not (state.is_select or state.is_update or state.is_delete):
            _sync_database_scope(state.session)
            return
        scope = current_scope()
        if scope is None:
            if any(getattr(m.local_table, "name", None) in TENANT_TABLES for m in state.all_mappers) or (
                _statement_touches_tenant_tables(state.statement)
            ):
                raise TenantContextError(
                    "query on tenant-owned data without a tenant context; "
                    "enter tenant_scope(...) or a named cross_tenant_scope(...)"
                )
            return
        _sync_database_scope(state.session)
        if scope.tenant_id is None or state.is_column_load or state.is_relationship_load:
            return  # cross-tenant, or criteria already carried by the parent query
        if not state.is_orm_statement and _statement_touches_tenant_tables(state.statement):
            # e.g. select(cast(extract("year", Match.trial_on), Integer)): the expressions hide the entity, so the
            # statement is Core's and the criteria below would not reach the table (only row-level security would)
            raise TenantContextError(
                "the tenant criteria cannot reach this statement: it reads a tenant-owned table through "
                "expressions only; name the entity, e.g. .select_from(Model) or func.count(Model.id)"
            )
        state.statement = state.statement.options(_tenant_criteria(scope.tenant_id))

    @event.listens_for(session_class, "before_flush")
    def _before_flush(session, flush_context, instances):
        owned = [o for o in chain(session.new, session.dirty, session.deleted) if isinstance(o, TenantOwned)]
        if not owned:
            return
        scope = current_scope()
        if scope is None:
            raise TenantContextError("writing tenant-owned rows without a tenant context")
        _sync_database_scope(session)
        if scope.tenant_id is None:
            return  # cross-tenant scope: tenant_id must be given explicitly (NOT NULL catches it)
        for obj in owned:
            if obj.tenant_id is None and obj in session.new:
                obj.tenant_id = scope.tenant_id
            elif obj.tenant_id != scope.tenant_id:
                raise CrossTenantWriteError(
                    f"{type(obj).__name__} of tenant {obj.tenant_id} cannot be written in tenant {scope.tenant_id}'s context"
                )


def visible(obj) -> bool:
    """Whether *obj* (from the identity map, say) belongs to the current scope."""
    if not isinstance(obj, TenantOwned):
        return True
    scope = current_scope()
    if scope is None:
        raise TenantContextError("reading tenant-owned data without a tenant context")
    return scope.tenant_id is None or obj.tenant_id == scope.tenant_id
