"""RLS policies read their settings once per statement; an index for volunteer hours.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

from tenants.rls import policy_statement

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TENANT_TABLES = [
    "family", "member", "family_status_change", "duplicate_flag", "intake_meeting", "approval", "decision",
    "match", "match_transition", "match_extension", "evaluation", "contact", "consent", "referrer_notification",
    "programme_target",
]


def upgrade():
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index("ix_contact_tenant_kind_occurred", ["tenant_id", "kind", "occurred_on"], unique=False,
                              postgresql_include=["duration_minutes"])
    if op.get_bind().dialect.name == "postgresql":
        for table, nullable in [(t, False) for t in TENANT_TABLES] + [("audit_event", True)]:
            op.execute(f"DROP POLICY tenant_isolation ON {table}")
            op.execute(policy_statement(table, nullable_tenant=nullable))


def downgrade():
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_tenant_kind_occurred")
