"""The tenant context: which tenant's rows the current code may touch.

A context is either one tenant (``tenant_scope``) or a named cross-tenant
scope (``cross_tenant_scope``) that only the scheduler and consortium
aggregation use. With no context, queries on tenant-owned tables raise.
The context lives in a :class:`contextvars.ContextVar`, so threads and
Celery tasks each have their own.
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

    @property
    def key(self) -> str:
        return f"x:{self.cross_tenant}" if self.cross_tenant else f"t:{self.tenant_id}"


_scope: contextvars.ContextVar[Scope | None] = contextvars.ContextVar("koppel_tenant_scope", default=None)


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
    token = enter(Scope(tenant_id=tenant_id))
    try:
        yield
    finally:
        leave(token)


@contextmanager
def cross_tenant_scope(name: str):
    """Run the block across all tenants, under one of the named scopes."""
    if name not in CROSS_TENANT_SCOPES:
        raise ValueError(f"unknown cross-tenant scope {name!r}; known: {', '.join(sorted(CROSS_TENANT_SCOPES))}")
    token = enter(Scope(cross_tenant=name))
    try:
        yield
    finally:
        leave(token)
