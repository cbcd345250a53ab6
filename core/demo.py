"""``koppel demo``: a working platform on this machine with nothing configured.

Creates (or reuses) a SQLite database under ``instance/``, applies the
shipped region files (Achterhoek and Nijmegen), creates one demo user per
role, prints them with the password, and serves the app.
"""
from __future__ import annotations

import os

import click
from werkzeug.serving import run_simple
from sqlalchemy import select

from core.auth import passwords
from core.auth import roles as R
from core.auth.models import Membership, User
from core.extensions import db
from tenants import onboarding
from tenants.context import cross_tenant_scope

#: Demo password of every demo user (printed by the command).
DEMO_PASSWORD = "koppel-demo-2026-steun"

DEMO_USERS = [
    # email, name, role, municipality slug, consortium slug
    ("admin@koppel.example", "Platform Beheer", R.PLATFORM_ADMIN, None, None),
    ("regio.achterhoek@koppel.example", "Anne Regio", R.CONSORTIUM_ADMIN, None, "achterhoek"),
    ("regio.nijmegen@koppel.example", "Nina Regio", R.CONSORTIUM_ADMIN, None, "nijmegen-regio"),
    ("beheer.doetinchem@koppel.example", "Bart Beheer", R.TENANT_ADMIN, "doetinchem", None),
    ("coordinator.doetinchem@koppel.example", "Carla Coördinator", R.COORDINATOR, "doetinchem", None),
    ("coordinator.aalten@koppel.example", "Daan Coördinator", R.COORDINATOR, "aalten", None),
    ("coordinator.nijmegen@koppel.example", "Eva Coördinator", R.COORDINATOR, "nijmegen", None),
    ("financier.achterhoek@koppel.example", "Frank Financier", R.FUNDER, None, "achterhoek"),
]


#: Generated programme data per demo municipality, written once (on an empty database).
DEMO_FAMILIES, DEMO_MATCHES = 120, 40


def seed() -> list[tuple[str, str, str]]:
    """Apply the region files, create the demo users and programme data; safe to run again."""
    from core.models import Consortium, Family, Municipality
    from core.programme import generator

    with cross_tenant_scope("platform-maintenance"):
        for path in onboarding.region_files():
            onboarding.apply_region(onboarding.read_region_file(path))
        password_hash = None
        rows = []
        for email, name, role, m_slug, c_slug in DEMO_USERS:
            user = db.session.scalar(select(User).where(User.email == email))
            if user is None:
                password_hash = password_hash or passwords.hash_password(DEMO_PASSWORD)
                user = User(email=email, name=name, password_hash=password_hash)
                db.session.add(user)
            municipality = db.session.scalar(select(Municipality).where(Municipality.slug == m_slug)) if m_slug else None
            consortium = db.session.scalar(select(Consortium).where(Consortium.slug == c_slug)) if c_slug else None
            if not any(m.role == role and m.municipality == municipality and m.consortium == consortium
                       for m in user.memberships):
                user.memberships.append(Membership(role=role, municipality=municipality, consortium=consortium))
            where = municipality.name if municipality else consortium.name if consortium else "platform"
            rows.append((email, role, where))
        db.session.commit()
        if db.session.scalar(select(Family.id).limit(1)) is None:
            ids = db.session.scalars(select(Municipality.id).order_by(Municipality.id)).all()
            generator.generate(ids, DEMO_FAMILIES, DEMO_MATCHES, seed=2026)
    return rows


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def demo_command(host, port):
    """Create or reuse the demo database and serve Koppel with demo data."""
    from flask_migrate import upgrade

    from core.app import create_app, tune_garbage_collector

    app = create_app({"KOPPEL_ENV": os.environ.get("KOPPEL_ENV", "development")})
    with app.app_context():
        upgrade()
        rows = seed()
    click.echo(f"\nKoppel demo: http://{host}:{port}/   (database: {app.config['SQLALCHEMY_DATABASE_URI']})")
    click.echo(f"Every demo user's password is: {DEMO_PASSWORD}\n")
    width = max(len(r[0]) for r in rows)
    for email, role, where in rows:
        click.echo(f"  {email:<{width}}  {role:<17} {where}")
    click.echo("\nStop with Ctrl-C.\n")
    tune_garbage_collector()
    try:
        run_simple(host, port, app, use_reloader=False, threaded=True)
    except KeyboardInterrupt:
        pass
    click.echo("Koppel demo stopped.")
