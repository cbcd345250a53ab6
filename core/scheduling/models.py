"""The tables of scheduled work and what it produces.

* :class:`ScheduledItem`: one piece of work for one municipality (or one
  consortium, or one user's digest), with a unique ``key``: the dispatcher
  inserts an item at most once, and a worker does it at most once.
* :class:`WorkItem`: something a coordinator has to do (an evaluation that
  fell due, a VOG about to expire); it resolves when the cause is gone.
* :class:`Notification`: a message for one user, in the app and in the daily digest.
* :class:`KpiSnapshot`, :class:`ConsortiumKpiSnapshot`, :class:`EarlyWarning`:
  the monthly programme review.
* :class:`ImportJob`: a bulk import running in the background, with its progress.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.types import UTCDateTime, utcnow
from tenants.isolation import TenantOwned, referable, tenant_reference

PENDING, DONE, FAILED = "pending", "done", "failed"
ITEM_STATES = (PENDING, DONE, FAILED)

QUEUED, RUNNING = "queued", "running"
JOB_STATES = (QUEUED, RUNNING, DONE, FAILED)


class ScheduledItem(TenantOwned, db.Model):
    """One task's work, found due by the dispatcher (or created by a request, such as an import).

    ``tenant_id`` is empty for work above one municipality (a consortium's review, a user's digest);
    such rows are visible in a cross-tenant scope only.
    """

    __tablename__ = "scheduled_item"
    __tenant_nullable__ = True
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'done', 'failed')", name="state"),
        UniqueConstraint("key", name="uq_scheduled_item_key"),
        Index("ix_scheduled_item_state_enqueued", "state", "enqueued_at"),
        Index("ix_scheduled_item_tenant_kind_state", "tenant_id", "kind", "state"),
        Index("ix_scheduled_item_kind_subject", "kind", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(160))  # kind, scope and subject: unique, so nothing is done twice
    subject_id: Mapped[int | None]  # what the work is about (an evaluation, a family, a user, a job...)
    consortium_id: Mapped[int | None] = mapped_column(ForeignKey("consortium.id", ondelete="CASCADE"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(8), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(String(300))  # why it failed: a reason, never personal data
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # or when its retry is expected
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkItem(TenantOwned, db.Model):
    """Something a coordinator has to do; ``resolved_at`` is set when its cause is gone."""

    __tablename__ = "work_item"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key", name="uq_work_item_tenant_key"),
        Index("ix_work_item_tenant_open", "tenant_id", "resolved_at", "due_on"),
        tenant_reference("family_id", "family", "CASCADE"),
        tenant_reference("match_id", "match", "CASCADE"),
        tenant_reference("evaluation_id", "evaluation", "CASCADE"),
        referable(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # evaluation | vog_expiring | supporting_review
    key: Mapped[str] = mapped_column(String(120))
    family_id: Mapped[int | None] = mapped_column(index=True)
    match_id: Mapped[int | None] = mapped_column(index=True)
    evaluation_id: Mapped[int | None] = mapped_column(index=True)
    assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    due_on: Mapped[date]
    message: Mapped[dict] = mapped_column(JSON)  # a Message as a dict: read in the reader's language
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Notification(TenantOwned, db.Model):
    """A message for one user: listed in the app, and mailed once in a daily digest."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_notification_user_key"),
        Index("ix_notification_user_read", "user_id", "read_at", "id"),
        tenant_reference("work_item_id", "work_item", "CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(160))
    message: Mapped[dict] = mapped_column(JSON)  # a Message as a dict
    subject_type: Mapped[str | None] = mapped_column(String(16))  # family | match | evaluation | import | ...
    subject_id: Mapped[int | None]
    work_item_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # included in a digest


class KpiSnapshot(TenantOwned, db.Model):
    """A municipality's figures for one month, stored by the monthly review (trend charts read these)."""

    __tablename__ = "kpi_snapshot"
    __table_args__ = (UniqueConstraint("tenant_id", "period", name="uq_kpi_snapshot_tenant_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[date]  # the first day of the month
    figures: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsortiumKpiSnapshot(db.Model):
    """A consortium's figures for one month (aggregates only: no row of a family)."""

    __tablename__ = "consortium_kpi_snapshot"
    __table_args__ = (UniqueConstraint("consortium_id", "period", name="uq_consortium_kpi_snapshot_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortium.id", ondelete="CASCADE"))
    period: Mapped[date]
    figures: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EarlyWarning(TenantOwned, db.Model):
    """A sign from the monthly review that the programme is stuck, with the figures that triggered it."""

    __tablename__ = "early_warning"
    __table_args__ = (UniqueConstraint("tenant_id", "period", "code", "subject",
                                       name="uq_early_warning_tenant_period_code_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[date]
    code: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(16), default="")  # what a warning of the code is about (a district)
    figures: Mapped[dict] = mapped_column(JSON)
    message: Mapped[dict] = mapped_column(JSON)  # a Message as a dict
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImportJob(TenantOwned, db.Model):
    """A bulk import run by a worker; the upload is kept only until it has run."""

    __tablename__ = "import_job"
    __table_args__ = (CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    actor: Mapped[str | None] = mapped_column(String(254))  # who started it, as the audit log names them
    dry_run: Mapped[bool]
    state: Mapped[str] = mapped_column(String(8), default=QUEUED)
    source: Mapped[str | None] = mapped_column(String(8))  # xlsx | csv
    file_names: Mapped[list] = mapped_column(JSON, default=list)
    upload_data: Mapped[bytes | None] = mapped_column(LargeBinary)  # the files (a zip), dropped once run
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_checked: Mapped[int] = mapped_column(default=0)
    rows_written: Mapped[int] = mapped_column(default=0)
    problem_count: Mapped[int] = mapped_column(default=0)
    report: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
