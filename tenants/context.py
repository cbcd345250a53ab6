"""The tenant context: which tenant's rows the current code may touch.

A context is either one tenant (``tenant_scope``) or a named cross-tenant
scope (``cross_tenant_scope``) that only the scheduler and consortium
aggregation use. With no context, queries on tenant-owned tables raise.
The context lives in a :class:`contextvars.ContextVar`, so threads and
Celery tasks each have their own. On PostgreSQL a cross-tenant scope's
statements run as another database role (:mod:`tenants.session`).
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from dataclasses import dataclass

#: The named scopes that may read across tenants, and who uses them.
CROSS_TENANT_SCOPES = {
    "scheduler": "Celery beat's dispatcher finds due work for every tenant",
    "consortium-aggregation": "regional figures over a consortium's members",
    "platform-maintenance": "operator commands (onboarding, demo data, audit export)",
}


class TenantContextError(RuntimeError):
    """Tenant-owned data was touched without a tenant context."""


class CrossTenantWriteError(RuntimeError):
    """A row of another tenant was about to be written."""


@dataclass(frozen=True)
class Scope:
    tenant_id: int | None = None
    cross_tenant: str | None = None
    #: A tenant scope entered inside a cross-tenant one (onboarding a municipality, the scheduler's consortium
    #: work): its statements stay on the cross-tenant scope's connection, one transaction, filtered by the ORM.
    within: str | None = None

    @property
    def runs_as_cross(self) -> bool:
        """Whether the statements of this scope run as the cross-tenant database role."""
        return self.cross_tenant is not None or self.within is not None

    @property
    def key(self) -> str:
        return f"x:{self.cross_tenant}" if self.cross_tenant else f"t:{self.tenant_id}"


_scope: contextvars.ContextVar[Scope | None] = contextvars.ContextVar("koppel_tenant_scope", default=None)


#: Called as ``hook(old, new)`` when a scope is entered or left (normally) and one of the two scopes is
#: cross-tenant and the other not: the statements move to another role's connection (tenants.session flushes).
on_switch: list = []


def _switch(old: Scope | None, new: Scope | None) -> None:
    if on_switch and bool(old and old.runs_as_cross) != bool(new and new.runs_as_cross):
        for hook in on_switch:
            hook(old, new)


def current_scope() -> Scope | None:
    """The active scope, or None."""
    return _scope.get()


def current_tenant_id() -> int | None:
    """The current tenant's id; None in a cross-tenant scope or with no context."""
    scope = _scope.get()
    return scope.tenant_id if scope else None


def enter(scope: Scope) -> contextvars.Token:
    """Activate *scope*; pass the returned token to :func:`leave`."""
    return _scope.set(scope)


def leave(token: contextvars.Token) -> None:
    _scope.reset(token)


@contextmanager
def tenant_scope(tenant_id: int):
    """Run the block as tenant *tenant_id*."""
    if not isinstance(tenant_id, int) or isinstance(tenant_id, bool):
        raise TypeError(f"tenant_id must be an int, not {tenant_id!r}")
    outer = _scope.get()
    within = (outer.cross_tenant or outer.within) if outer is not None else None
    yield from _scoped(Scope(tenant_id=tenant_id, within=within))


@contextmanager
def cross_tenant_scope(name: str):
    """Run the block across all tenants, under one of the named scopes."""
    if name not in CROSS_TENANT_SCOPES:
        raise ValueError(f"unknown cross-tenant scope {name!r}; known: {', '.join(sorted(CROSS_TENANT_SCOPES))}")
    yield from _scoped(Scope(cross_tenant=name))


def _scoped(scope: Scope):
    previous = _scope.get()
    _switch(previous, scope)
    token = enter(scope)
    try:
        yield
        _switch(scope, previous)  # not when the block raised: its transaction is rolled back
    finally:
        leave(token)
