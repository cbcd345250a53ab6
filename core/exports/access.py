"""Where exports belong and who sees them.

A :class:`Scope` is one municipality (its schedules and runs are tenant-owned
rows) or one consortium. Read through a consortium, a scope holds the
consortium's own schedules and runs (``tenant_id`` empty) and those of its
member municipalities, read in the ``consortium-aggregation`` cross-tenant
scope and filtered on the consortium; a consortium admin sees there who
receives what in the whole region.

A :class:`Viewer` is an admin of the scope (sees everything in it) or a
funder (sees its own schedules and runs only, and nothing when it is a
machine token made by nobody).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import exists, false, or_, select, true

from core.auth import roles as R
from core.auth.models import Membership, User
from core.extensions import db
from tenants.context import cross_tenant_scope, tenant_scope
from tenants.models import Municipality

#: The cross-tenant scope in which a consortium's exports are read and made.
CONSORTIUM_SCOPE = "consortium-aggregation"


@dataclass(frozen=True)
class Scope:
    """One municipality (``tenant_id``) or one consortium (``consortium_id``)."""

    tenant_id: int | None = None
    consortium_id: int | None = None

    def __post_init__(self):
        if (self.tenant_id is None) == (self.consortium_id is None):
            raise ValueError("a scope is one municipality or one consortium")

    @classmethod
    def of(cls, row) -> Scope:
        """The scope of a schedule or a run."""
        return cls(row.tenant_id, row.consortium_id)

    @property
    def is_consortium(self) -> bool:
        return self.consortium_id is not None

    @contextmanager
    def entered(self):
        """The tenant (or cross-tenant) context in which this scope's rows are read and written."""
        if self.tenant_id is not None:
            with tenant_scope(self.tenant_id):
                yield
        else:
            with cross_tenant_scope(CONSORTIUM_SCOPE):
                yield

    def rows(self, model):
        """A WHERE clause: *model*'s rows that this scope reaches (a consortium's: its own and its members')."""
        if self.tenant_id is not None:
            return model.tenant_id == self.tenant_id
        members = select(Municipality.id).where(Municipality.consortium_id == self.consortium_id)
        return or_(model.consortium_id == self.consortium_id, model.tenant_id.in_(members))

    def own(self, model):
        """A WHERE clause: *model*'s rows of exactly this scope (a consortium's own, not its members')."""
        if self.tenant_id is not None:
            return model.tenant_id == self.tenant_id
        return model.consortium_id == self.consortium_id

    def overlapping(self, model):
        """A WHERE clause: *model*'s rows whose scope shares figures with this one: the same municipality or
        consortium, the consortium of this municipality, or a member of this consortium."""
        if self.tenant_id is not None:
            consortium = select(Municipality.consortium_id).where(Municipality.id == self.tenant_id).scalar_subquery()
            return or_(model.tenant_id == self.tenant_id, model.consortium_id == consortium)
        return self.rows(model)

    def funder_grant(self):
        """A WHERE clause on :class:`Membership`: a ``funder`` membership that covers this scope (for a
        municipality: on it, or on its consortium; for a consortium: on the consortium)."""
        if self.tenant_id is not None:
            consortium = select(Municipality.consortium_id).where(Municipality.id == self.tenant_id).scalar_subquery()
            where = or_(Membership.municipality_id == self.tenant_id, Membership.consortium_id == consortium)
        else:
            where = Membership.consortium_id == self.consortium_id
        return (Membership.role == R.FUNDER) & where


def is_funder(user_id: int, scope: Scope) -> bool:
    """Whether the user is active and holds the funder role covering *scope*."""
    return bool(db.session.scalar(select(exists().where(
        Membership.user_id == user_id, scope.funder_grant(), User.id == Membership.user_id, User.active.is_(True)))))


@dataclass(frozen=True)
class Viewer:
    """Who reads: an admin of the scope sees all of it, anyone else (a funder) only its own."""

    user_id: int | None
    admin: bool

    def sees(self, model):
        """A WHERE clause: the rows of *model* (with a ``funder_id``) this viewer may see."""
        if self.admin:
            return true()
        return model.funder_id == self.user_id if self.user_id is not None else false()

    def may_see(self, row) -> bool:
        return self.admin or (self.user_id is not None and row.funder_id == self.user_id)
