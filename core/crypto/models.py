"""The tenant data keys: a municipality's AES-256 keys, each stored wrapped by a key-encryption key."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.types import UTCDateTime, utcnow
from tenants.isolation import TenantOwned

DATA, INDEX = "data", "index"


class TenantDataKey(TenantOwned, db.Model):
    """A tenant's key: ``data`` encrypts fields (the newest unretired one is current), ``index`` keys the
    blind indexes (one per tenant, never replaced, so the indexes stay valid). ``wrapped`` is AES-GCM of the
    key under the KEK ``kek_id``, bound to the tenant, key id and purpose."""

    __tablename__ = "tenant_data_key"
    __table_args__ = (
        CheckConstraint("purpose IN ('data', 'index')", name="purpose"),
        Index("ix_tenant_data_key_tenant_purpose", "tenant_id", "purpose", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # random hex: never reused after a rollback
    purpose: Mapped[str] = mapped_column(String(8))
    wrapped: Mapped[str] = mapped_column(Text)
    kek_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
