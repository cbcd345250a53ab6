"""The second factor: TOTP (RFC 6238) with one-time recovery codes.

* The TOTP secret (160 random bits, :func:`pyotp.random_base32`) is stored encrypted with AES-256-GCM under a
  key derived from ``SECRET_KEY`` by HKDF-SHA256; the user's id is the associated data, so a database dump
  alone does not give the secrets and a ciphertext copied to another user does not decrypt. Changing
  ``SECRET_KEY`` makes every stored secret unreadable: users then need their MFA reset (an admin) and enrol
  again.
* A code is accepted for the current 30-second step and one step either side (clock drift), and each step
  once per user: the accepted step is written with a guarded update, so a replayed code fails even when two
  requests race.
* A recovery code is ``LLLL-SSSS-SSSS-SSSS``: a public lookup part (which row) and 60 random bits hashed with
  argon2id (ASVS 6.5.2: less than 112 bits, so a salted password hash). Each works once.

The caller commits.
"""
from __future__ import annotations

import base64
import hmac
import secrets
import time

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from markupsafe import Markup
from sqlalchemy import delete, or_, select, update

from core.auth.models import RecoveryCode, User
from core.extensions import db
from core.types import utcnow

ISSUER = "Koppel"
STEP = 30
#: Steps either side of now that are accepted (clock drift of the phone).
DRIFT = 1
RECOVERY_CODES = 10
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read from paper
_VERSION = "v1"
#: OWASP's argon2id minimum (19 MiB, 2 passes): a recovery code has 60 random bits, and ten are hashed at once.
_code_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_DUMMY = _code_hasher.hash("koppel-recovery-timing")


def derive_key(purpose: bytes) -> bytes:
    """A 256-bit key for *purpose*, derived from ``SECRET_KEY`` (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"koppel", info=purpose).derive(
        current_app.config["SECRET_KEY"].encode())


def _aad(user_id: int) -> bytes:
    return f"koppel.user_account.totp_secret:{user_id}".encode()


def encrypt_secret(user_id: int, secret: str) -> str:
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(derive_key(b"koppel.mfa.totp")).encrypt(nonce, secret.encode(), _aad(user_id))
    return f"{_VERSION}:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt_secret(user_id: int, stored: str) -> str | None:
    """The secret, or None when it cannot be read (another ``SECRET_KEY``, another user's value)."""
    version, _, body = (stored or "").partition(":")
    if version != _VERSION:
        return None
    try:
        raw = base64.urlsafe_b64decode(body)
        return AESGCM(derive_key(b"koppel.mfa.totp")).decrypt(raw[:12], raw[12:], _aad(user_id)).decode()
    except (InvalidTag, ValueError):
        return None


def is_enrolled(user: User) -> bool:
    return user.mfa_enabled_at is not None


# ----------------------------------------------------------------------------- enrolment

def pending_secret(user: User) -> str:
    """The secret being enrolled: the one stored and not yet confirmed, or a new one (stored encrypted)."""
    if is_enrolled(user):
        raise ValueError("already enrolled")
    secret = decrypt_secret(user.id, user.totp_secret) if user.totp_secret else None
    if secret is None:
        secret = pyotp.random_base32()
        user.totp_secret, user.totp_last_step = encrypt_secret(user.id, secret), None
    return secret


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> Markup:
    """The QR code of *uri* as inline SVG (no image request, nothing the CSP must allow)."""
    svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")
    return Markup(svg)


def confirm(user: User, code: str) -> list[str] | None:
    """Enable MFA when *code* fits the pending secret; returns the new recovery codes, or None."""
    if is_enrolled(user) or not user.totp_secret or not verify_totp(user, code):
        return None
    user.mfa_enabled_at = utcnow()
    return new_recovery_codes(user)


def reset(user: User) -> None:
    """Forget the user's TOTP secret and recovery codes: they enrol again at their next login."""
    user.totp_secret = user.mfa_enabled_at = user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


# ----------------------------------------------------------------------------- codes

def _clean(code: str | None) -> str:
    return "".join((code or "").split()).replace("-", "").upper()


def verify_totp(user: User, code: str | None, now: float | None = None) -> bool:
    """Whether *code* is the user's TOTP code of a step around now not used before (the step is then used)."""
    code = _clean(code)
    secret = decrypt_secret(user.id, user.totp_secret) if user.totp_secret else None
    if secret is None or len(code) != 6 or not code.isdigit():
        return False
    totp, current = pyotp.TOTP(secret), int((time.time() if now is None else now) // STEP)
    for step in range(current - DRIFT, current + DRIFT + 1):
        if hmac.compare_digest(totp.at(step * STEP), code):
            taken = db.session.execute(
                update(User).where(User.id == user.id,
                                   or_(User.totp_last_step.is_(None), User.totp_last_step < step))
                .values(totp_last_step=step).execution_options(synchronize_session=False)).rowcount
            if taken:
                user.totp_last_step = step
            return bool(taken)
    return False


def _format(lookup: str, secret: str) -> str:
    return "-".join([lookup, secret[:4], secret[4:8], secret[8:]])


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes by :data:`RECOVERY_CODES` new ones; returns them (shown once)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        lookup = "".join(secrets.choice(_ALPHABET) for _ in range(4))
        while any(c.startswith(lookup) for c in codes):
            lookup = "".join(secrets.choice(_ALPHABET) for _ in range(4))
        secret = "".join(secrets.choice(_ALPHABET) for _ in range(12))
        db.session.add(RecoveryCode(user_id=user.id, lookup=lookup, code_hash=_code_hasher.hash(secret)))
        codes.append(_format(lookup, secret))
    db.session.flush()
    return codes


def use_recovery_code(user: User, code: str | None) -> bool:
    """Whether *code* is an unused recovery code of the user (it is then used up)."""
    code = _clean(code)
    row = None
    if len(code) == 16:
        row = db.session.scalar(select(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                                           RecoveryCode.lookup == code[:4],
                                                           RecoveryCode.used_at.is_(None)))
    try:
        ok = _code_hasher.verify(row.code_hash if row else _DUMMY, code[4:]) and row is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        return False
    return bool(db.session.execute(
        update(RecoveryCode).where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False)).rowcount)


def verify(user: User, code: str | None) -> str | None:
    """``"totp"`` or ``"recovery"`` when *code* is a valid second factor of the enrolled *user*, else None."""
    if not is_enrolled(user):
        return None
    if len(_clean(code)) == 6:
        return "totp" if verify_totp(user, code) else None
    return "recovery" if use_recovery_code(user, code) else None


def recovery_codes_left(user: User) -> int:
    from sqlalchemy import func

    return db.session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0
