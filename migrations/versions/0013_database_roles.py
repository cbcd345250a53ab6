"""Isolation the database enforces on its own: signed tenant settings, a cross-tenant role, composite foreign keys.

* ``koppel_current_tenant()`` (SECURITY DEFINER, the owner's) trusts ``koppel.tenant_id`` only with its MAC;
  the key lives in ``koppel_private.scope_key``, which only the owner may read.
* Foreign keys between tenant-owned tables include the tenant: ``(x_id, tenant_id)`` references
  ``parent (id, tenant_id)`` (each parent gets ``UNIQUE (id, tenant_id)``), so a row cannot reference
  another tenant's row; foreign-key checks pass by row-level security, these do not.
* Each tenant-owned table's single policy (with a switch any role could set) becomes two: the app role's
  (the signed tenant only) and the cross role's and owner's (every row). The cross role gets the app
  role's table rights.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 21:10:00

"""
from alembic import op
from flask import current_app
from sqlalchemy import text

from tenants import rls

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

#: Tables whose rows without a tenant the app role may insert (and never read): the audit log's platform events.
#: scheduled_item's rows without a tenant are the cross role's alone now.
APP_INSERTS_WITHOUT_TENANT = {"audit_event"}
#: Tables whose app-role policy is not the plain tenant match: a chain head is its tenant's, and the platform
#: chain's (0, no tenant) is everyone's (migration 0011).
APP_ROWS = {"audit_chain_head": f"(({rls.SIGNED_TENANT_MATCH}) AND chain = tenant_id) OR (tenant_id IS NULL AND chain = 0)"}


#: (table, column, referenced table, ON DELETE): the keys that now include the tenant. Left out: the self-references
#: with ON DELETE SET NULL (family.former_family_id, decision.overrides_id), which would null the tenant too, and
#: the export tables, whose consortium rows have no tenant.
REFERENCES = [
    ("member", "family_id", "family", "CASCADE"),
    ("family_status_change", "family_id", "family", "CASCADE"),
    ("duplicate_flag", "family_id", "family", "CASCADE"),
    ("duplicate_flag", "other_family_id", "family", "CASCADE"),
    ("intake_meeting", "family_id", "family", "CASCADE"),
    ("approval", "family_id", "family", "CASCADE"),
    ("decision", "family_id", "family", "CASCADE"),
    ("match", "requesting_family_id", "family", "RESTRICT"),
    ("match", "supporting_family_id", "family", "RESTRICT"),
    ("match_transition", "match_id", "match", "CASCADE"),
    ("match_override", "match_id", "match", "CASCADE"),
    ("match_override", "decision_id", "decision", "RESTRICT"),
    ("match_extension", "match_id", "match", "CASCADE"),
    ("evaluation", "match_id", "match", "CASCADE"),
    ("contact", "family_id", "family", "CASCADE"),
    ("contact", "match_id", "match", "CASCADE"),
    ("consent", "family_id", "family", "CASCADE"),
    ("referrer_notification", "match_id", "match", "CASCADE"),
    ("work_item", "family_id", "family", "CASCADE"),
    ("work_item", "match_id", "match", "CASCADE"),
    ("work_item", "evaluation_id", "evaluation", "CASCADE"),
    ("notification", "work_item_id", "work_item", "CASCADE"),
]
REFERABLE = ["family", "decision", "match", "evaluation", "work_item"]
#: Unique constraints over a reference, now with the tenant: checked before the foreign key, without it they
#: would tell whether another tenant has such a row.
UNIQUE = [("approval", "uq_approval_family_user", ["family_id", "user_id"]),
          ("duplicate_flag", "uq_duplicate_flag_pair", ["family_id", "other_family_id"]),
          ("referrer_notification", "uq_referrer_notification_match_event", ["match_id", "event"])]


def _unique(with_tenant: bool) -> None:
    for table, name, columns in UNIQUE:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(name, type_="unique")
            batch_op.create_unique_constraint(name, ["tenant_id", *columns] if with_tenant else columns)


def _references(with_tenant: bool) -> None:
    """Replace each key of REFERENCES by the one with (with_tenant) or without the tenant."""
    tables = dict.fromkeys(table for table, *_ in REFERENCES)
    for table in tables:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for _, column, target, ondelete in (r for r in REFERENCES if r[0] == table):
                name = op.f(f"fk_{table}_{column}_{target}")
                batch_op.drop_constraint(name, type_="foreignkey")
                if with_tenant:
                    batch_op.create_foreign_key(name, target, [column, "tenant_id"], ["id", "tenant_id"],
                                                ondelete=ondelete)
                else:
                    batch_op.create_foreign_key(name, target, [column], ["id"], ondelete=ondelete)


def _policed_tables(bind) -> list[tuple[str, bool]]:
    """The tables under the tenant policy, and whether their old policy let rows without a tenant in."""
    rows = bind.execute(text(
        "SELECT tablename, coalesce(with_check, '') LIKE '%tenant_id IS NULL%' FROM pg_policies "
        "WHERE schemaname = 'public' AND policyname = 'tenant_isolation' ORDER BY tablename")).all()
    return [(table, nullable) for table, nullable in rows]


def upgrade():
    for table in REFERABLE:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_unique_constraint(op.f(f"uq_{table}_id"), ["id", "tenant_id"])
    _references(with_tenant=True)
    _unique(with_tenant=True)
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    owner = bind.execute(text("SELECT current_user")).scalar()
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {rls.PRIVATE_SCHEMA} AUTHORIZATION \"{owner}\"")
    op.execute(f"REVOKE ALL ON SCHEMA {rls.PRIVATE_SCHEMA} FROM PUBLIC")
    op.execute(f"CREATE TABLE IF NOT EXISTS {rls.KEY_TABLE} (id integer PRIMARY KEY CHECK (id = 1), "
               "inner_pad bytea NOT NULL, outer_pad bytea NOT NULL, changed_at timestamptz NOT NULL DEFAULT now())")
    op.execute(f"REVOKE ALL ON {rls.KEY_TABLE} FROM PUBLIC")
    rls.store_key(bind, current_app.config["SECRET_KEY"])
    op.execute(rls.FUNCTION)
    op.execute(f"REVOKE ALL ON FUNCTION public.{rls.CURRENT_TENANT}() FROM PUBLIC")
    roles = rls.policy_roles(bind)
    for role in (roles["app"], roles["cross"]):
        if role:
            op.execute(f'GRANT EXECUTE ON FUNCTION public.{rls.CURRENT_TENANT}() TO "{role}"')
    for table, nullable in _policed_tables(bind):
        op.execute(f"DROP POLICY tenant_isolation ON {table}")
        for statement in rls.policy_statements(table, roles, rows=APP_ROWS.get(table),
                                               nullable_tenant=nullable and table in APP_INSERTS_WITHOUT_TENANT):
            op.execute(statement)
    if roles["app"] and roles["cross"]:  # the cross role may do what the app role may, on every row
        rights = bind.execute(text(
            "SELECT table_name, string_agg(privilege_type, ', ' ORDER BY privilege_type) "
            "FROM information_schema.role_table_grants WHERE table_schema = 'public' AND grantee = :role "
            "GROUP BY table_name ORDER BY table_name"), {"role": roles["app"]}).all()
        op.execute(f'GRANT USAGE ON SCHEMA public TO "{roles["cross"]}"')
        for table, privileges in rights:
            op.execute(f'GRANT {privileges} ON {table} TO "{roles["cross"]}"')
        op.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{roles["cross"]}"')


def downgrade():
    _plain_references()
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    tables = bind.execute(text(
        "SELECT tablename, bool_or(coalesce(with_check, '') LIKE '%tenant_id IS NULL%') FROM pg_policies "
        "WHERE schemaname = 'public' AND policyname IN ('tenant_isolation', 'cross_tenant') GROUP BY tablename")).all()
    for table, nullable in tables:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"DROP POLICY IF EXISTS cross_tenant ON {table}")
        if table in APP_ROWS:  # as migration 0011 made it
            old = f"(({rls.TENANT_MATCH}) AND chain = tenant_id) OR ({rls.CROSS_TENANT}) OR (tenant_id IS NULL AND chain = 0)"
            op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({old}) WITH CHECK ({old})")
        else:
            op.execute(rls.policy_statement(table, nullable_tenant=nullable or table == "scheduled_item"))
    cross = current_app.config["DATABASE_CROSS_ROLE"]
    if bind.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": cross}).scalar():
        op.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{cross}"')
        op.execute(f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM "{cross}"')
    op.execute(f"DROP FUNCTION IF EXISTS public.{rls.CURRENT_TENANT}()")
    op.execute(f"DROP SCHEMA IF EXISTS {rls.PRIVATE_SCHEMA} CASCADE")


def _plain_references():
    _unique(with_tenant=False)
    _references(with_tenant=False)
    for table in REFERABLE:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"uq_{table}_id"), type_="unique")
