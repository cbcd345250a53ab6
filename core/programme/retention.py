"""Destruction lists and the destruction of a family's personal data (the rules are in
:mod:`core.usecases.retention`; why the default period is what it is, in ``docs/privacy.md``).

A family's file is closed when its status is ``closed``; from the moment it
closed (``status_changed_at``) its municipality's ``retention_months`` run.
A destruction list holds the families to destroy; its items say what was
destroyed (counts per table, never content).

Destroying a family (:func:`destroy`) removes what names or describes a
person and keeps what the programme's figures count: the family stays as an
anonymous stub with its kind, status, dates, referral source, CBS district
and triage outcome; members stay as a role (a child counts in the reach);
matches, transitions, evaluations and contacts keep their dates, states,
codes and numbers. Names, addresses, contact data, dates of birth, free text,
a decision's findings (the facts), consents and possible-duplicate flags go.
:data:`PLAN` says this for every table that can hold a family's rows; a
table without a plan refuses the destruction (a test walks the foreign keys).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.crypto.fields import Encrypted
from core.extensions import db
from core.programme import records
from core.types import UTCDateTime, utcnow
from tenants.isolation import TenantOwned

#: The list's life: made by the task (open), reviewed and submitted by a person, approved by another (destroyed)
#: or rejected. An erasure on request starts submitted.
OPEN, SUBMITTED, DESTROYED, REJECTED = "open", "submitted", "destroyed", "rejected"
LIST_STATES = (OPEN, SUBMITTED, DESTROYED, REJECTED)
RETENTION, ERASURE = "retention", "erasure"
LIST_KINDS = (RETENTION, ERASURE)
#: The default retention period and its bounds, in months after the file closed (see docs/privacy.md).
DEFAULT_MONTHS, MIN_MONTHS, MAX_MONTHS = 24, 6, 240
#: What a destroyed family's name reads.
DESTROYED_NAME = "—"


class DestructionList(TenantOwned, db.Model):
    """A list of families whose personal data is to be destroyed, and who reviewed and approved it."""

    __tablename__ = "destruction_list"
    __table_args__ = (
        CheckConstraint(f"state IN ({', '.join(repr(s) for s in LIST_STATES)})", name="state"),
        CheckConstraint(f"kind IN ({', '.join(repr(s) for s in LIST_KINDS)})", name="kind"),
        Index("ix_destruction_list_tenant_state", "tenant_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), default=RETENTION)
    state: Mapped[str] = mapped_column(String(12), default=OPEN)
    retention_months: Mapped[int | None]  # the period it was proposed under (retention lists)
    reason: Mapped[str | None] = mapped_column(Text)  # an erasure request's reason (no personal data, please)
    legal_basis: Mapped[str | None] = mapped_column(Text)  # the exceptions weighed (AVG art. 17(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_user_id: Mapped[int | None]  # None: made by the scheduled task
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_user_id: Mapped[int | None]
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_user_id: Mapped[int | None]
    decision_note: Mapped[str | None] = mapped_column(Text)

    items: Mapped[list[DestructionItem]] = relationship(back_populates="list", cascade="all, delete-orphan",
                                                        order_by="DestructionItem.id")


class DestructionItem(TenantOwned, db.Model):
    """One family on a list; ``excluded`` with a reason keeps it (a legal hold); ``destroyed`` counts per table."""

    __tablename__ = "destruction_item"
    __table_args__ = (Index("ix_destruction_item_list", "list_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("destruction_list.id", ondelete="CASCADE"))
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id", ondelete="CASCADE"), index=True)
    closed_on: Mapped[date | None]
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)
    exclusion_reason: Mapped[str | None] = mapped_column(Text)
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    destroyed: Mapped[dict | None] = mapped_column(JSON)  # {"member": {"blanked": 4}, "consent": {"deleted": 3}}

    list: Mapped[DestructionList] = relationship(back_populates="items")


# ----------------------------------------------------------------------------- what destruction does per table

DELETE = "delete"
#: table -> DELETE, or the columns kept (every other column is emptied: NULL, or "", [], {}, 0, false when NOT NULL)
PLAN: dict[str, str | frozenset] = {
    "family": frozenset({
        "id", "tenant_id", "version", "kind", "status", "status_changed_at", "registered_on", "referral_source",
        "district_code", "triage_outcome", "triage_on", "former_family_id", "support_kinds", "weekends", "overnight",
        "capacity_children", "capacity_age_min", "capacity_age_max", "references_checked", "training_attended_on",
        "home_visit_on", "agreement_signed_on", "in_professional_care", "created_at", "updated_at"}),
    "member": frozenset({"id", "tenant_id", "family_id", "role"}),
    "family_status_change": frozenset({"id", "tenant_id", "family_id", "from_status", "to_status", "at", "by_user_id"}),
    "duplicate_flag": DELETE,
    "intake_meeting": frozenset({"id", "tenant_id", "family_id", "held_on", "coordinator_user_id", "created_at"}),
    "approval": frozenset({"id", "tenant_id", "family_id", "user_id", "approved_at"}),
    "decision": frozenset({"id", "tenant_id", "family_id", "kind", "outcome", "policy_version", "decided_at",
                           "decided_by_user_id", "source", "overrides_id", "confirmed_by_user_id", "confirmed_at"}),
    "consent": DELETE,
    "match": frozenset({
        "id", "tenant_id", "version", "requesting_family_id", "supporting_family_id", "state", "coordinator_user_id",
        "children", "support_kinds", "proposed_on", "introduction_on", "trial_on", "active_on", "ended_on",
        "cancelled_on", "planned_end_on", "agreement_recorded_on", "frequency", "hours_per_session",
        "overnight_stays", "end_reason", "outcome", "created_at"}),
    "match_transition": frozenset({"id", "tenant_id", "match_id", "from_state", "to_state", "on", "at", "by_user_id"}),
    "match_override": frozenset({"id", "tenant_id", "match_id", "decision_id", "step", "at"}),
    "match_extension": frozenset({"id", "tenant_id", "match_id", "decided_on", "previous_end_on", "new_end_on",
                                  "both_families_agree", "by_user_id"}),
    "evaluation": frozenset({
        "id", "tenant_id", "match_id", "kind", "moment", "due_on", "completed_on", "skipped_reason",
        "satisfaction_requesting", "satisfaction_supporting", "parenting", "parent_wellbeing", "children_wellbeing",
        "family_management", "decision", "by_user_id"}),
    "contact": frozenset({"id", "tenant_id", "family_id", "match_id", "kind", "occurred_on", "duration_minutes",
                          "by_user_id"}),
    "referrer_notification": frozenset({"id", "tenant_id", "match_id", "event", "status", "created_at", "sent_at"}),
    "work_item": DELETE,
    "notification": DELETE,
    "destruction_item": None,  # set by the destruction itself
}
#: Values a kept-but-emptied NOT NULL column gets instead of the generic empty value.
EMPTY = {("family", "display_name"): DESTROYED_NAME}


class PlanIncomplete(Exception):
    """A table can hold a family's rows but :data:`PLAN` does not say what destruction does with it."""


def missing_from_plan() -> set[str]:
    return records.reachable() - set(PLAN)


def _empty(table_name: str, column, current):
    if (table_name, column.name) in EMPTY:
        return EMPTY[(table_name, column.name)]
    if column.nullable:
        return None
    if isinstance(column.type, Encrypted):
        return {"json": {} if isinstance(current, dict) else [], "int": 0}.get(column.type.kind, "")
    if isinstance(column.type, JSON):
        return {} if isinstance(current, dict) else []
    if isinstance(column.type, (String, Text)):
        return ""
    if isinstance(column.type, Boolean):
        return False
    if isinstance(column.type, Integer):
        return 0
    return current


def destroy(family_id: int) -> dict:
    """Destroy the personal data of family *family_id* (in the current tenant and transaction) as :data:`PLAN`
    says; returns what was done per table: ``{"member": {"blanked": 4}, "consent": {"deleted": 3}}``.

    The caller commits, or rolls back on any error: nothing is left half-destroyed.
    """
    if missing_from_plan():
        raise PlanIncomplete(sorted(missing_from_plan()))
    found = records.collect(family_id)
    done: dict[str, dict] = {}
    tables = {t.name: t for t in db.metadata.sorted_tables}
    # children first: a row deleted before its parent's is emptied
    for table in reversed(db.metadata.sorted_tables):
        rows, plan = found.get(table.name), PLAN.get(table.name)
        if not rows or plan is None:
            continue
        ids = [row["id"] for row in rows]
        model = records._model_of(table)
        if plan == DELETE:
            db.session.execute(delete(model).where(model.id.in_(ids)).execution_options(synchronize_session="fetch"))
            done[table.name] = {"deleted": len(ids)}
            continue
        blanked = 0
        for obj in db.session.scalars(select(model).where(model.id.in_(ids))):
            changed = False
            for attr in model.__mapper__.column_attrs:
                column = attr.columns[0]
                if column.name in plan or column.primary_key or column.name == "row_key":
                    continue  # row_key: the row's identity in its encrypted values' associated data
                current = getattr(obj, attr.key)
                value = _empty(table.name, tables[table.name].c[column.name], current)
                if current != value:
                    setattr(obj, attr.key, value)
                    changed = True
            if table.name == "referrer_notification" and obj.status == "pending":
                obj.status, changed = "cancelled", True  # no message goes out to a referrer any more
            blanked += changed
        done[table.name] = {"blanked": blanked, "kept": len(ids)}
    db.session.flush()
    return done
