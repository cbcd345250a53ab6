"""The tables of funder exports.

* :class:`ExportSchedule`: what one funder receives for one scope (a
  municipality, or a consortium), when (a cron expression in a time zone),
  covering which period, in which format and by which channel.
* :class:`ExportRun`: one stored file for one period; a regeneration adds a
  new version and keeps the old one, superseded.
* :class:`ExportDelivery`: one attempt to deliver a run (an e-mail, a webhook
  POST, or making it available for download), with how it ended.
* :class:`FunderSecret`: the key of a funder's pseudonyms (never shown).

A schedule and its runs belong to a municipality (``tenant_id``) or, for a
consortium's export, to no municipality (``tenant_id`` empty, ``consortium_id``
set): such rows are visible in a cross-tenant scope only, and are read in the
``consortium-aggregation`` scope filtered on the consortium.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.types import UTCDateTime, utcnow
from tenants.isolation import TenantOwned

MONTH, QUARTER, YEAR = "month", "quarter", "year"
PERIODS = (MONTH, QUARTER, YEAR)
FORMATS = ("csv", "csv-international", "xlsx", "pdf", "json")
LANGUAGES = ("nl", "en")
DOWNLOAD, EMAIL, WEBHOOK = "download", "email", "webhook"
CHANNELS = (DOWNLOAD, EMAIL, WEBHOOK)
DEFAULT_ZONE = "Europe/Amsterdam"

#: A run's state: its file is stored and waits for delivery, was delivered (or, for a download, stored), or was not
#: delivered (a refusal, faults until the retries ran out, or a delivery cancelled).
PENDING, DONE, FAILED = "pending", "done", "failed"
RUN_STATES = (PENDING, DONE, FAILED)
#: How one delivery attempt ended (cancelled: not sent, as the schedule was deactivated or deleted, or a newer
#: version replaced the run, before it was sent).
DELIVERED, RETRY, REFUSED, CANCELLED = "delivered", "retry", "refused", "cancelled"
OUTCOMES = (DELIVERED, RETRY, REFUSED, CANCELLED)


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ExportSchedule(TenantOwned, db.Model):
    """One funder's scheduled export of one scope."""

    __tablename__ = "export_schedule"
    __tenant_nullable__ = True  # a consortium's schedule: visible in a cross-tenant scope only
    __table_args__ = (
        CheckConstraint("(tenant_id IS NULL) <> (consortium_id IS NULL)", name="one_scope"),
        CheckConstraint(_in("period", PERIODS), name="period"),
        CheckConstraint(_in("format", FORMATS), name="format"),
        CheckConstraint(_in("language", LANGUAGES), name="language"),
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint("channel <> 'webhook' OR (webhook_url IS NOT NULL AND webhook_secret IS NOT NULL)",
                        name="webhook"),
        Index("ix_export_schedule_funder", "funder_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int | None] = mapped_column(ForeignKey("consortium.id", ondelete="RESTRICT"), index=True)
    funder_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    cron: Mapped[str] = mapped_column(String(100))
    time_zone: Mapped[str] = mapped_column(String(64), default=DEFAULT_ZONE)
    period: Mapped[str] = mapped_column(String(8))
    format: Mapped[str] = mapped_column(String(24))
    language: Mapped[str] = mapped_column(String(2), default="nl")
    channel: Mapped[str] = mapped_column(String(8))
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    webhook_secret: Mapped[str | None] = mapped_column(String(80))  # shown once, when made
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    funder = relationship("User", foreign_keys=[funder_id], lazy="joined")
    municipality = relationship("Municipality", foreign_keys="ExportSchedule.tenant_id", lazy="joined")
    consortium = relationship("Consortium", lazy="joined")


class ExportRun(TenantOwned, db.Model):
    """One stored export file: a schedule's period, in a version (1, then 2 after a regeneration...).

    The funder, scope and period are kept on the run itself, so that a run outlives its schedule: the funder
    still sees what it received, and the period rule still knows what was sent.
    """

    __tablename__ = "export_run"
    __tenant_nullable__ = True
    __table_args__ = (
        CheckConstraint("(tenant_id IS NULL) <> (consortium_id IS NULL)", name="one_scope"),
        CheckConstraint(_in("status", RUN_STATES), name="status"),
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint(_in("period", PERIODS), name="period"),
        UniqueConstraint("schedule_id", "period_start", "period_end", "version", name="uq_export_run_version"),
        Index("ix_export_run_funder", "funder_id", "period_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("export_schedule.id", ondelete="SET NULL"),
                                                    index=True)
    consortium_id: Mapped[int | None] = mapped_column(ForeignKey("consortium.id", ondelete="RESTRICT"), index=True)
    funder_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[date]
    period_end: Mapped[date]
    version: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(8), default=PENDING)
    format: Mapped[str] = mapped_column(String(24))
    language: Mapped[str] = mapped_column(String(2))
    channel: Mapped[str] = mapped_column(String(8))  # how it is delivered, as its schedule said when it was made
    media_type: Mapped[str] = mapped_column(String(120))
    file_name: Mapped[str] = mapped_column(String(160))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # read for a download only
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("export_run.id", ondelete="SET NULL"))

    schedule = relationship("ExportSchedule")
    funder = relationship("User", foreign_keys=[funder_id], lazy="joined")
    municipality = relationship("Municipality", foreign_keys="ExportRun.tenant_id", lazy="joined")
    consortium = relationship("Consortium", lazy="joined")
    deliveries = relationship("ExportDelivery", lazy="selectin", order_by="ExportDelivery.id",
                              cascade="all, delete-orphan", passive_deletes=True)


class ExportDelivery(TenantOwned, db.Model):
    """One attempt to deliver a run; the error names no person and no address."""

    __tablename__ = "export_delivery"
    __tenant_nullable__ = True
    __table_args__ = (
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint(_in("outcome", OUTCOMES), name="outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("export_run.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(10))
    status_code: Mapped[int | None]  # the receiver's HTTP status, or the mail server's reply code
    error: Mapped[str | None] = mapped_column(String(300))


class FunderSecret(db.Model):
    """The key under which a funder's pseudonyms are made (HMAC-SHA256): random, made on first use, never shown.

    One per funder, so that two funders' exports cannot be linked; not tenant-owned, since a funder may
    receive exports of several municipalities and of a consortium.
    """

    __tablename__ = "funder_secret"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    secret: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
