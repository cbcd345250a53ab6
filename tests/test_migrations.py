"""The migrations build exactly the schema the models describe, on both backends, and down and up again
give back the same schema: tables, columns, keys, indexes, constraints and, on PostgreSQL, row-level
security, its policies and the app role's grants."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from core.extensions import db


def test_models_and_migrations_agree(app):
    engine = create_engine(app.config["MIGRATION_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"a model changed without a migration: {diff}"


def _sorted(items) -> list:
    return sorted(items, key=repr)


def schema(conn) -> dict:
    """Everything the migrations make, in comparable form."""
    inspector = inspect(conn)
    tables = {}
    for table in inspector.get_table_names():
        tables[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], str(c.get("default"))) for c in
                        inspector.get_columns(table)],
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "foreign_keys": _sorted((f["name"], f["constrained_columns"], f["referred_table"], f["referred_columns"],
                                     f.get("options")) for f in inspector.get_foreign_keys(table)),
            "indexes": _sorted((i["name"], i["column_names"], i["unique"]) for i in inspector.get_indexes(table)),
            "unique": _sorted((u["name"], u["column_names"]) for u in inspector.get_unique_constraints(table)),
            "checks": _sorted((c["name"], c["sqltext"]) for c in inspector.get_check_constraints(table)),
        }
    found = {"tables": tables}
    if conn.dialect.name == "postgresql":
        found["row_level_security"] = sorted(conn.execute(text(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'")).all())
        found["policies"] = sorted(conn.execute(text(
            "SELECT tablename, policyname, permissive, roles::text, cmd, qual, with_check FROM pg_policies "
            "WHERE schemaname = 'public'")).all())
        found["grants"] = sorted(conn.execute(text(
            "SELECT grantee, table_name, privilege_type FROM information_schema.role_table_grants "
            "WHERE table_schema = 'public' AND grantee = :role"), {"role": db.engine.url.username}).all())
        found["sequence_grants"] = sorted(conn.execute(text(
            "SELECT c.relname, has_sequence_privilege(:role, c.oid, 'USAGE') FROM pg_class c "
            "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'S'"),
            {"role": db.engine.url.username}).all())
    return found


def test_downgrade_and_upgrade_again(app):
    from flask_migrate import downgrade, upgrade

    engine = create_engine(app.config["MIGRATION_DATABASE_URL"])
    try:
        with app.app_context():
            with engine.connect() as conn:
                before = schema(conn)
            downgrade(revision="base")
            with engine.connect() as conn:
                assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
                if conn.dialect.name == "postgresql":
                    assert conn.execute(text("SELECT count(*) FROM pg_policies WHERE schemaname = 'public'")).scalar() == 0
            upgrade()
            with engine.connect() as conn:
                after = schema(conn)
    finally:
        engine.dispose()
    assert set(before["tables"]) == {t.name for t in db.metadata.sorted_tables} | {"alembic_version"}
    if app.config["MIGRATION_DATABASE_URL"].startswith("postgresql"):
        assert before["policies"] and before["grants"] and any(force for _, _, force in before["row_level_security"])
    assert after == before
