"""Encrypted columns that the ORM reads and writes as plain values.

A model with special-category fields takes the :class:`SealedRow` mixin and declares each such column
with ``mapped_column(Encrypted(kind))`` (kind ``text``, ``json`` or ``int``). The database column is
text holding ``v1:<data key id>:<nonce+ciphertext>`` (:mod:`core.crypto.envelope`), encrypted with the
tenant's current data key and bound to tenant, table, column and row as associated data.

The row's identity in the associated data is ``row_key``, a random UUID (hex) set in Python before the
INSERT and never changed: a serial id is only known after the INSERT, and encrypting afterwards would
mean a second UPDATE of every new row. ``row_key`` is as good an identity: a ciphertext copied to
another row (another ``row_key``), column or tenant fails to decrypt with
:class:`~core.crypto.envelope.DecryptionError`; never silently.

Encryption happens at flush (mapper ``before_insert``/``before_update``: only changed attributes are
sealed; after the statement the instance holds the plain values again), decryption at load (``load``
and ``refresh`` events), so use cases, API, pages, imports and tasks see plain values. Core statements
do not pass through those events: they seal rows with :func:`seal_rows` and open them with
:class:`Sealer` (the generator, :mod:`core.policy.facts`, the migration, key rotation). The column type
refuses a plain value, so nothing unencrypted is written by mistake.
"""
from __future__ import annotations

import json
import uuid
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import String, Text, event
from sqlalchemy.orm import Mapped, Session, attributes, mapped_column, object_session
from sqlalchemy.types import TypeDecorator

from core.crypto import envelope, keystore
from core.crypto.kek import KeyRing

KINDS = ("text", "json", "int")
#: The value an encrypted NOT NULL column gets when none is given (the plain column's default was the same).
EMPTY = {"json": list, "text": str, "int": int}

_enabled = True


@contextmanager
def disabled():
    """For benchmarks only: the columns store plain JSON text, and no events encrypt or decrypt. Measures what
    encryption costs against the same schema without it. Never used by the app."""
    global _enabled
    _enabled = False
    try:
        yield
    finally:
        _enabled = True


class Ciphertext(str):
    """A sealed value, ready to be written to an encrypted column."""


class PlaintextRefused(ValueError):
    """A plain value was about to be written to an encrypted column."""


class Encrypted(TypeDecorator):
    """A column holding a sealed value; ``kind`` says what the plain value is (text, JSON or an integer)."""

    impl = Text
    cache_ok = True

    def __init__(self, kind: str = "text"):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        super().__init__()
        self.kind = kind

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, Ciphertext):
            return str(value)
        if not _enabled:
            return encode(self.kind, value).decode()
        raise PlaintextRefused("a plain value for an encrypted column: write it through the ORM, or seal it "
                               "(core.crypto.fields.seal_rows)")

    def process_result_value(self, value, dialect):
        if value is None or _enabled:
            return value
        return decode(self.kind, value.encode())


def encode(kind: str, value) -> bytes:
    if kind == "json":
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    if kind == "int":
        return str(int(value)).encode()
    return str(value).encode()


def decode(kind: str, data: bytes):
    if kind == "json":
        return json.loads(data)
    if kind == "int":
        return int(data)
    return data.decode()


def new_row_key() -> str:
    return uuid.uuid4().hex


def aad(tenant_id: int, table: str, column: str, row_key: str) -> bytes:
    """The associated data of one field: what a ciphertext is bound to."""
    return f"koppel/field/v1|tenant={int(tenant_id)}|{table}.{column}|row={row_key}".encode()


class SealedRow:
    """Mixin for a tenant-owned model with :class:`Encrypted` columns: ``row_key`` identifies the row in the
    associated data (see the module's docstring)."""

    row_key: Mapped[str] = mapped_column(String(32), default=new_row_key)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__tablename__" in cls.__dict__:
            SEALED_MODELS[cls.__dict__["__tablename__"]] = cls


#: Table name -> model, filled as models with encrypted columns are mapped (key rotation walks them).
SEALED_MODELS: dict[str, type] = {}


@lru_cache(maxsize=None)
def encrypted_columns(table) -> tuple[tuple[str, str, bool], ...]:
    """(name, kind, nullable) of each encrypted column of *table*."""
    return tuple((c.name, c.type.kind, c.nullable) for c in table.columns if isinstance(c.type, Encrypted))


class Sealer:
    """Seals and opens one tenant's values through *connection*."""

    def __init__(self, connection, tenant_id: int, kek: KeyRing | None = None, key_id: str | None = None):
        self.connection, self.tenant_id, self.kek, self._key_id = connection, tenant_id, kek, key_id

    @property
    def key_id(self) -> str:
        if self._key_id is None:
            self._key_id = keystore.current_id(self.connection, self.tenant_id, kek=self.kek)
        return self._key_id

    def seal(self, table: str, column: str, row_key: str, kind: str, value):
        if value is None or not _enabled:
            return value
        cipher = keystore.cipher(self.connection, self.tenant_id, self.key_id, self.kek)
        return Ciphertext(envelope.seal(cipher, self.key_id, encode(kind, value),
                                        aad(self.tenant_id, table, column, row_key)))

    def open(self, table: str, column: str, row_key: str, kind: str, token):
        if token is None or not _enabled:
            return token
        cipher = keystore.cipher(self.connection, self.tenant_id, envelope.key_id(token), self.kek)
        return decode(kind, envelope.open_(cipher, token, aad(self.tenant_id, table, column, row_key)))


def seal_rows(table, rows: list[dict], connection, kek: KeyRing | None = None) -> list[dict]:
    """Seal the encrypted columns of *rows* (dicts for a Core INSERT into *table*, each with ``tenant_id``) in
    place, giving each a ``row_key``; *rows* for chaining. A table without encrypted columns is left alone."""
    columns = encrypted_columns(table)
    if not columns:
        return rows
    sealers: dict[int, Sealer] = {}
    for row in rows:
        row.setdefault("row_key", new_row_key())
        sealer = sealers.get(row["tenant_id"]) or sealers.setdefault(
            row["tenant_id"], Sealer(connection, row["tenant_id"], kek))
        for name, kind, nullable in columns:
            value = row.get(name)
            if value is None and not nullable:
                value = EMPTY[kind]()
            if name in row or value is not None:
                row[name] = sealer.seal(table.name, name, row["row_key"], kind, value)
    return rows


def open_row(table, row: dict, connection, names=None) -> dict:
    """*row* (a mapping with ``tenant_id``, ``row_key`` and encrypted columns of *table*) with those opened."""
    if not _enabled:
        return dict(row)
    sealer = Sealer(connection, row["tenant_id"])
    opened = dict(row)
    for name, kind, _ in encrypted_columns(table):
        if name in opened and (names is None or name in names):
            opened[name] = sealer.open(table.name, name, row["row_key"], kind, opened[name])
    return opened


# --- the ORM events --------------------------------------------------------------------------------------------

_MEMO = "koppel.crypto.sealers"


def _sealer(session: Session | None, connection, tenant_id: int) -> Sealer:
    """One sealer per tenant and flush: the current key is read once per flush."""
    if session is None:
        return Sealer(connection, tenant_id)
    memo = session.info.setdefault(_MEMO, {})
    sealer = memo.get(tenant_id)
    if sealer is None or sealer.connection is not connection:
        sealer = memo[tenant_id] = Sealer(connection, tenant_id)
    return sealer


def _seal(mapper, connection, target, changed_only: bool) -> None:
    columns = encrypted_columns(mapper.local_table)
    if not columns or not _enabled:
        return
    state = target.__dict__
    if state.get("row_key") is None:
        target.row_key = new_row_key()
    sealer = _sealer(object_session(target), connection, target.tenant_id)
    plain = {}
    for name, kind, nullable in columns:
        if changed_only and not attributes.get_history(target, name, attributes.PASSIVE_NO_INITIALIZE).has_changes():
            continue
        value = state.get(name)
        if value is None and not nullable:
            value = EMPTY[kind]()
        plain[name] = value
        state[name] = sealer.seal(mapper.local_table.name, name, target.row_key, kind, value)
    target._koppel_plain = plain


def _unseal_after_write(mapper, connection, target) -> None:
    plain = target.__dict__.pop("_koppel_plain", None)
    if plain:
        target.__dict__.update(plain)  # committed as they are when the flush ends


def _open(target, context, attrs=None) -> None:
    columns = encrypted_columns(target.__table__)
    if not _enabled:
        return
    state = target.__dict__
    sealer = None
    for name, kind, _ in columns:
        if name not in state or (attrs is not None and name not in attrs):
            continue
        if sealer is None:
            sealer = Sealer(context.session.connection(), state["tenant_id"])
        state[name] = sealer.open(target.__table__.name, name, state["row_key"], kind, state[name])


def _forget_sealers(session, *_) -> None:
    session.info.pop(_MEMO, None)


event.listen(SealedRow, "before_insert", lambda m, c, t: _seal(m, c, t, False), propagate=True)
event.listen(SealedRow, "before_update", lambda m, c, t: _seal(m, c, t, True), propagate=True)
event.listen(SealedRow, "after_insert", _unseal_after_write, propagate=True)
event.listen(SealedRow, "after_update", _unseal_after_write, propagate=True)
event.listen(SealedRow, "load", _open, propagate=True)
event.listen(SealedRow, "refresh", _open, propagate=True)
event.listen(Session, "after_flush_postexec", _forget_sealers)
event.listen(Session, "after_soft_rollback", _forget_sealers)

