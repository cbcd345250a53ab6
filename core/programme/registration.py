"""Public, login-free registration of a family with a municipality.

A submission of the form (or the API's public endpoint) is validated with
:class:`RegistrationSchema` and kept as a :class:`PendingRegistration`: not a
family yet, so no coordinator's list, dashboard, KPI or suggestion sees it
and nobody is notified. A mail with a signed one-time link goes to the
address given; opening the link and confirming turns it into a family in
status ``registered`` (see :mod:`core.usecases.registrations`). What is
never confirmed is deleted when it expires.

The link's token holds the pending row's id and a random nonce, signed with
``SECRET_KEY``: nothing personal. The address is also kept as a keyed digest
(:func:`email_digest`), so that one address has at most one registration
waiting per municipality.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import Index, String, UniqueConstraint, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from core.crypto.fields import Encrypted, SealedRow
from core.extensions import db
from core.programme import schemas as S
from core.programme import vocabulary as V
from core.types import UTCDateTime, utcnow
from tenants.isolation import TenantOwned


#: One confirmation mail per address and municipality in this time at most.
RESEND_AFTER = timedelta(minutes=15)


class RegistrationMemberSchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(V.MEMBER_ROLES))
    first_name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    date_of_birth = fields.Date(allow_none=True)


class RegistrationSchema(Schema):
    """The public form. An e-mail address is required: the registration is confirmed by a mailed link (a family
    without one registers through a coordinator)."""

    kind = fields.String(required=True, validate=validate.OneOf(V.FAMILY_KINDS))
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    email = fields.Email(required=True, validate=validate.Length(max=254))
    phone = fields.String(allow_none=True, validate=validate.Length(max=32))
    postcode = fields.String(required=True, validate=validate.Regexp(S.POSTCODE, error="a Dutch postcode, e.g. 7001 AB"))
    house_number = fields.String(required=True, validate=validate.Length(min=1, max=16))
    members = fields.List(fields.Nested(RegistrationMemberSchema), load_default=list,
                          validate=validate.Length(max=12))
    support_kinds = fields.List(fields.String(validate=validate.OneOf(V.SUPPORT_KINDS)), load_default=list)
    message = fields.String(allow_none=True, validate=validate.Length(max=4000))
    referral_source = fields.String(load_default="self", validate=validate.OneOf(V.REFERRAL_SOURCES))
    consent_processing = fields.Boolean(required=True)
    consent_wording_version = fields.String(required=True, validate=validate.Length(min=1, max=32))

    @validates_schema
    def _consenting(self, data, **kwargs):
        if data.get("consent_processing") is not True:
            raise ValidationError({"consent_processing": ["we can only handle your registration with your consent"]})


class PendingRegistration(SealedRow, TenantOwned, db.Model):
    """A submitted registration waiting for its confirmation by mail (not a family yet). Its data (names, the
    family's own words) is encrypted as a family's special-category fields are (:mod:`core.crypto.fields`)."""

    __tablename__ = "pending_registration"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email_digest", name="uq_pending_registration_tenant_email"),
        Index("ix_pending_registration_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(32))  # in the link: a used or deleted row's link never matches again
    email_digest: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(Encrypted("json"))  # RegistrationSchema's dump
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


def email_digest(email: str) -> str:
    """A keyed digest of an address (case and spaces ignored): comparable, not readable."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"registration:" + email.strip().lower().encode(), hashlib.sha256).hexdigest()


def store(data: dict, now: datetime | None = None) -> PendingRegistration | None:
    """Keep validated *data* in the current tenant until it is confirmed; None when the address got one less than
    :data:`RESEND_AFTER` ago (so the form cannot be used to flood one mailbox). An older one waiting for the
    same address is replaced (its link stops working): the family may have lost the first mail.

    At most ``REGISTRATION_MAX_UNCONFIRMED`` wait per municipality: beyond that the oldest are deleted, so a
    flood cannot fill the queue and a real family's new registration still goes in (confirmed ones, being
    families, are never touched)."""
    now = now or utcnow()
    digest = email_digest(data["email"])
    earlier = db.session.execute(select(PendingRegistration.id, PendingRegistration.created_at)
                                 .where(PendingRegistration.email_digest == digest)).first()
    if earlier is not None:
        if earlier.created_at > now - RESEND_AFTER:
            return None
        db.session.execute(delete(PendingRegistration).where(PendingRegistration.id == earlier.id)
                           .execution_options(synchronize_session=False))
    room = current_app.config["REGISTRATION_MAX_UNCONFIRMED"] - 1
    oldest = select(PendingRegistration.id).order_by(PendingRegistration.created_at.desc(),
                                                      PendingRegistration.id.desc()).offset(room)
    db.session.execute(delete(PendingRegistration).where(PendingRegistration.id.in_(oldest))
                       .execution_options(synchronize_session=False))
    pending = PendingRegistration(nonce=secrets.token_urlsafe(16), email_digest=digest,
                                  data=RegistrationSchema().dump(data), created_at=now,
                                  expires_at=now + timedelta(hours=current_app.config["REGISTRATION_CONFIRM_HOURS"]))
    try:
        with db.session.begin_nested():  # the same address sent twice at once: one is kept
            db.session.add(pending)
    except IntegrityError:
        return None
    return pending


def take(pending_id: int, nonce: str, now: datetime | None = None) -> dict | None:
    """Delete the waiting registration *pending_id* if *nonce* is its own and it has not expired; its data
    (validated again), or None. Of two requests with one link, one gets the data (the row is locked, and
    only one DELETE finds it)."""
    now = now or utcnow()
    pending = db.session.scalar(select(PendingRegistration).where(
        PendingRegistration.id == pending_id, PendingRegistration.nonce == nonce,
        PendingRegistration.expires_at > now).with_for_update())
    if pending is None:
        return None
    data = pending.data
    deleted = db.session.execute(delete(PendingRegistration).where(PendingRegistration.id == pending.id)
                                 .execution_options(synchronize_session=False)).rowcount
    db.session.expunge(pending)
    return RegistrationSchema().load(data) if deleted == 1 else None


def waiting(pending_id: int, nonce: str, now: datetime | None = None) -> bool:
    """Whether the link (*pending_id*, *nonce*) can still confirm."""
    now = now or utcnow()
    return db.session.scalar(select(func.count()).select_from(PendingRegistration).where(
        PendingRegistration.id == pending_id, PendingRegistration.nonce == nonce,
        PendingRegistration.expires_at > now)) == 1


def delete_expired(now: datetime) -> int:
    """Delete every expired registration (any tenant in a cross-tenant scope); returns how many."""
    result = db.session.execute(delete(PendingRegistration).where(PendingRegistration.expires_at <= now)
                                .execution_options(synchronize_session=False))
    return result.rowcount or 0
