"""Reports and funder exports.

A municipality's small-count threshold; export schedules, runs, deliveries and the funders' pseudonym keys.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 14:50:00

"""
from alembic import op
import sqlalchemy as sa

import core.types
from tenants.rls import disable_statements, secure_tables

#: A consortium's schedules, runs and deliveries have no tenant: visible, and written, in a cross-tenant scope only
#: (the plain policy: a row without a tenant passes neither a tenant's check nor its filter).
EXPORT_TABLES = ["export_schedule", "export_run", "export_delivery"]


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('municipality', schema=None) as batch_op:
        batch_op.add_column(sa.Column('small_count_threshold', sa.Integer(), server_default='4', nullable=False))
        batch_op.create_check_constraint('small_count_threshold', 'small_count_threshold BETWEEN 1 AND 20')

    op.create_table('funder_secret',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('secret', sa.LargeBinary(length=32), nullable=False),
    sa.Column('created_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_funder_secret_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funder_secret')),
    sa.UniqueConstraint('user_id', name=op.f('uq_funder_secret_user_id'))
    )
    op.create_table('export_schedule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consortium_id', sa.Integer(), nullable=True),
    sa.Column('funder_id', sa.Integer(), nullable=False),
    sa.Column('cron', sa.String(length=100), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('format', sa.String(length=24), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('webhook_url', sa.String(length=2000), nullable=True),
    sa.Column('webhook_secret', sa.String(length=80), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("channel <> 'webhook' OR (webhook_url IS NOT NULL AND webhook_secret IS NOT NULL)", name=op.f('ck_export_schedule_webhook')),
    sa.CheckConstraint("channel IN ('download', 'email', 'webhook')", name=op.f('ck_export_schedule_channel')),
    sa.CheckConstraint("format IN ('csv', 'csv-international', 'xlsx', 'pdf', 'json')", name=op.f('ck_export_schedule_format')),
    sa.CheckConstraint("language IN ('nl', 'en')", name=op.f('ck_export_schedule_language')),
    sa.CheckConstraint("period IN ('month', 'quarter', 'year')", name=op.f('ck_export_schedule_period')),
    sa.CheckConstraint('(tenant_id IS NULL) <> (consortium_id IS NULL)', name=op.f('ck_export_schedule_one_scope')),
    sa.ForeignKeyConstraint(['consortium_id'], ['consortium.id'], name=op.f('fk_export_schedule_consortium_id_consortium'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_export_schedule_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['funder_id'], ['user_account.id'], name=op.f('fk_export_schedule_funder_id_user_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['municipality.id'], name=op.f('fk_export_schedule_tenant_id_municipality'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_schedule'))
    )
    with op.batch_alter_table('export_schedule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_schedule_consortium_id'), ['consortium_id'], unique=False)
        batch_op.create_index('ix_export_schedule_funder', ['funder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_schedule_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('export_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('schedule_id', sa.Integer(), nullable=True),
    sa.Column('consortium_id', sa.Integer(), nullable=True),
    sa.Column('funder_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('format', sa.String(length=24), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('media_type', sa.String(length=120), nullable=False),
    sa.Column('file_name', sa.String(length=160), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('superseded_at', core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('superseded_by_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("channel IN ('download', 'email', 'webhook')", name=op.f('ck_export_run_channel')),
    sa.CheckConstraint("period IN ('month', 'quarter', 'year')", name=op.f('ck_export_run_period')),
    sa.CheckConstraint("status IN ('pending', 'done', 'failed')", name=op.f('ck_export_run_status')),
    sa.CheckConstraint('(tenant_id IS NULL) <> (consortium_id IS NULL)', name=op.f('ck_export_run_one_scope')),
    sa.ForeignKeyConstraint(['consortium_id'], ['consortium.id'], name=op.f('fk_export_run_consortium_id_consortium'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_export_run_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['funder_id'], ['user_account.id'], name=op.f('fk_export_run_funder_id_user_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['schedule_id'], ['export_schedule.id'], name=op.f('fk_export_run_schedule_id_export_schedule'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['superseded_by_id'], ['export_run.id'], name=op.f('fk_export_run_superseded_by_id_export_run'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['municipality.id'], name=op.f('fk_export_run_tenant_id_municipality'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_run')),
    sa.UniqueConstraint('schedule_id', 'period_start', 'period_end', 'version', name='uq_export_run_version')
    )
    with op.batch_alter_table('export_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_run_consortium_id'), ['consortium_id'], unique=False)
        batch_op.create_index('ix_export_run_funder', ['funder_id', 'period_start'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_run_schedule_id'), ['schedule_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_run_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('export_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("channel IN ('download', 'email', 'webhook')", name=op.f('ck_export_delivery_channel')),
    sa.CheckConstraint("outcome IN ('delivered', 'retry', 'refused', 'cancelled')", name=op.f('ck_export_delivery_outcome')),
    sa.ForeignKeyConstraint(['run_id'], ['export_run.id'], name=op.f('fk_export_delivery_run_id_export_run'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['municipality.id'], name=op.f('fk_export_delivery_tenant_id_municipality'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_delivery'))
    )
    with op.batch_alter_table('export_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_delivery_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_delivery_tenant_id'), ['tenant_id'], unique=False)

    secure_tables(op, tenant_tables=EXPORT_TABLES, read_write=[*EXPORT_TABLES, "funder_secret"])


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in EXPORT_TABLES:
            for statement in disable_statements(table):
                op.execute(statement)
    with op.batch_alter_table('export_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_delivery_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_export_delivery_run_id'))

    op.drop_table('export_delivery')
    with op.batch_alter_table('export_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_run_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_export_run_schedule_id'))
        batch_op.drop_index('ix_export_run_funder')
        batch_op.drop_index(batch_op.f('ix_export_run_consortium_id'))

    op.drop_table('export_run')
    with op.batch_alter_table('export_schedule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_schedule_tenant_id'))
        batch_op.drop_index('ix_export_schedule_funder')
        batch_op.drop_index(batch_op.f('ix_export_schedule_consortium_id'))

    op.drop_table('export_schedule')
    op.drop_table('funder_secret')

    with op.batch_alter_table('municipality', schema=None) as batch_op:
        batch_op.drop_constraint('small_count_threshold', type_='check')
        batch_op.drop_column('small_count_threshold')
