"""The audit log as a hash chain.

Each event gets its chain (the municipality's id, 0 for platform events), its place in it and the previous
and its own HMAC; ``audit_chain_head`` keeps each chain's newest place and hash (its row lock serialises
appends). The events already there are chained in the order they were written. On PostgreSQL a trigger
refuses UPDATE and DELETE of events, also to the owner, unless ``koppel.audit_maintenance`` is ``on`` in
the transaction (the documented maintenance path; the app role holds no such right anyway).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 21:10:00

"""
from alembic import op
import sqlalchemy as sa

import core.types
from tenants.rls import disable_statements, secure_tables

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

APPEND_ONLY_FUNCTION = """
CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('koppel.audit_maintenance', true), '') <> 'on' THEN
        RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
        batch_op.create_index('uq_audit_event_chain_seq', ['chain', 'seq'], unique=True)

    op.create_table('audit_chain_head',
    sa.Column('chain', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['municipality.id'], name=op.f('fk_audit_chain_head_tenant_id_municipality'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('chain', name=op.f('pk_audit_chain_head'))
    )
    with op.batch_alter_table('audit_chain_head', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_chain_head_tenant_id'), ['tenant_id'], unique=False)

    _chain_existing_events()

    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute("CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()")
    secure_tables(op, nullable_tenant_tables=["audit_chain_head"], append_only=["audit_chain_head"])
    _grant_update("audit_chain_head")


def _chain_existing_events():
    """Chain the events written before this revision, per chain in the order of their ids."""
    from core.audit import GENESIS, _key, chain_of, event_hash

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
    events = sa.table('audit_event', *(sa.column(name) for name in (
        'id', 'tenant_id', 'actor_user_id', 'actor_token_id', 'actor', 'action', 'object_type', 'object_id',
        'ip', 'outcome', 'chain', 'seq', 'prev_hash', 'hash')), sa.column('detail', sa.JSON()),
        sa.column('at', core.types.UTCDateTime()))
    heads = sa.table('audit_chain_head', sa.column('chain'), sa.column('tenant_id'), sa.column('seq'),
                     sa.column('hash'))
    key, last, rows = _key(), {}, []
    for row in bind.execute(sa.select(events).order_by(events.c.id)).mappings():
        chain = chain_of(row["tenant_id"])
        seq, prev, _ = last.get(chain, (0, GENESIS, None))
        own = event_hash(key, {**row, "chain": chain, "seq": seq + 1}, prev)
        rows.append({"row_id": row["id"], "chain": chain, "seq": seq + 1, "prev_hash": prev, "hash": own})
        last[chain] = (seq + 1, own, row["tenant_id"])
    if rows:
        bind.execute(sa.update(events).where(events.c.id == sa.bindparam("row_id"))
                     .values(chain=sa.bindparam("chain"), seq=sa.bindparam("seq"),
                             prev_hash=sa.bindparam("prev_hash"), hash=sa.bindparam("hash")), rows)
        bind.execute(sa.insert(heads), [{"chain": chain, "tenant_id": tenant_id, "seq": seq, "hash": own}
                                        for chain, (seq, own, tenant_id) in last.items()])


def _grant_update(table: str) -> None:
    from flask import current_app

    bind = op.get_bind()
    role = current_app.config["DATABASE_APP_ROLE"]
    if bind.dialect.name == "postgresql" and bind.execute(
            sa.text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}).scalar():
        op.execute(f'GRANT UPDATE ON {table} TO "{role}"')


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
        for statement in disable_statements("audit_chain_head"):
            op.execute(statement)
    with op.batch_alter_table('audit_chain_head', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_chain_head_tenant_id'))

    op.drop_table('audit_chain_head')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('uq_audit_event_chain_seq')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seq')
        batch_op.drop_column('chain')
