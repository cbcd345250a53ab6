"""A tenant's keys: created on first use, stored wrapped by the current KEK, unwrapped once per process.

The process keeps unwrapped keys (never decrypted values) by their random id, with the tenant they
belong to; a key is only ever used for that tenant. Which data key is current is read from the
database once per transaction (:func:`current`), so a rotation elsewhere takes effect at the next one.
All statements go through the given connection and filter on the tenant explicitly (row-level
security on PostgreSQL filters too).
"""
from __future__ import annotations

import secrets
import threading

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import insert, select

from core.crypto import envelope
from core.crypto.kek import KeyRing
from core.crypto.models import DATA, INDEX, TenantDataKey
from core.types import utcnow

TABLE = TenantDataKey.__table__

_lock = threading.Lock()
_keys: dict[str, tuple[int, bytes]] = {}  # key id -> (tenant id, unwrapped key)
_ciphers: dict[str, AESGCM] = {}


def ring() -> KeyRing:
    from flask import current_app

    return current_app.config["FIELD_ENCRYPTION_KEYS"]


def forget() -> None:
    """Drop every unwrapped key (tests; a process that must forget its keys)."""
    with _lock:
        _keys.clear()
        _ciphers.clear()


def _wrap_aad(tenant_id: int, key_id: str, purpose: str) -> bytes:
    return f"koppel/tenant-key/v1|tenant={int(tenant_id)}|key={key_id}|{purpose}".encode()


def wrap(kek: KeyRing, tenant_id: int, key_id: str, purpose: str, material: bytes) -> tuple[str, str]:
    """*material* wrapped by the current KEK: (wrapped, KEK id)."""
    kek_id = kek.current_id
    return envelope.seal(AESGCM(kek.get(kek_id)), kek_id, material, _wrap_aad(tenant_id, key_id, purpose)), kek_id


def unwrap(kek: KeyRing, row) -> bytes:
    """The key of a ``tenant_data_key`` row (id, tenant_id, purpose, wrapped, kek_id)."""
    return envelope.open_(AESGCM(kek.get(row.kek_id)), row.wrapped, _wrap_aad(row.tenant_id, row.id, row.purpose))


def create(connection, tenant_id: int, purpose: str, kek: KeyRing | None = None) -> str:
    """A new key of *tenant_id* for *purpose*, inserted through *connection*; its id."""
    kek = kek or ring()
    material, key_id = AESGCM.generate_key(256), secrets.token_hex(8)
    wrapped, kek_id = wrap(kek, tenant_id, key_id, purpose, material)
    connection.execute(insert(TABLE).values(id=key_id, tenant_id=tenant_id, purpose=purpose, wrapped=wrapped,
                                            kek_id=kek_id, created_at=utcnow()))
    _remember(key_id, tenant_id, material)
    return key_id


def _remember(key_id: str, tenant_id: int, material: bytes) -> None:
    with _lock:
        _keys[key_id] = (tenant_id, material)
        _ciphers[key_id] = AESGCM(material)


def material(connection, tenant_id: int, key_id: str, kek: KeyRing | None = None) -> bytes:
    """The unwrapped key *key_id* of *tenant_id*; :class:`~core.crypto.envelope.DecryptionError` when it is not
    that tenant's."""
    found = _keys.get(key_id)
    if found is None:
        row = connection.execute(select(TABLE).where(TABLE.c.id == key_id, TABLE.c.tenant_id == tenant_id)).first()
        if row is None:
            raise envelope.DecryptionError("the key an encrypted value names is not one of this municipality's")
        _remember(key_id, tenant_id, unwrap(kek or ring(), row))
        found = _keys[key_id]
    if found[0] != tenant_id:
        raise envelope.DecryptionError("the key an encrypted value names is not one of this municipality's")
    return found[1]


def cipher(connection, tenant_id: int, key_id: str, kek: KeyRing | None = None) -> AESGCM:
    material(connection, tenant_id, key_id, kek)
    return _ciphers[key_id]


def current_id(connection, tenant_id: int, purpose: str = DATA, kek: KeyRing | None = None, *,
               create_missing: bool = True) -> str | None:
    """The id of *tenant_id*'s newest unretired key for *purpose*, created when it has none."""
    key_id = connection.execute(
        select(TABLE.c.id).where(TABLE.c.tenant_id == tenant_id, TABLE.c.purpose == purpose,
                                 TABLE.c.retired_at.is_(None))
        .order_by(TABLE.c.created_at.desc(), TABLE.c.id).limit(1)).scalar()
    if key_id is None and create_missing:
        key_id = create(connection, tenant_id, purpose, kek)
    return key_id


def index_key(connection, tenant_id: int, kek: KeyRing | None = None) -> bytes:
    """*tenant_id*'s blind-index key (one per tenant, apart from its data keys)."""
    return material(connection, tenant_id, current_id(connection, tenant_id, INDEX, kek), kek)
