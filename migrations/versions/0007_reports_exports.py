"""Reports and funder exports: the small-count threshold of a municipality.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 14:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('municipality', schema=None) as batch_op:
        batch_op.add_column(sa.Column('small_count_threshold', sa.Integer(), server_default='4', nullable=False))
        batch_op.create_check_constraint('small_count_threshold', 'small_count_threshold BETWEEN 1 AND 20')


def downgrade():
    with op.batch_alter_table('municipality', schema=None) as batch_op:
        batch_op.drop_constraint('small_count_threshold', type_='check')
        batch_op.drop_column('small_count_threshold')
