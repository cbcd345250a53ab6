"""Key rotation: re-wrap a tenant's keys with the current KEK, and move its values to a new data key.

:func:`rewrap` unwraps every key of a tenant that another KEK wraps and wraps it with the current one
(one transaction). :func:`rotate_data_key` gives the tenant a new data key (unless a rotation of it is
still under way: then it resumes) and re-encrypts every value under an older one, *batch_size* rows a
transaction, in id order; when none is left, the older keys are retired. Interrupted, the same
command resumes where it stopped. Both run in the tenant's scope.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, and_, func, or_, select, type_coerce, update

from core.crypto import envelope, keystore
from core.crypto.fields import SEALED_MODELS, Sealer, encrypted_columns
from core.crypto.models import DATA, TenantDataKey
from core.extensions import db
from core.types import utcnow


def rewrap(tenant_id: int) -> int:
    """Re-wrap *tenant_id*'s keys that another KEK wraps; how many. Commits."""
    kek = keystore.ring()
    keys = db.session.scalars(select(TenantDataKey).where(TenantDataKey.tenant_id == tenant_id,
                                                          TenantDataKey.kek_id != kek.current_id)).all()
    for key in keys:
        key.wrapped, key.kek_id = keystore.wrap(kek, tenant_id, key.id, key.purpose, keystore.unwrap(kek, key))
    db.session.commit()
    return len(keys)


def _active_data_keys(tenant_id: int) -> list[str]:
    return list(db.session.scalars(
        select(TenantDataKey.id).where(TenantDataKey.tenant_id == tenant_id, TenantDataKey.purpose == DATA,
                                       TenantDataKey.retired_at.is_(None))
        .order_by(TenantDataKey.created_at.desc(), TenantDataKey.id)))


def rotate_data_key(tenant_id: int, batch_size: int = 500, progress=lambda line: None) -> int:
    """Re-encrypt *tenant_id*'s values with a new data key (or the one a resumed rotation started); how many
    rows were rewritten. Each batch commits."""
    active = _active_data_keys(tenant_id)
    if len(active) <= 1:  # no rotation under way: start one
        new_id = keystore.create(db.session.connection(), tenant_id, DATA)
        db.session.commit()
        progress(f"new data key {new_id}")
    else:
        new_id = active[0]
        progress(f"resuming with data key {new_id}")
    prefix = f"{envelope.VERSION}:{new_id}:"
    done = 0
    for name, model in sorted(SEALED_MODELS.items()):
        columns = encrypted_columns(model.__table__)
        stale = or_(*(and_(getattr(model, c).isnot(None),
                           ~type_coerce(getattr(model, c), Text).startswith(prefix, autoescape=True))
                      for c, _, _ in columns))
        last, rewritten = 0, 0
        while True:
            rows = db.session.execute(
                select(model.id, model.row_key, *(getattr(model, c) for c, _, _ in columns))
                .where(model.tenant_id == tenant_id, model.id > last, stale)
                .order_by(model.id).limit(batch_size)).all()
            if not rows:
                break
            sealer = Sealer(db.session.connection(), tenant_id, key_id=new_id)
            for row in rows:
                values = {}
                for column, kind, _ in columns:
                    token = getattr(row, column)
                    if token is not None and not token.startswith(prefix):
                        values[column] = sealer.seal(name, column, row.row_key, kind,
                                                     sealer.open(name, column, row.row_key, kind, token))
                db.session.execute(update(model).where(model.id == row.id).values(**values)
                                   .execution_options(synchronize_session=False))
            db.session.commit()
            last, rewritten = rows[-1].id, rewritten + len(rows)
            progress(f"{name}: {rewritten} rows re-encrypted")
        done += rewritten
    remaining = sum(count for key_id, count in value_counts(tenant_id).items() if key_id != new_id)
    if remaining:  # written meanwhile with an older key (a transaction that began before the new key): again
        progress(f"{remaining} values still under an older key; run the command again")
        return done
    older = [key_id for key_id in _active_data_keys(tenant_id) if key_id != new_id]
    if older:
        db.session.execute(update(TenantDataKey).where(TenantDataKey.id.in_(older)).values(retired_at=utcnow())
                           .execution_options(synchronize_session=False))
    db.session.commit()
    progress(f"retired {len(older)} older data key(s)")
    return done


def value_counts(tenant_id: int) -> dict[str, int]:
    """How many stored values each data key of *tenant_id* encrypts."""
    counts: dict[str, int] = {}
    for model in SEALED_MODELS.values():
        for column, _, _ in encrypted_columns(model.__table__):
            key_id = func.substr(type_coerce(getattr(model, column), Text), 4, 16)
            for found, count in db.session.execute(
                    select(key_id, func.count(model.id)).where(model.tenant_id == tenant_id,
                                                               getattr(model, column).isnot(None)).group_by(key_id)):
                counts[found] = counts.get(found, 0) + count
    return counts


def status(tenant_id: int) -> list[dict]:
    """*tenant_id*'s keys: id, purpose, KEK, created, retired, and how many values each data key encrypts."""
    counts = value_counts(tenant_id)
    rows = db.session.scalars(select(TenantDataKey).where(TenantDataKey.tenant_id == tenant_id)
                              .order_by(TenantDataKey.purpose, TenantDataKey.created_at)).all()
    return [{"id": r.id, "purpose": r.purpose, "kek_id": r.kek_id, "created_at": _as_utc(r.created_at),
             "retired_at": _as_utc(r.retired_at), "values": counts.get(r.id, 0) if r.purpose == DATA else None}
            for r in rows]


def _as_utc(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else "-"
