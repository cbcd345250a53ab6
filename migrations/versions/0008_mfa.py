"""Multi-factor authentication: TOTP secrets, recovery codes, re-authentication.

The TOTP columns on ``user_account``; ``user_session.auth_at`` (re-authentication); one-time recovery codes;
the addresses a user has logged in from (login throttling). The old per-account failure counters go: the
throttle counts in the rate limiter's storage.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 21:10:00

"""
from alembic import op
import sqlalchemy as sa

import core.types
from tenants.rls import secure_tables

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('mfa_enabled_at', core.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
        batch_op.drop_column('failed_logins')
        batch_op.drop_column('failed_login_window_start')
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auth_at', core.types.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE user_session SET auth_at = created_at")
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.alter_column('auth_at', existing_type=core.types.UTCDateTime(timezone=True), nullable=False)

    op.create_table('recovery_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('lookup', sa.String(length=8), nullable=False),
    sa.Column('code_hash', sa.String(length=255), nullable=False),
    sa.Column('created_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', core.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_recovery_code_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_code')),
    sa.UniqueConstraint('user_id', 'lookup', name=op.f('uq_recovery_code_user_lookup'))
    )
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_code_user_id'), ['user_id'], unique=False)

    op.create_table('login_source',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('ip_digest', sa.String(length=64), nullable=False),
    sa.Column('last_success_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_login_source_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_source')),
    sa.UniqueConstraint('user_id', 'ip_digest', name=op.f('uq_login_source_user_ip'))
    )
    with op.batch_alter_table('login_source', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_source_user_id'), ['user_id'], unique=False)

    secure_tables(op, read_write=["recovery_code", "login_source"])


def downgrade():
    with op.batch_alter_table('login_source', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_source_user_id'))
    op.drop_table('login_source')
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_code_user_id'))
    op.drop_table('recovery_code')
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_column('auth_at')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_login_window_start', core.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('mfa_enabled_at')
        batch_op.drop_column('totp_secret')
