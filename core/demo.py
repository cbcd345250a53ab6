"""``koppel demo``: a working platform on this machine with nothing configured.

Creates (or reuses) a SQLite database under ``instance/``, applies the
shipped region files (Achterhoek and Nijmegen), creates one demo user per
role and programme data, and serves the app. Log lines are readable text
(JSON with ``KOPPEL_ENV=production`` or ``LOG_FORMAT=json``, see
:mod:`core.logs`); the framed banner with the address and the demo users comes
last, after the start-up lines. Nothing the demo logs names a family.
"""
from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import threading

import click
from sqlalchemy import select
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from core.auth import mfa, passwords
from core.auth import roles as R
from core.auth.models import Membership, User
from core.extensions import db
from core.types import utcnow
from tenants import onboarding
from tenants.context import cross_tenant_scope, tenant_scope

#: Demo password of every demo user (printed by the command).
DEMO_PASSWORD = "koppel-demo-2026-steun"
#: The authenticator (TOTP) key of every demo user: public, for the demo only (printed by the command).
DEMO_TOTP_SECRET = "KOPPELDEMOKOPPELDEMOKOPPELDEMO23"

DEMO_USERS = [
    # email, name, role, municipality slug, consortium slug
    ("admin@koppel.example", "Platform Beheer", R.PLATFORM_ADMIN, None, None),
    ("regio.achterhoek@koppel.example", "Anne Regio", R.CONSORTIUM_ADMIN, None, "achterhoek"),
    ("regio.nijmegen@koppel.example", "Nina Regio", R.CONSORTIUM_ADMIN, None, "nijmegen-regio"),
    ("beheer.doetinchem@koppel.example", "Bart Beheer", R.TENANT_ADMIN, "doetinchem", None),
    ("coordinator.doetinchem@koppel.example", "Carla Coördinator", R.COORDINATOR, "doetinchem", None),
    ("coordinator2.doetinchem@koppel.example", "Gijs Coördinator", R.COORDINATOR, "doetinchem", None),
    ("coordinator.aalten@koppel.example", "Daan Coördinator", R.COORDINATOR, "aalten", None),
    ("coordinator2.aalten@koppel.example", "Hanna Coördinator", R.COORDINATOR, "aalten", None),
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
            if not mfa.is_enrolled(user):
                db.session.flush()
                user.totp_secret, user.mfa_enabled_at = mfa.encrypt_secret(user.id, DEMO_TOTP_SECRET), utcnow()
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
            _approve_screened()
        _export_schedule()
    return rows


#: The demo funder's export: the Achterhoek's figures, monthly, to download (docs/exports.md).
DEMO_EXPORT = {"funder_email": "financier.achterhoek@koppel.example", "cron": "0 6 1 * *", "period": "month",
               "format": "xlsx", "channel": "download"}


def _export_schedule() -> None:
    """The demo funder's export schedule, made once through the use case, with last month's file already made
    (the schedule's next run is on the 1st of next month)."""
    from core.exports import rules, runs, schedules
    from core.types import utcnow
    from core.exports.access import Scope
    from core.exports.models import ExportSchedule
    from core.models import Consortium

    consortium_id = db.session.scalar(select(Consortium.id).where(Consortium.slug == "achterhoek"))
    if consortium_id is None or db.session.scalar(
            select(ExportSchedule.id).where(ExportSchedule.consortium_id == consortium_id).limit(1)) is not None:
        return
    schedule, _ = schedules.create(Scope(consortium_id=consortium_id), DEMO_EXPORT)
    runs.produce(schedule, rules.period_before(utcnow(), schedule.period, schedule.time_zone), actor="demo")
    db.session.commit()


def _approve_screened() -> None:
    """Four eyes in the demo: the two coordinators of a municipality approved every screened supporting family."""
    from core.models import Approval, Family, Municipality

    by_municipality: dict[str, list[int]] = {}
    for email, _name, role, m_slug, _c in DEMO_USERS:
        if role == R.COORDINATOR:
            by_municipality.setdefault(m_slug, []).append(db.session.scalar(select(User.id).where(User.email == email)))
    for slug, user_ids in by_municipality.items():
        if len(user_ids) < 2:
            continue
        municipality_id = db.session.scalar(select(Municipality.id).where(Municipality.slug == slug))
        with tenant_scope(municipality_id):
            screened = db.session.scalars(select(Family.id).where(
                Family.kind == "supporting", Family.status.in_(("available", "matched", "paused")))).all()
            db.session.add_all(Approval(family_id=f, user_id=u, note="demo") for f in screened for u in user_ids)
            db.session.commit()


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int, help="0 picks a free port.")
def demo_command(host, port):
    """Create or reuse the demo database and serve Koppel with demo data."""
    from flask_migrate import upgrade

    from core import logs
    from core.app import create_app, tune_garbage_collector

    koppel_env = os.environ.get("KOPPEL_ENV", "development")
    # Before the app exists, so that every line is in the demo's format: text, or JSON in production.
    logs.configure(os.environ.get("LOG_LEVEL", "INFO"), logs.default_format(koppel_env))
    app = create_app({"KOPPEL_ENV": koppel_env})
    with app.app_context():
        upgrade()
        rows = seed()
    server = make_server(host, port, app, threaded=True)
    if not app.config["PUBLIC_URL"]:  # the links in mails (invitations, password resets, exports) lead here
        os.environ["PUBLIC_URL"] = app.config["PUBLIC_URL"] = _url(host, server.port).rstrip("/")
    background = Background(koppel_env)
    try:
        background.start()
        server.log_startup()
        tune_garbage_collector()
        # Last, after the start-up log lines: where to go and how to log in.
        click.echo(banner(_url(host, server.port), app.config["SQLALCHEMY_DATABASE_URI"], rows))
        signal.signal(signal.SIGTERM, _interrupt)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        background.stop()
    click.echo("Koppel demo stopped.")


def _interrupt(*_):
    raise KeyboardInterrupt


class Background:
    """The demo's worker and beat: ``koppel worker`` and ``koppel beat`` in processes of their own, on the same
    configuration; their log lines are passed on to stderr, and they stop with the demo."""

    READY = {"worker": "worker ready", "beat": "beat ready"}

    #: a log line as the children write it: text ("12:01:02 INFO  ...") or JSON
    LOG_LINE = re.compile(r"^(\d\d:\d\d:\d\d [A-Z]+ |\{)")

    def __init__(self, koppel_env: str):
        # a local demo may run as root (a container); Celery's warning about that is for servers
        self.env = {**os.environ, "KOPPEL_ENV": koppel_env, "PYTHONUNBUFFERED": "1",
                    "PYTHONWARNINGS": "ignore::celery.exceptions.SecurityWarning"}
        self.processes: list[subprocess.Popen] = []
        self.ready = {name: threading.Event() for name in self.READY}

    def start(self, timeout: float = 60.0) -> None:
        command = [sys.executable, "-c", "from core.cli import main; main()"]
        for name, args in (("worker", ["worker", "--concurrency", "2"]), ("beat", ["beat"])):
            process = subprocess.Popen([*command, *args], env=self.env, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True, encoding="utf-8")
            self.processes.append(process)
            threading.Thread(target=self._relay, args=(name, process), daemon=True).start()
            # one after the other: both would create the embedded broker's queue at once (a unique-key race),
            # and the banner still comes last
            if not self.ready[name].wait(timeout):
                raise click.ClickException(f"the demo's {name} did not start within {timeout:.0f} s")

    def _relay(self, name: str, process: subprocess.Popen) -> None:
        log = logging.getLogger(f"koppel.demo.{name}")
        for line in process.stdout:
            if self.LOG_LINE.match(line):
                sys.stderr.write(line)
            elif line.strip():  # Celery's own words (a shutdown), as a log line like the rest
                log.info("%s", line.strip())
            if self.READY[name] in line:
                self.ready[name].set()

    def stop(self, timeout: float = 15.0) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _url(host: str, port: int) -> str:
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://{f'[{shown}]' if ':' in shown else shown}:{port}/"


def banner(url: str, database_url: str, rows: list[tuple[str, str, str]]) -> str:
    """The framed block printed when the demo is up: the address, the database and the demo users."""
    width = max(len(r[0]) for r in rows)
    lines = [
        f"Koppel demo is running at {url}",
        f"Database: {make_url(database_url).render_as_string(hide_password=True)}",
        "",
        f"Demo users (every one's password is {DEMO_PASSWORD}):",
        *(f"  {email:<{width}}  {role:<17} {where}" for email, role, where in rows),
        "",
        f"Then a code: add the demo-only key {DEMO_TOTP_SECRET} to an authenticator app, or run",
        f"  .venv/bin/python -c \"import pyotp; print(pyotp.TOTP('{DEMO_TOTP_SECRET}').now())\"",
        "",
        "A worker and beat run next to the web server: the dispatcher looks for due work every minute.",
        "",
        "Stop with Ctrl-C (it stops all three).",
    ]
    inner = max(len(line) for line in lines)
    rule = "+" + "-" * (inner + 4) + "+"
    return "\n".join(["", rule, *(f"|  {line:<{inner}}  |" for line in lines), rule, ""])
