"""Consortium (regio) and Municipality (gemeente, the tenant)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.types import UTCDateTime, utcnow

ACTIVE = "active"
SUSPENDED = "suspended"
STATUSES = (ACTIVE, SUSPENDED)


class Consortium(db.Model):
    """A region whose municipalities run the programme together."""

    __tablename__ = "consortium"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    municipalities: Mapped[list[Municipality]] = relationship(
        back_populates="consortium", order_by="Municipality.name"
    )

    def __repr__(self) -> str:
        return f"<Consortium {self.slug}>"


class Municipality(db.Model):
    """A municipality: the tenant. Suspending keeps its data but closes access."""

    __tablename__ = "municipality"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'suspended')", name="status"),
        CheckConstraint("inhabitants >= 0", name="inhabitants"),
        CheckConstraint("small_count_threshold BETWEEN 1 AND 20", name="small_count_threshold"),
        CheckConstraint("retention_months BETWEEN 6 AND 240", name="retention_months"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    cbs_code: Mapped[str] = mapped_column(String(6), unique=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    inhabitants: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortium.id", ondelete="RESTRICT"), index=True)
    # counts from 1 to this are withheld in funders' breakdowns by a sensitive attribute ("fewer than 5")
    small_count_threshold: Mapped[int] = mapped_column(default=4, server_default="4")
    # months after a family's file closed that its personal data is kept (docs/privacy.md: why 24)
    retention_months: Mapped[int] = mapped_column(default=24, server_default="24")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    consortium: Mapped[Consortium] = relationship(back_populates="municipalities")

    @property
    def is_suspended(self) -> bool:
        return self.status == SUSPENDED

    def __repr__(self) -> str:
        return f"<Municipality {self.slug}>"
