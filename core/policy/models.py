"""A municipality's policy versions, and a consortium's policy template."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.types import UTCDateTime, utcnow
from tenants.isolation import TenantOwned


class PolicyVersion(TenantOwned, db.Model):
    """One version of a municipality's policy: the enabled plugins and their configuration.

    Versions are never changed; every change makes the next one, so any
    decision can be explained by the version it stores.
    """

    __tablename__ = "policy_version"
    __table_args__ = (UniqueConstraint("tenant_id", "version", name="uq_policy_version_tenant_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int]
    plugins: Mapped[dict] = mapped_column(JSON)  # plugin name -> validated configuration
    plugin_versions: Mapped[dict] = mapped_column(JSON)  # plugin name -> plugin version when enabled
    change: Mapped[dict] = mapped_column(JSON)  # what changed against the previous version
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_user_id: Mapped[int | None]


class PolicyTemplate(db.Model):
    """The policy a consortium's new members start from (not tenant-owned: it belongs to the region)."""

    __tablename__ = "policy_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortium.id", ondelete="CASCADE"), unique=True)
    version: Mapped[int] = mapped_column(default=1)
    plugins: Mapped[dict] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_user_id: Mapped[int | None]
    name: Mapped[str | None] = mapped_column(String(120))
