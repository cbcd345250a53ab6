"""Alembic environment: runs as the table owner (MIGRATION_DATABASE_URL)."""
import logging

from alembic import context
from flask import current_app
from sqlalchemy import create_engine, pool

logger = logging.getLogger("alembic.env")
config = context.config
target_db = current_app.extensions["migrate"].db


def _url() -> str:
    return current_app.config["MIGRATION_DATABASE_URL"]


def run_migrations_offline():
    context.configure(url=_url(), target_metadata=target_db.metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    engine = create_engine(_url(), poolclass=pool.NullPool, hide_parameters=True)  # no personal data in a log
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_db.metadata,
            **conf_args,
        )
        with context.begin_transaction():
            context.run_migrations()
            # the tenant settings' MAC key follows SECRET_KEY: each upgrade stores the current one (tenants/rls.py)
            from tenants import rls

            rls.store_key(connection, current_app.config["SECRET_KEY"])
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
