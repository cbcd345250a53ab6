"""The programme's tables. Every one is tenant-owned (``TenantOwned``).

Facts are stored so that every programme's policy can be expressed on them;
the policy plugins decide. There is no BSN field anywhere, by design.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.crypto.fields import Encrypted, SealedRow
from core.extensions import db
from core.programme import vocabulary as V
from core.types import UTCDateTime, utcnow
from tenants.isolation import TenantOwned, referable, tenant_reference


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Family(TenantOwned, SealedRow, db.Model):
    """A requesting family (vraaggezin) or a supporting family (steungezin)."""

    __tablename__ = "family"
    __table_args__ = (
        CheckConstraint(_in("kind", V.FAMILY_KINDS), name="kind"),
        CheckConstraint(_in("status", V.FAMILY_STATUSES), name="status"),
        CheckConstraint(_in("referral_source", V.REFERRAL_SOURCES), name="referral_source"),
        CheckConstraint("triage_outcome IS NULL OR " + _in("triage_outcome", V.TRIAGE_OUTCOMES), name="triage"),
        UniqueConstraint("tenant_id", "external_ref", name="uq_family_tenant_external_ref"),
        Index("ix_family_tenant_kind_status", "tenant_id", "kind", "status"),
        Index("ix_family_tenant_name_id", "tenant_id", "display_name", "id"),
        referable(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)
    kind: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default=V.REGISTERED)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    external_ref: Mapped[str | None] = mapped_column(String(64))  # the id in a spreadsheet it was imported from

    # address and contact
    street: Mapped[str | None] = mapped_column(String(120))
    house_number: Mapped[str | None] = mapped_column(String(16))
    postcode: Mapped[str | None] = mapped_column(String(7), index=True)
    city: Mapped[str | None] = mapped_column(String(80))
    district_code: Mapped[str | None] = mapped_column(String(8))  # CBS wijk, WK + 6 digits
    neighbourhood_code: Mapped[str | None] = mapped_column(String(10))  # CBS buurt, BU + 8 digits
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    languages: Mapped[list] = mapped_column(JSON, default=list)  # ISO 639-1 codes

    # what is asked or offered, and when
    support_kinds: Mapped[list] = mapped_column(JSON, default=list)
    availability: Mapped[dict] = mapped_column(JSON, default=dict)  # {"mon": ["morning", ...], ...}
    weekends: Mapped[bool] = mapped_column(default=False)
    overnight: Mapped[bool] = mapped_column(default=False)
    capacity_children: Mapped[int | None]  # supporting: how many children at once
    capacity_age_min: Mapped[int | None]
    capacity_age_max: Mapped[int | None]
    wishes: Mapped[str | None] = mapped_column(Encrypted())
    preferences: Mapped[str | None] = mapped_column(Encrypted())

    # registration and referral
    registered_on: Mapped[date] = mapped_column(default=date.today)
    referral_source: Mapped[str] = mapped_column(String(16), default="self")
    referrer_name: Mapped[str | None] = mapped_column(String(120))
    referrer_organisation: Mapped[str | None] = mapped_column(String(120))
    referrer_email: Mapped[str | None] = mapped_column(String(254))
    referrer_phone: Mapped[str | None] = mapped_column(String(32))

    # requesting families: problem areas and triage
    # special-category data, encrypted (core/crypto): health (KOPP, KOV, ...), debts and income
    problem_areas: Mapped[list] = mapped_column(Encrypted("json"))
    household_income: Mapped[int | None] = mapped_column(Encrypted("int"))  # net euros per month
    arrival_year: Mapped[int | None]  # newcomers
    in_professional_care: Mapped[bool] = mapped_column(default=False)  # already in referred youth care
    triage_outcome: Mapped[str | None] = mapped_column(String(24))
    triage_on: Mapped[date | None]

    # supporting families: screening facts kept per family (VOG is per adult, on Member)
    references_checked: Mapped[int] = mapped_column(default=0)
    training_attended_on: Mapped[date | None]
    home_visit_on: Mapped[date | None]
    agreement_signed_on: Mapped[date | None]

    # reciprocity: the requesting family this supporting family once was
    former_family_id: Mapped[int | None] = mapped_column(ForeignKey("family.id", ondelete="SET NULL"))

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    members: Mapped[list[Member]] = relationship(
        back_populates="family", cascade="all, delete-orphan", order_by="Member.id", foreign_keys="Member.family_id")
    status_changes: Mapped[list[FamilyStatusChange]] = relationship(
        cascade="all, delete-orphan", order_by="FamilyStatusChange.id", foreign_keys="FamilyStatusChange.family_id")
    former_family: Mapped[Family | None] = relationship(remote_side="Family.id")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Family {self.id} {self.kind} {self.status}>"


class Member(TenantOwned, db.Model):
    """A household member: an adult or a child. Adults of supporting families carry their VOG date."""

    __tablename__ = "member"
    __table_args__ = (
        CheckConstraint(_in("role", V.MEMBER_ROLES), name="role"),
        Index("ix_member_tenant_birth", "tenant_id", "date_of_birth"),  # possible duplicates: same birth date
        tenant_reference("family_id", "family", "CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(index=True)
    role: Mapped[str] = mapped_column(String(8))
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str | None] = mapped_column(String(80))
    date_of_birth: Mapped[date | None]
    vog_issued_on: Mapped[date | None]  # certificate of conduct (VOG), adults of supporting families
    external_ref: Mapped[str | None] = mapped_column(String(64))

    family: Mapped[Family] = relationship(back_populates="members", foreign_keys=[family_id])


class FamilyStatusChange(TenantOwned, SealedRow, db.Model):
    __tablename__ = "family_status_change"
    __table_args__ = (tenant_reference("family_id", "family", "CASCADE"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Encrypted())
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_user_id: Mapped[int | None]


class DuplicateFlag(TenantOwned, db.Model):
    """Two families that may be the same; a coordinator decides, nothing is merged automatically."""

    __tablename__ = "duplicate_flag"
    __table_args__ = (UniqueConstraint("tenant_id", "family_id", "other_family_id", name="uq_duplicate_flag_pair"),
                      tenant_reference("family_id", "family", "CASCADE"),
                      tenant_reference("other_family_id", "family", "CASCADE"))

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(index=True)
    other_family_id: Mapped[int] = mapped_column(index=True)
    reason: Mapped[str] = mapped_column(String(32))  # same_name_and_birth_date | same_address
    flagged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolution: Mapped[str | None] = mapped_column(String(16))  # distinct | same
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_user_id: Mapped[int | None]


class IntakeMeeting(TenantOwned, SealedRow, db.Model):
    __tablename__ = "intake_meeting"
    __table_args__ = (tenant_reference("family_id", "family", "CASCADE"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(index=True)
    held_on: Mapped[date]
    coordinator_user_id: Mapped[int | None]
    notes: Mapped[str | None] = mapped_column(Encrypted())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Approval(TenantOwned, SealedRow, db.Model):
    """A coordinator's approval of a supporting family (two different ones make four eyes)."""

    __tablename__ = "approval"
    __table_args__ = (UniqueConstraint("tenant_id", "family_id", "user_id", name="uq_approval_family_user"),
                      tenant_reference("family_id", "family", "CASCADE"))

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(index=True)
    user_id: Mapped[int]
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Encrypted())


class Decision(TenantOwned, SealedRow, db.Model):
    """A screening or eligibility decision with the findings it rests on and the policy version."""

    __tablename__ = "decision"
    __table_args__ = (
        CheckConstraint(_in("kind", V.DECISION_KINDS), name="kind"),
        CheckConstraint(_in("outcome", V.DECISION_OUTCOMES), name="outcome"),
        CheckConstraint(_in("source", V.DECISION_SOURCES), name="source"),
        Index("ix_decision_family_kind", "family_id", "kind", "id"),
        tenant_reference("family_id", "family", "CASCADE"),
        referable(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(24))
    findings: Mapped[list] = mapped_column(Encrypted("json"))  # [{rule, result, facts, explanation}]: facts quote the family
    policy_version: Mapped[int | None]
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_user_id: Mapped[int | None]  # None: decided by the policy
    # policy: the plugins decided; override: a coordinator, with a reason; historical: recorded from
    # outside Koppel (an import of old data), kept for the history and never satisfying a rule
    source: Mapped[str] = mapped_column(String(12), default=V.POLICY)
    overrides_id: Mapped[int | None] = mapped_column(ForeignKey("decision.id", ondelete="SET NULL"))
    override_reason: Mapped[str | None] = mapped_column(Encrypted())
    # an override that needs four eyes counts once a second coordinator confirmed it
    confirmed_by_user_id: Mapped[int | None]
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Match(TenantOwned, SealedRow, db.Model):
    """A match (koppeling) between a requesting and a supporting family."""

    __tablename__ = "match"
    __table_args__ = (
        CheckConstraint(_in("state", V.MATCH_STATES), name="state"),
        CheckConstraint("end_reason IS NULL OR " + _in("end_reason", V.END_REASONS), name="end_reason"),
        CheckConstraint("outcome IS NULL OR " + _in("outcome", V.OUTCOMES), name="outcome"),
        UniqueConstraint("tenant_id", "external_ref", name="uq_match_tenant_external_ref"),
        Index("ix_match_tenant_state", "tenant_id", "state"),
        tenant_reference("requesting_family_id", "family", "RESTRICT"),
        tenant_reference("supporting_family_id", "family", "RESTRICT"),
        referable(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)
    requesting_family_id: Mapped[int] = mapped_column(index=True)
    supporting_family_id: Mapped[int] = mapped_column(index=True)
    state: Mapped[str] = mapped_column(String(16), default=V.PROPOSED)
    coordinator_user_id: Mapped[int | None]
    children: Mapped[int] = mapped_column(default=1)  # children of the requesting family in this match
    support_kinds: Mapped[list] = mapped_column(JSON, default=list)
    proposed_on: Mapped[date]
    introduction_on: Mapped[date | None]
    trial_on: Mapped[date | None]
    active_on: Mapped[date | None]
    ended_on: Mapped[date | None]
    cancelled_on: Mapped[date | None]
    planned_end_on: Mapped[date | None]
    agreement: Mapped[str | None] = mapped_column(Encrypted())  # the families' house rules
    agreement_recorded_on: Mapped[date | None]
    # the agreed terms, within the policy's match terms (recorded at activation)
    frequency: Mapped[str | None] = mapped_column(String(12))  # weekly | fortnightly | monthly
    hours_per_session: Mapped[float | None] = mapped_column(Float)
    overnight_stays: Mapped[bool | None]
    end_reason: Mapped[str | None] = mapped_column(String(40))
    outcome: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Encrypted())
    external_ref: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    requesting_family: Mapped[Family] = relationship(foreign_keys=[requesting_family_id])
    supporting_family: Mapped[Family] = relationship(foreign_keys=[supporting_family_id])
    transitions: Mapped[list[MatchTransition]] = relationship(cascade="all, delete-orphan", order_by="MatchTransition.id",
                                                              foreign_keys="MatchTransition.match_id")
    overrides: Mapped[list[MatchOverride]] = relationship(cascade="all, delete-orphan", order_by="MatchOverride.id",
                                                          foreign_keys="MatchOverride.match_id")
    extensions: Mapped[list[MatchExtension]] = relationship(cascade="all, delete-orphan", order_by="MatchExtension.id",
                                                            foreign_keys="MatchExtension.match_id")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Match {self.id} {self.state}>"


class MatchTransition(TenantOwned, SealedRow, db.Model):
    __tablename__ = "match_transition"
    __table_args__ = (tenant_reference("match_id", "match", "CASCADE"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(index=True)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    on: Mapped[date]
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_user_id: Mapped[int | None]
    reason: Mapped[str | None] = mapped_column(Encrypted())


class MatchOverride(TenantOwned, db.Model):
    """A coordinator's override that a step of a match rests on: the rule the policy did not let pass."""

    __tablename__ = "match_override"
    __table_args__ = (tenant_reference("match_id", "match", "CASCADE"), tenant_reference("decision_id", "decision", "RESTRICT"))

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(index=True)
    decision_id: Mapped[int] = mapped_column(index=True)
    step: Mapped[str] = mapped_column(String(16))  # the match state the step led to: proposed | active
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    decision: Mapped[Decision] = relationship(foreign_keys=[decision_id])


class MatchExtension(TenantOwned, SealedRow, db.Model):
    __tablename__ = "match_extension"
    __table_args__ = (tenant_reference("match_id", "match", "CASCADE"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(index=True)
    decided_on: Mapped[date]
    previous_end_on: Mapped[date | None]
    new_end_on: Mapped[date]
    both_families_agree: Mapped[bool]
    note: Mapped[str | None] = mapped_column(Encrypted())
    by_user_id: Mapped[int | None]


class Evaluation(TenantOwned, SealedRow, db.Model):
    """An evaluation of a match: due, then completed (or skipped when consent is withdrawn)."""

    __tablename__ = "evaluation"
    __table_args__ = (
        CheckConstraint(_in("kind", V.EVALUATION_KINDS), name="kind"),
        CheckConstraint("decision IS NULL OR " + _in("decision", V.EVALUATION_DECISIONS), name="decision"),
        *(CheckConstraint(f"{s} IS NULL OR ({s} BETWEEN 0 AND 5)", name=s) for s in V.WELLBEING_SCALES),
        CheckConstraint("satisfaction_requesting IS NULL OR satisfaction_requesting BETWEEN 1 AND 5", name="sat_req"),
        CheckConstraint("satisfaction_supporting IS NULL OR satisfaction_supporting BETWEEN 1 AND 5", name="sat_sup"),
        Index("ix_evaluation_tenant_open_due", "tenant_id", "completed_on", "due_on"),
        tenant_reference("match_id", "match", "CASCADE"),
        referable(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(24))
    moment: Mapped[str] = mapped_column(String(8), default="review")  # start | review | end
    due_on: Mapped[date]
    completed_on: Mapped[date | None]
    skipped_reason: Mapped[str | None] = mapped_column(String(40))
    satisfaction_requesting: Mapped[int | None]
    satisfaction_supporting: Mapped[int | None]
    goal_progress: Mapped[str | None] = mapped_column(Encrypted())
    parenting: Mapped[int | None]
    parent_wellbeing: Mapped[int | None]
    children_wellbeing: Mapped[int | None]
    family_management: Mapped[int | None]
    decision: Mapped[str | None] = mapped_column(String(8))
    notes: Mapped[str | None] = mapped_column(Encrypted())
    by_user_id: Mapped[int | None]


class Contact(TenantOwned, SealedRow, db.Model):
    """A logged contact with a family or about a match; durations add up to volunteer hours."""

    __tablename__ = "contact"
    __table_args__ = (
        CheckConstraint(_in("kind", V.CONTACT_KINDS), name="kind"),
        CheckConstraint("duration_minutes >= 0 AND duration_minutes <= 1440", name="duration"),
        CheckConstraint("family_id IS NOT NULL OR match_id IS NOT NULL", name="subject"),
        tenant_reference("family_id", "family", "CASCADE"),
        tenant_reference("match_id", "match", "CASCADE"),
        # volunteer hours per period: an index-only scan on PostgreSQL
        Index("ix_contact_tenant_kind_occurred", "tenant_id", "kind", "occurred_on",
              postgresql_include=["duration_minutes"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int | None] = mapped_column(index=True)
    match_id: Mapped[int | None] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(16))
    occurred_on: Mapped[date]
    duration_minutes: Mapped[int] = mapped_column(default=0)
    note: Mapped[str | None] = mapped_column(Encrypted())
    by_user_id: Mapped[int | None]


class Consent(TenantOwned, db.Model):
    """Consent for one purpose, with the wording version shown; withdrawal stops what it covers."""

    __tablename__ = "consent"
    __table_args__ = (CheckConstraint(_in("purpose", V.CONSENT_PURPOSES), name="purpose"),
                      tenant_reference("family_id", "family", "CASCADE"))

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(index=True)
    purpose: Mapped[str] = mapped_column(String(24))
    wording_version: Mapped[str] = mapped_column(String(32))
    given_on: Mapped[date]
    withdrawn_on: Mapped[date | None]
    recorded_by_user_id: Mapped[int | None]


class ReferrerNotification(TenantOwned, db.Model):
    """A message to the referrer at the start or end of a match, waiting to be sent (an outbox row)."""

    __tablename__ = "referrer_notification"
    __table_args__ = (UniqueConstraint("tenant_id", "match_id", "event", name="uq_referrer_notification_match_event"),
                      tenant_reference("match_id", "match", "CASCADE"))

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(index=True)
    event: Mapped[str] = mapped_column(String(8))  # start | end
    recipient: Mapped[str | None] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | cancelled
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProgrammeTarget(TenantOwned, db.Model):
    """What a municipality aims for in a year (e.g. Nijmegen: 10 new matches in year one)."""

    __tablename__ = "programme_target"
    __table_args__ = (UniqueConstraint("tenant_id", "year", name="uq_programme_target_tenant_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    new_matches_min: Mapped[int]
    new_matches_max: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(Text)
