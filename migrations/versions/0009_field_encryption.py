"""Envelope encryption of special-category fields: per-tenant data keys, ciphertexts, blind indexes.

Adds ``tenant_data_key`` (wrapped keys, under row-level security), a ``row_key`` (random UUID, the
row's identity in the associated data) on every table with encrypted columns, turns those columns
into text, and encrypts the values already stored with each tenant's new data key (the KEK of
``FIELD_ENCRYPTION_KEYS``). The downgrade decrypts them again.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 21:10:00

"""
import json

from alembic import op
import sqlalchemy as sa
from flask import current_app

import core.types
from tenants.rls import secure_tables

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

#: table -> its encrypted columns and what their plain values are (core/crypto/fields.py)
ENCRYPTED = {
    "family": {"wishes": "text", "preferences": "text", "problem_areas": "json", "household_income": "int"},
    "family_status_change": {"reason": "text"},
    "intake_meeting": {"notes": "text"},
    "approval": {"note": "text"},
    "decision": {"findings": "json", "override_reason": "text"},
    "match": {"agreement": "text", "note": "text"},
    "match_transition": {"reason": "text"},
    "match_extension": {"note": "text"},
    "evaluation": {"goal_progress": "text", "notes": "text"},
    "contact": {"note": "text"},
}
#: columns whose type changes to text: (table, column, old type, NOT NULL)
RETYPED = [("family", "problem_areas", sa.JSON(), True), ("family", "household_income", sa.Integer(), False),
           ("decision", "findings", sa.JSON(), True)]
BATCH = 500


def upgrade():
    op.create_table('tenant_data_key',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('purpose', sa.String(length=8), nullable=False),
    sa.Column('wrapped', sa.Text(), nullable=False),
    sa.Column('kek_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retired_at', core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("purpose IN ('data', 'index')", name=op.f('ck_tenant_data_key_purpose')),
    sa.ForeignKeyConstraint(['tenant_id'], ['municipality.id'], name=op.f('fk_tenant_data_key_tenant_id_municipality'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant_data_key'))
    )
    with op.batch_alter_table('tenant_data_key', schema=None) as batch_op:
        batch_op.create_index('ix_tenant_data_key_tenant_purpose', ['tenant_id', 'purpose', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tenant_data_key_tenant_id'), ['tenant_id'], unique=False)
    secure_tables(op, tenant_tables=["tenant_data_key"], read_write=["tenant_data_key"])

    bind = op.get_bind()
    new_key = ("replace(gen_random_uuid()::text, '-', '')" if bind.dialect.name == "postgresql"
               else "lower(hex(randomblob(16)))")
    _all_tenants(bind)
    for table in ENCRYPTED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('row_key', sa.String(length=32), nullable=True))
        op.execute(f"UPDATE {table} SET row_key = {new_key}")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('row_key', existing_type=sa.String(length=32), nullable=False)
    for table, column, old, not_null in RETYPED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=old, type_=sa.Text(), existing_nullable=not not_null,
                                  postgresql_using=f"{column}::text")
    _convert(bind, seal=True)


def downgrade():
    bind = op.get_bind()
    _all_tenants(bind)
    _convert(bind, seal=False)
    for table, column, old, not_null in RETYPED:
        using = f"{column}::json" if isinstance(old, sa.JSON) else f"{column}::integer"
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.Text(), type_=old, existing_nullable=not not_null,
                                  postgresql_using=using)
    for table in ENCRYPTED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('row_key')
    with op.batch_alter_table('tenant_data_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tenant_data_key_tenant_id'))
        batch_op.drop_index('ix_tenant_data_key_tenant_purpose')
    op.drop_table('tenant_data_key')


def _all_tenants(bind) -> None:
    """Every tenant's rows (the owner is subject to row-level security too), for this transaction."""
    if bind.dialect.name == "postgresql":
        op.execute("SELECT set_config('koppel.cross_tenant', 'on', true)")


def _convert(bind, *, seal: bool) -> None:
    """Encrypt (*seal*) or decrypt every stored value of the encrypted columns, a batch at a time."""
    from core.crypto import fields

    kek = current_app.config["FIELD_ENCRYPTION_KEYS"]
    for name, columns in ENCRYPTED.items():
        table = sa.table(name, sa.column("id"), sa.column("tenant_id"), sa.column("row_key"),
                         *(sa.column(c, sa.Text()) for c in columns))
        sealers = {}
        last = 0
        while True:
            rows = bind.execute(sa.select(table).where(table.c.id > last).order_by(table.c.id).limit(BATCH)).all()
            if not rows:
                break
            last = rows[-1].id
            updates = []
            for row in rows:
                sealer = sealers.get(row.tenant_id) or sealers.setdefault(
                    row.tenant_id, fields.Sealer(bind, row.tenant_id, kek))
                values = {}
                for column, kind in columns.items():
                    stored = getattr(row, column)
                    if stored is None:
                        continue
                    if seal:
                        values[column] = str(sealer.seal(name, column, row.row_key, kind, _plain(kind, stored)))
                    else:
                        plain = sealer.open(name, column, row.row_key, kind, stored)
                        values[column] = json.dumps(plain) if kind == "json" else str(plain)
                if values:
                    bind.execute(sa.update(table).where(table.c.id == row.id).values(**values))


def _plain(kind: str, stored: str):
    """A stored plain value (as text) as the value it is."""
    if kind == "json":
        return json.loads(stored)
    if kind == "int":
        return int(stored)
    return stored
