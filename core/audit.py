"""The audit log: who did what, in which tenant, when, from where, and how it ended.

Every change and every refused access goes through :func:`record`. On
PostgreSQL the application's role may only INSERT and SELECT this table
(append-only); row-level security shows each tenant its own events.
"""
from __future__ import annotations

import logging
from datetime import datetime

from flask import g, has_app_context, has_request_context, request
from sqlalchemy import JSON, BigInteger, Index, String, insert
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.types import UTCDateTime, utcnow
from tenants import rls
from tenants.context import Scope, current_tenant_id, tenant_scope
from tenants.isolation import TenantOwned

SUCCESS = "success"
FAILURE = "failure"  # the action was tried and failed (wrong password, invalid input)
DENIED = "denied"  # the action was refused by an access check

log = logging.getLogger("koppel.audit")


class AuditEvent(TenantOwned, db.Model):
    __tablename__ = "audit_event"
    __tenant_nullable__ = True  # platform events (a login) have no tenant
    # No RETURNING: a platform event (no tenant) is not visible to the writer under RLS.
    __table_args__ = (Index("ix_audit_event_tenant_id_id", "tenant_id", "id"), {"implicit_returning": False})

    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(index=True)
    actor_token_id: Mapped[int | None]
    actor: Mapped[str | None] = mapped_column(String(254))  # e-mail or token name, as known at the time
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(45))
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict | None] = mapped_column(JSON)


def actor_user_id() -> int | None:
    """The id of the user behind the current request (or its token), if any; in a worker, the user a
    background job acts for (``g.principal`` of the task's app context)."""
    principal = g.get("principal") if has_app_context() else None
    return principal.user_id if principal else None


def record(
    action: str,
    *,
    outcome: str = SUCCESS,
    object_type: str | None = None,
    object_id=None,
    tenant_id: int | None = None,
    detail: dict | None = None,
    actor: str | None = None,
    user_id: int | None = None,
    apart: bool = True,
) -> None:
    """Write one audit event.

    A successful action is written in the caller's transaction, so it is kept
    exactly when the change is. A failure or refusal is written in a
    transaction of its own at once, so that it survives the rollback that
    usually follows; ``apart=False`` writes it in the caller's transaction,
    for work whose transaction commits either way (a background import).
    """
    principal = g.get("principal") if has_app_context() else None
    if tenant_id is None:
        tenant_id = current_tenant_id()
    values = {
        "at": utcnow(),
        "tenant_id": tenant_id,
        "actor_user_id": user_id if user_id is not None else (principal.user_id if principal else None),
        "actor_token_id": principal.token_id if principal else None,
        "actor": actor or (principal.label if principal else None),
        "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "ip": request.remote_addr if has_request_context() else None,
        "outcome": outcome,
        "detail": detail,
    }
    statement = insert(AuditEvent.__table__).values(**values)
    if outcome == SUCCESS or not apart:
        if tenant_id is not None and current_tenant_id() != tenant_id:
            # an event about a tenant recorded outside its context (onboarding, suspension)
            with tenant_scope(tenant_id):
                db.session.execute(statement)
        else:
            db.session.execute(statement)
    else:
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                rls.apply_scope(connection, Scope(tenant_id=tenant_id) if tenant_id else None)
            connection.execute(statement)
    log.info("audit", extra={"audit": {k: v for k, v in values.items() if k != "at"}})
