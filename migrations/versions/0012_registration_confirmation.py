"""Public registrations confirmed by e-mail before they reach coordinators.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 21:10:00

"""
from alembic import op
import sqlalchemy as sa

import core.types
from tenants.rls import disable_statements, secure_tables

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

TABLES = ("pending_registration",)


def upgrade():
    op.create_table('pending_registration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nonce', sa.String(length=32), nullable=False),
    sa.Column('email_digest', sa.String(length=64), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),  # sealed (core.crypto.fields)
    sa.Column('row_key', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['municipality.id'], name=op.f('fk_pending_registration_tenant_id_municipality'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_registration')),
    sa.UniqueConstraint('tenant_id', 'email_digest', name='uq_pending_registration_tenant_email')
    )
    with op.batch_alter_table('pending_registration', schema=None) as batch_op:
        batch_op.create_index('ix_pending_registration_tenant_created', ['tenant_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_pending_registration_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_pending_registration_tenant_id'), ['tenant_id'], unique=False)
    secure_tables(op, tenant_tables=TABLES, read_write=TABLES)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for statement in disable_statements(table):
                op.execute(statement)
    with op.batch_alter_table('pending_registration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_registration_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_pending_registration_expires_at'))
        batch_op.drop_index('ix_pending_registration_tenant_created')
    op.drop_table('pending_registration')
