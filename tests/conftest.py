"""Fixtures: the app on SQLite and on the real PostgreSQL, and a seeded world.

Every test that takes ``app`` runs twice, once per backend. PostgreSQL must
be reachable (``KOPPEL_TEST_DATABASE_URL`` as the app role and
``KOPPEL_TEST_MIGRATION_DATABASE_URL`` as the owner role, see the README);
when it is not, the tests error, they do not skip.
"""
from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path
from dataclasses import dataclass, field

import pytest
from sqlalchemy import create_engine, select, text

from core import create_app
from core.auth import mfa, passwords, tokens
from core.auth import roles as R
from core.auth.models import Membership, User
from core.extensions import db
from core.types import utcnow
from tenants import onboarding
from tenants.context import cross_tenant_scope

pytest_plugins = ["tests.log_scan", "tests.smtp", "tests.workers", "tests.webhook"]

#: Under pytest-xdist each worker (gw0, gw1, ...) has a PostgreSQL database of its own: the name given + _gw0.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")


def _own_database(url: str) -> str:
    """*url* with this worker's own database (the same URL outside xdist)."""
    if not WORKER:
        return url
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{WORKER}").render_as_string(hide_password=False)


PG_APP_URL = _own_database(os.environ.get(
    "KOPPEL_TEST_DATABASE_URL", "postgresql+psycopg://koppel_app:koppel_app@127.0.0.1:5432/koppel_test"))
PG_OWNER_URL = _own_database(os.environ.get(
    "KOPPEL_TEST_MIGRATION_DATABASE_URL", "postgresql+psycopg://koppel_owner:koppel_owner@127.0.0.1:5432/koppel_test"))
PG_CROSS_URL = os.environ.get("KOPPEL_TEST_CROSS_DATABASE_URL")  # default: the app URL as koppel_cross
PG_ADMIN_URL = os.environ.get("KOPPEL_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("KOPPEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

#: The embedded broker of this test process: a file of its own, so that xdist workers never take (or drain)
#: each other's task messages.
BROKER_URL = f"sqla+sqlite:///{Path(tempfile.gettempdir()) / f'koppel-test-broker-{WORKER or os.getpid()}.sqlite3'}"

PASSWORD = "correct horse battery staple 42"
_PASSWORD_HASH = passwords.hash_password(PASSWORD)
#: The TOTP secret of every user ``add_user`` makes (enrolled): ``totp_code`` gives a code.
TOTP_SECRET = "KOPPELTESTSECRETKOPPELTESTSECRET"


def totp_code(app, email: str) -> str:
    """A valid TOTP code for the fixture user *email* now; the user's last used step is forgotten first, so a
    test may log the same user in more than once in 30 seconds (the once-per-step rule is tested itself)."""
    import pyotp
    from sqlalchemy import update

    with app.app_context():
        db.session.execute(update(User).where(User.email == email).values(totp_last_step=None))
        db.session.commit()
    return pyotp.TOTP(TOTP_SECRET).now()


def cross_url(app_url: str) -> str:
    """The cross-tenant role's URL for the database of *app_url*: ``KOPPEL_TEST_CROSS_DATABASE_URL`` (with the
    database of *app_url*), else *app_url* with the user and password ``koppel_cross``."""
    from sqlalchemy.engine import make_url

    app = make_url(app_url)
    if PG_CROSS_URL:
        return make_url(PG_CROSS_URL).set(database=app.database).render_as_string(hide_password=False)
    return app.set(username="koppel_cross", password="koppel_cross").render_as_string(hide_password=False)


def _ensure_postgres_roles() -> None:
    """Create the three roles and the test database when a superuser can (fresh machines)."""
    from sqlalchemy.engine import make_url

    owner, app_role, cross = make_url(PG_OWNER_URL), make_url(PG_APP_URL), make_url(cross_url(PG_APP_URL))
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for url in (owner, app_role, cross):
                if not conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": url.username}).scalar():
                    password = (url.password or "").replace("'", "''")
                    conn.execute(text(f"CREATE ROLE \"{url.username}\" LOGIN PASSWORD '{password}'"))
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": owner.database}).scalar():
                conn.execute(text(f'CREATE DATABASE "{owner.database}" OWNER "{owner.username}"'))
    except Exception:  # noqa: BLE001 - no superuser here: the roles must exist already (README)
        pass
    finally:
        engine.dispose()


def _reset_postgres() -> None:
    _ensure_postgres_roles()
    engine = create_engine(PG_OWNER_URL)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    except Exception as exc:  # noqa: BLE001
        raise RuntimeError(f"PostgreSQL is not reachable as the owner role at {PG_OWNER_URL}: {exc}") from exc
    finally:
        engine.dispose()


def make_app(backend: str, tmp_path_factory, **overrides):
    if "SQLALCHEMY_DATABASE_URI" in overrides:
        urls = {}
    elif backend == "postgresql":
        urls = {"SQLALCHEMY_DATABASE_URI": PG_APP_URL, "MIGRATION_DATABASE_URL": PG_OWNER_URL}
    else:
        path = tmp_path_factory.mktemp("sqlite") / "koppel.sqlite3"
        urls = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"}
    uri = overrides.get("SQLALCHEMY_DATABASE_URI", urls.get("SQLALCHEMY_DATABASE_URI", ""))
    if uri.startswith("postgresql") and "CROSS_TENANT_DATABASE_URL" not in overrides:
        urls["CROSS_TENANT_DATABASE_URL"] = cross_url(uri)
    settings = {"KOPPEL_ENV": "testing", "WTF_CSRF_ENABLED": False, "CELERY_BROKER_URL": BROKER_URL, "REGISTRATION_LIMIT_PER_IP": "10000 per hour",
                "AUTH_CACHE_SECONDS": 0,
                "LOGIN_LIMIT_PER_IP": "10000 per hour", "LOGIN_LIMIT_PER_ACCOUNT_IP": "10000 per hour",
                "LOGIN_LIMIT_PER_ACCOUNT": "10000 per hour"}
    return create_app({**settings, **urls, **overrides})


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request):
    return request.param


@pytest.fixture(scope="session")
def _migrated_app(backend, tmp_path_factory):
    from flask_migrate import upgrade

    if backend == "postgresql":
        _reset_postgres()
    app = make_app(backend, tmp_path_factory)
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


def _owner_engine(app):
    return create_engine(app.config["MIGRATION_DATABASE_URL"])


def _truncate(app) -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    engine = _owner_engine(app)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()


@pytest.fixture
def app(_migrated_app):
    """The app on a clean database of the current backend."""
    from core.policy import facts

    with _migrated_app.app_context():
        _truncate(_migrated_app)
    facts.forget()  # the ids and versions start again: a family's cached facts would be another's
    yield _migrated_app


@pytest.fixture
def owner_engine(app):
    """A connection pool as the table owner (for checks the app role may not do)."""
    engine = _owner_engine(app)
    yield engine
    engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@dataclass
class World:
    """Two consortia: Achterhoek (Aalten, Berkelland) and Nijmegen (Druten); a user and token per role."""

    ids: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)  # role -> email
    tokens: dict = field(default_factory=dict)  # name -> raw token
    records: dict = field(default_factory=dict)  # municipality slug -> ids of one record of each kind

    def login(self, client, email: str, password: str = PASSWORD):
        """Log in with password and TOTP code; the last response (the code step's, or the password's)."""
        response = client.post("/login", data={"email": email, "password": password})
        if response.status_code == 302 and response.headers["Location"].endswith("/login/code"):
            response = client.post("/login/code", data={"code": totp_code(client.application, email)})
        return response

    def bearer(self, name: str) -> dict:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


def add_user(email: str, role: str, municipality=None, consortium=None) -> User:
    user = User(email=email, name=email.split("@")[0], password_hash=_PASSWORD_HASH)
    user.memberships.append(Membership(role=role, municipality=municipality, consortium=consortium))
    db.session.add(user)
    db.session.flush()  # the TOTP secret is encrypted bound to the user's id
    user.totp_secret, user.mfa_enabled_at = mfa.encrypt_secret(user.id, TOTP_SECRET), utcnow()
    return user


def _build_world(app) -> World:
    w = World()
    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        achterhoek = onboarding.add_consortium("Achterhoek", "achterhoek")
        nijmegen = onboarding.add_consortium("Nijmegen", "nijmegen-regio")
        aalten = onboarding.add_municipality(achterhoek, name="Aalten", cbs_code="GM0197", slug="aalten", inhabitants=27500)
        berkelland = onboarding.add_municipality(achterhoek, name="Berkelland", cbs_code="GM1859", slug="berkelland", inhabitants=44600)
        druten = onboarding.add_municipality(nijmegen, name="Druten", cbs_code="GM0225", slug="druten", inhabitants=19900)
        grants = {
            R.COORDINATOR: {"municipality": aalten},
            R.TENANT_ADMIN: {"municipality": aalten},
            R.FUNDER: {"municipality": aalten},
            R.CONSORTIUM_ADMIN: {"consortium": achterhoek},
            R.PLATFORM_ADMIN: {},
        }
        for role, scope in grants.items():
            email = f"{role.replace('_', '-')}@aalten.example"
            user = add_user(email, role, **scope)
            w.users[role] = email
            db.session.flush()  # the funder's token acts for its user: a funder sees its own exports only
            w.tokens[role], _ = tokens.create(f"{role} token", [role], **scope,
                                              created_by=user if role == R.FUNDER else None)
        w.tokens["druten"], _ = tokens.create("druten token", [R.COORDINATOR, R.TENANT_ADMIN], municipality=druten)
        # two coordinators' own tokens: what a person does (an override, an approval) needs a person
        for name, email in (("person", "anna@aalten.example"), ("person2", "bart@aalten.example")):
            user = add_user(email, R.COORDINATOR, municipality=aalten)
            db.session.flush()
            w.users[name] = email
            w.tokens[name], _ = tokens.create(f"{name} token", [R.COORDINATOR], municipality=aalten, created_by=user)
        db.session.commit()
        w.ids = {"achterhoek": achterhoek.id, "nijmegen": nijmegen.id, "aalten": aalten.id,
                 "berkelland": berkelland.id, "druten": druten.id}
        w.records = {slug: populate(w.ids[slug]) for slug in ("aalten", "berkelland", "druten")}
    return w


#: database URL -> (the world built once in this process, its rows and sequences)
_WORLDS: dict[str, tuple[World, dict]] = {}


@pytest.fixture
def world(app) -> World:
    """Two consortia, three municipalities, a user and token per role and one programme record of each kind.

    Built through the services once per database and process, then restored row by row (as the owner, with the
    sequences where they were) for every test that asks for it: the same ids, tokens and rows as a new build, at a
    fraction of its cost."""
    key = app.config["SQLALCHEMY_DATABASE_URI"]
    if key in _WORLDS:
        _restore(app, _WORLDS[key][1])
    else:
        built = _build_world(app)
        _WORLDS[key] = (built, _snapshot(app))
    return copy.deepcopy(_WORLDS[key][0])


def _snapshot(app) -> dict:
    """Every row of every table, as the driver returns it, and the sequences' values (read as the owner)."""
    engine = _owner_engine(app)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        rows, columns = {}, {}
        for table in db.metadata.sorted_tables:
            cursor.execute(f'SELECT * FROM "{table.name}"')
            columns[table.name] = [d[0] for d in cursor.description]
            rows[table.name] = cursor.fetchall()
        sequences, json_columns = [], set()
        if engine.dialect.name == "postgresql":
            cursor.execute("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' "
                           "AND last_value IS NOT NULL")
            sequences = cursor.fetchall()
            cursor.execute("SELECT table_name, column_name FROM information_schema.columns "
                           "WHERE table_schema = 'public' AND data_type IN ('json', 'jsonb')")
            json_columns = set(cursor.fetchall())
        raw.rollback()
    finally:
        raw.close()
        engine.dispose()
    return {"rows": rows, "columns": columns, "sequences": sequences, "json": json_columns}


def _restore(app, snapshot: dict) -> None:
    """Put the rows and sequences of *snapshot* back into the (emptied) database, as the owner."""
    from psycopg.types.json import Json

    engine = _owner_engine(app)
    postgres = engine.dialect.name == "postgresql"
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for table in db.metadata.sorted_tables:
            rows, names = snapshot["rows"][table.name], snapshot["columns"][table.name]
            if not rows:
                continue
            marks = ", ".join(["%s" if postgres else "?"] * len(names))
            if postgres:
                wrap = [(table.name, name) in snapshot["json"] for name in names]
                rows = [tuple(Json(v) if w and v is not None else v for v, w in zip(row, wrap)) for row in rows]
            quoted = ", ".join(f'"{name}"' for name in names)
            cursor.executemany(f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})', rows)
        for name, value in snapshot["sequences"]:
            cursor.execute("SELECT setval(%s, %s, true)", (name, value))
        raw.commit()
    finally:
        raw.close()
        engine.dispose()


#: A policy that lets families through on little: every requesting family is eligible, a supporting family's
#: adults need a VOG. Tests that propose matches through the use cases enable it (``enable_policy``).
OPEN_POLICY = {"eligibility.no_conditions": {}, "screening.vog": {}}


def enable_policy(tenant_id: int, plugins: dict | None = None) -> None:
    """Make *plugins* (default: OPEN_POLICY) the municipality's policy, as a new version (committed)."""
    from core.policy import service

    service.change(tenant_id, OPEN_POLICY if plugins is None else plugins, note="tests")
    db.session.commit()


def populate(tenant_id: int, today=None) -> dict:
    """One of every programme record in *tenant_id*, made through the services; returns their ids."""
    import hashlib
    from datetime import date, timedelta

    from core.messages import Label, Message
    from core.programme import consent, contacts, decisions, families, matches, targets
    from core.programme.models import DuplicateFlag, Evaluation
    from core.scheduling.models import ImportJob, Notification, ScheduledItem
    from core.types import utcnow
    from tenants.context import tenant_scope
    from tenants.models import Municipality

    today = today or date.today()
    start = today - timedelta(days=200)
    with tenant_scope(tenant_id):
        requesting = families.create({
            "kind": "requesting", "display_name": "Familie Jansen", "status": "waiting", "postcode": "7001 AB",
            "house_number": "1", "district_code": "WK022201", "registered_on": start, "problem_areas": ["overload"],
            "referral_source": "cjg", "referrer_email": "cjg@example.org",
            "members": [{"role": "adult", "first_name": "Anna", "last_name": "Jansen", "date_of_birth": date(1990, 1, 2)},
                        {"role": "child", "first_name": "Bo", "last_name": "Jansen", "date_of_birth": date(2018, 3, 4)},
                        {"role": "child", "first_name": "Cas", "last_name": "Jansen", "date_of_birth": date(2020, 5, 6)},
                        {"role": "child", "first_name": "Dirk", "last_name": "Jansen", "date_of_birth": date(2021, 7, 8)}],
        })
        supporting = families.create({
            "kind": "supporting", "display_name": "Familie de Vries", "status": "available", "capacity_children": 3,
            "capacity_age_min": 0, "capacity_age_max": 12, "registered_on": start,
            "members": [{"role": "adult", "first_name": "Els", "last_name": "de Vries", "vog_issued_on": start}],
        })
        families.create({"kind": "requesting", "display_name": "Familie Jansen-Bakker", "postcode": "7001AB",
                         "house_number": "1", "registered_on": start})  # a possible duplicate of the first
        for family in (requesting, supporting):
            for purpose in ("processing", "share_with_referrer", "evaluation_contact"):
                consent.give(family, purpose, "2026-01", start)
        decision = decisions.record(requesting, "eligibility", "eligible",
                                    [{"rule": "overload", "result": "met", "facts": {}, "explanation": "overloaded"}], 1)
        match = matches.propose({"requesting_family_id": requesting.id, "supporting_family_id": supporting.id,
                                 "proposed_on": start, "children": 1, "support_kinds": [], "note": None})
        matches.transition(match, "introduction", start + timedelta(days=7))
        matches.transition(match, "trial", start + timedelta(days=14))
        contacts.log({"kind": "support_session", "occurred_on": start + timedelta(days=20), "duration_minutes": 180,
                      "note": None}, match_id=match.id)
        targets.set_target(today.year, {"new_matches_min": 10, "new_matches_max": 15, "note": None})
        # a done scheduled item of a kind no dispatcher looks for (the scheduled-work routes need one)
        db.session.add(ScheduledItem(kind="example", key=f"example:{match.id}", subject_id=match.id, state="done",
                                     attempts=1, due_at=utcnow(), finished_at=utcnow()))
        # a notification of the first user, read and mailed already (the notification routes need one)
        anyone = db.session.scalar(select(User.id).order_by(User.id).limit(1))
        if anyone is not None:
            db.session.add(Notification(user_id=anyone, kind="example", key=f"example:{match.id}",
                                        message=Message("Evaluation due: %(kind)s of match %(match)s, on %(date)s.", {
                                            "kind": Label("evaluation_kind", "periodic"), "match": match.id,
                                            "date": today}, code="evaluation_due").as_dict(),
                                        read_at=utcnow(), mailed_at=utcnow()))
        # an empty destruction list (the retention routes need one)
        from core.programme.retention import DestructionList

        db.session.add(DestructionList())
        # an import job, done (the import routes need one)
        db.session.add(ImportJob(dry_run=True, state="done", source="csv", file_names=["families.csv"],
                                 finished_at=utcnow()))
        # three export schedules of a funder (inactive: no dispatcher runs them) and a stored run (the export routes)
        funder = db.session.scalar(select(Membership.user_id).where(
            Membership.role == R.FUNDER, Membership.municipality_id == tenant_id).order_by(Membership.id)) or anyone
        if funder is not None:
            from core.exports.models import ExportDelivery, ExportRun, ExportSchedule

            slug = db.session.scalar(select(Municipality.slug).where(Municipality.id == tenant_id))
            schedules = [ExportSchedule(funder_id=funder, cron=f"0 {hour} 1 * *", period="month", format="json",
                                        channel="download", active=False) for hour in (6, 7, 8)]
            db.session.add_all(schedules)
            db.session.flush()
            month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
            content = b'{"example": true}'
            run = ExportRun(schedule_id=schedules[0].id, funder_id=funder, period="month", period_start=month,
                            period_end=today.replace(day=1) - timedelta(days=1), status="done", format="json",
                            language="nl", channel="download", media_type="application/json", file_name=f"koppel-{slug}-{month:%Y-%m}.json",
                            size=len(content), sha256=hashlib.sha256(content).hexdigest(), content=content)
            db.session.add(run)
            db.session.flush()
            db.session.add(ExportDelivery(run_id=run.id, channel="download", outcome="delivered"))
        db.session.commit()
        flag = db.session.scalar(select(DuplicateFlag.id))
        evaluation = db.session.scalar(select(Evaluation.id).where(Evaluation.match_id == match.id))
        return {"family": requesting.id, "supporting": supporting.id, "match": match.id, "decision": decision.id,
                "duplicate_flag": flag, "evaluation": evaluation}


def if_match(client, path: str, headers: dict) -> dict:
    """*headers* with ``If-Match`` for a change at *path* under ``/api/v1/<m>/families/<id>`` or ``.../matches/<id>``:
    the ETag of that family or match, read now, as a client does (unless *headers* has one already)."""
    parts = path.split("?")[0].split("/")
    if "If-Match" in headers or len(parts) < 6 or parts[4] not in ("families", "matches"):
        return headers
    tag = client.get("/".join(parts[:6]), headers=headers).headers.get("ETag")
    return {**headers, "If-Match": tag} if tag else headers


def pytest_terminal_summary(terminalreporter):
    """Print what tests recorded as ``summary`` (``record_property``), e.g. a state machine's example counts;
    xdist relays a worker's properties with its reports, where printed output is lost."""
    lines = [value for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", [])
             if report.when == "call" for name, value in report.user_properties if name == "summary"]
    if lines:
        terminalreporter.section("summaries")
        for line in lines:
            terminalreporter.write_line(line)


#: The files that take longest, in this order, run first: with ``--dist loadfile`` a worker takes whole files in
#: collection order, and a long one left for last keeps one worker busy alone at the end. Browser tests follow.
LONGEST_FIRST = ("test_hostile_input.py", "test_openapi.py", "test_demo.py", "test_cli.py", "test_workers.py",
                 "test_export_delivery.py", "test_access_matrix.py")


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        name = item.path.name
        if name in LONGEST_FIRST:
            return LONGEST_FIRST.index(name)
        return len(LONGEST_FIRST) + (0 if name.endswith("_browser.py") else 1)

    items.sort(key=rank)  # stable: each file's own order stays
