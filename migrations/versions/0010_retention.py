"""Retention periods, destruction lists and their approval.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 21:10:00

"""
from alembic import op
import sqlalchemy as sa

import core.types
from tenants.rls import disable_statements, secure_tables

TABLES = ["destruction_list", "destruction_item"]

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('municipality', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retention_months', sa.Integer(), server_default='24', nullable=False))
        batch_op.create_check_constraint('retention_months', 'retention_months BETWEEN 6 AND 240')

    op.create_table('destruction_list',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('retention_months', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('legal_basis', sa.Text(), nullable=True),
    sa.Column('created_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('submitted_by_user_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by_user_id', sa.Integer(), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('retention', 'erasure')", name=op.f('ck_destruction_list_kind')),
    sa.CheckConstraint("state IN ('open', 'submitted', 'destroyed', 'rejected')", name=op.f('ck_destruction_list_state')),
    sa.ForeignKeyConstraint(['tenant_id'], ['municipality.id'], name=op.f('fk_destruction_list_tenant_id_municipality'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_destruction_list'))
    )
    with op.batch_alter_table('destruction_list', schema=None) as batch_op:
        batch_op.create_index('ix_destruction_list_tenant_state', ['tenant_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_destruction_list_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('destruction_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('family_id', sa.Integer(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('excluded', sa.Boolean(), nullable=False),
    sa.Column('exclusion_reason', sa.Text(), nullable=True),
    sa.Column('destroyed_at', core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('destroyed', sa.JSON(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['family_id'], ['family.id'], name=op.f('fk_destruction_item_family_id_family'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['list_id'], ['destruction_list.id'], name=op.f('fk_destruction_item_list_id_destruction_list'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['municipality.id'], name=op.f('fk_destruction_item_tenant_id_municipality'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_destruction_item'))
    )
    with op.batch_alter_table('destruction_item', schema=None) as batch_op:
        batch_op.create_index('ix_destruction_item_list', ['list_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_destruction_item_family_id'), ['family_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_destruction_item_tenant_id'), ['tenant_id'], unique=False)

    secure_tables(op, tenant_tables=TABLES, read_write=TABLES)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for statement in disable_statements(table):
                op.execute(statement)
    op.drop_table('destruction_item')
    op.drop_table('destruction_list')
    with op.batch_alter_table('municipality', schema=None) as batch_op:
        batch_op.drop_constraint('retention_months', type_='check')
        batch_op.drop_column('retention_months')
