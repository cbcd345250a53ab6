"""The benchmarks' database: roles, recreation, the ``koppel`` CLI and the app, for one database name.

Everything is on 127.0.0.1:5432. The superuser ``postgres`` (trust auth)
creates the roles and the database; the database is owned by ``koppel_owner``,
the app connects as ``koppel_app`` (subject to row-level security) and its
cross-tenant work as ``koppel_cross``. Each role's password is its name.
"""
from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # koppel and gunicorn live next to the venv's python
ROLES = ("koppel_owner", "koppel_app", "koppel_cross")
#: The benchmarks' key-encryption key (FIELD_ENCRYPTION_KEYS; production refuses the development one): fixed, so
#: that a database seeded by one run is read by the next and by gunicorn. Not secret: benchmark data only.
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "bench:" + base64.b64encode(hashlib.sha256(b"koppel bench").digest()).decode())
#: One SECRET_KEY for the CLI, the apps and gunicorn: the key of the signed tenant settings is derived from it and
#: stored by ``koppel init`` (tenants/rls.py). Not secret: benchmark data only.
SECRET_KEY = "koppel-bench-not-secret-0123456789abcdef"


class BenchDatabase:
    """One benchmark database, named *name*."""

    def __init__(self, name: str):
        self.name = name
        self.app_url = f"postgresql+psycopg://koppel_app:koppel_app@127.0.0.1/{name}"
        self.owner_url = f"postgresql+psycopg://koppel_owner:koppel_owner@127.0.0.1/{name}"
        self.cross_url = f"postgresql+psycopg://koppel_cross:koppel_cross@127.0.0.1/{name}"

    def environment(self, **settings: str) -> dict[str, str]:
        """The process environment for the CLI or gunicorn on this database (production unless overridden)."""
        return {**os.environ, "DATABASE_URL": self.app_url, "MIGRATION_DATABASE_URL": self.owner_url,
                "CROSS_TENANT_DATABASE_URL": self.cross_url, "KOPPEL_ENV": "production", "SECRET_KEY": SECRET_KEY,
                "LOG_LEVEL": "WARNING", **settings}

    def connect_owner(self, **kwargs) -> psycopg.Connection:
        """A psycopg connection as the owner (*kwargs* go to ``psycopg.connect``)."""
        return psycopg.connect(f"host=127.0.0.1 user=koppel_owner password=koppel_owner dbname={self.name}",
                               **kwargs)

    def koppel(self, *arguments: str) -> str:
        """Run the ``koppel`` CLI against this database (app and owner roles); its stdout. Exits on failure."""
        done = subprocess.run([BIN / "koppel", *arguments], cwd=ROOT, env=self.environment(KOPPEL_ENV="development"),
                              capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"koppel {' '.join(arguments)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def create(self) -> None:
        """Create the roles when missing, drop and recreate the database owned by the owner, ``koppel init``."""
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as conn:
            for role in ROLES:
                if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                    conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role),
                                                                                     sql.Literal(role)))
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER koppel_owner").format(sql.Identifier(self.name)))
        self.koppel("init")

    def seeded(self, table: str) -> bool:
        """Whether *table* has rows (counted across tenants as the owner); False when it cannot be read."""
        try:
            with self.connect_owner() as conn:
                conn.execute("SELECT set_config('koppel.cross_tenant', 'on', false)")
                query = sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table))
                return conn.execute(query).fetchone()[0]
        except psycopg.Error:
            return False

    def make_app(self):
        """The app in production mode as the app role, made like wsgi.py makes it for gunicorn
        (with the garbage collector tuned for serving)."""
        from core import create_app
        from core.app import tune_garbage_collector

        app = create_app({"KOPPEL_ENV": "production", "SECRET_KEY": SECRET_KEY,
                          "SQLALCHEMY_DATABASE_URI": self.app_url, "MIGRATION_DATABASE_URL": self.app_url,
                          "CROSS_TENANT_DATABASE_URL": self.cross_url, "LOG_LEVEL": "WARNING"})
        tune_garbage_collector()
        return app
