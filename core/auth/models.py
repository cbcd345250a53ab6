"""Users, memberships, web sessions, MFA recovery codes, known login addresses and API tokens.

None of these is tenant-owned: they decide who may enter a tenant, so they
are read before any tenant context exists.
"""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.types import UTCDateTime, utcnow


class User(UserMixin, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # TOTP (core/auth/mfa.py): the secret AES-GCM encrypted; enabled once confirmed with a code; the last
    # time step accepted (a code works once).
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    mfa_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    language: Mapped[str | None] = mapped_column(String(2))  # nl | en; None: the browser's (Accept-Language)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class Membership(db.Model):
    """A user's role in one municipality, one consortium, or (platform admin) everywhere."""

    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "municipality_id", "consortium_id", name="user_role_scope"),
        CheckConstraint(
            "(role = 'platform_admin' AND municipality_id IS NULL AND consortium_id IS NULL)"
            " OR (role IN ('coordinator', 'tenant_admin') AND municipality_id IS NOT NULL AND consortium_id IS NULL)"
            " OR (role = 'consortium_admin' AND consortium_id IS NOT NULL AND municipality_id IS NULL)"
            " OR (role = 'funder' AND (municipality_id IS NULL) <> (consortium_id IS NULL))",
            name="role_scope",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"), index=True)
    consortium_id: Mapped[int | None] = mapped_column(ForeignKey("consortium.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    municipality = relationship("Municipality", lazy="joined")
    consortium = relationship("Consortium", lazy="joined")


class UserSession(db.Model):
    """A server-side web session; the browser holds only its random id."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(45))
    #: The last time the user gave password and code in this session (login or re-authentication).
    auth_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class RecoveryCode(db.Model):
    """A one-time MFA recovery code: a public lookup part and an argon2id hash of the secret part."""

    __tablename__ = "recovery_code"
    __table_args__ = (UniqueConstraint("user_id", "lookup", name="uq_recovery_code_user_lookup"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    lookup: Mapped[str] = mapped_column(String(8))
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginSource(db.Model):
    """A client address (as a keyed digest) from which a user completed a login: failures from elsewhere do not
    throttle the user there (core/auth/login.py)."""

    __tablename__ = "login_source"
    __table_args__ = (UniqueConstraint("user_id", "ip_digest", name="uq_login_source_user_ip"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    ip_digest: Mapped[str] = mapped_column(String(64))
    last_success_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(db.Model):
    """A bearer token for machines, scoped to one municipality or consortium and to roles.

    Only a SHA-256 hash of the token is stored; the token is shown once.
    """

    __tablename__ = "api_token"
    __table_args__ = (
        CheckConstraint("NOT (municipality_id IS NOT NULL AND consortium_id IS NOT NULL)", name="one_scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    roles: Mapped[str] = mapped_column(String(200))  # comma-separated
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"), index=True)
    consortium_id: Mapped[int | None] = mapped_column(ForeignKey("consortium.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    municipality = relationship("Municipality", lazy="joined")
    consortium = relationship("Consortium", lazy="joined")

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(r for r in self.roles.split(",") if r)
