"""Password hashing (argon2id) and the password policy.

Policy, after NIST SP 800-63B: at least 12 characters, at most 256, not on
the list of common passwords shipped with the project (also with trailing
digits and punctuation removed), not the user's e-mail name; no composition
rules and no forced rotation.
"""
from __future__ import annotations

import string
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from marshmallow import ValidationError

MIN_LENGTH = 12
MAX_LENGTH = 256

_hasher = PasswordHasher()
#: Verified against when the e-mail is unknown, so that both cases take as long.
_DUMMY_HASH = _hasher.hash("koppel-timing-equaliser")


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("core.auth").joinpath("common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def problems(password: str, email: str | None = None) -> list[str]:
    """What is wrong with *password*; empty when it may be used."""
    found = []
    if len(password) < MIN_LENGTH:
        found.append(f"must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        found.append(f"must be at most {MAX_LENGTH} characters long")
    lowered = password.lower()
    stem = lowered.rstrip(string.digits + string.punctuation + " ")
    common = common_passwords()
    if lowered in common or stem in common or len(set(lowered)) <= 2:
        found.append("is too common or too easy to guess")
    if email:
        local = email.split("@", 1)[0].lower()
        if len(local) >= 4 and local in lowered:
            found.append("must not contain your e-mail name")
    return found


def validate(password: str, email: str | None = None) -> None:
    """Raise a ValidationError on field ``password`` when the policy refuses it."""
    found = problems(password, email)
    if found:
        raise ValidationError({"password": found})


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """Check *password*; with no hash, spend the same time and say no."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
