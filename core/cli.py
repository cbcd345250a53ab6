"""The ``koppel`` command: everything an operator does.

``koppel db ...`` (Flask-Migrate) is there too; ``koppel init`` is the short
way to create or upgrade the database. The commands read the configuration
of :mod:`core.config` (production unless ``KOPPEL_ENV`` says otherwise).
An expected failure (a bad setting or option, an unknown slug, refused input,
a database that cannot be used) is one line on stderr, ``Fout: ... / Error:
...``, with a non-zero exit status; never a traceback.
"""
from __future__ import annotations

import getpass
import sys
from contextlib import contextmanager

import click
from alembic.util import CommandError as AlembicError
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from core import audit
from core.auth import passwords
from core.auth import roles as R
from core.auth import tokens
from core.auth.models import ApiToken, Membership, User
from core.config import ConfigError
from core.extensions import db
from tenants import onboarding
from tenants.models import ACTIVE, SUSPENDED, Consortium, Municipality


class CommandError(click.ClickException):
    """An expected failure: one line on stderr (``Fout: ... / Error: ...``) and exit status 1 (or *exit_code*)."""

    def __init__(self, english: str, dutch: str | None = None, exit_code: int = 1):
        super().__init__(english)
        self.dutch, self.exit_code = dutch, exit_code

    def format_message(self) -> str:
        line = f"Fout: {self.dutch} / Error: {self.message}" if self.dutch else f"Fout / Error: {self.message}"
        return " ".join(line.split())

    def show(self, file=None) -> None:
        click.echo(self.format_message(), file=file, err=True)


def _one_line(error: Exception) -> CommandError:
    """The expected *error* of a command as a :class:`CommandError`."""
    if isinstance(error, ConfigError):
        return CommandError(error.english, error.dutch)
    if isinstance(error, click.UsageError):
        where = error.ctx.command_path if error.ctx else "koppel"
        return CommandError(f"{error.format_message()} (see {where} --help)", exit_code=error.exit_code)
    if isinstance(error, click.ClickException):
        return CommandError(error.format_message(), exit_code=error.exit_code)
    if isinstance(error, DBAPIError):
        # the driver's first line: no statement, no parameters, no DETAIL (it may show a key's value)
        detail = (str(error.orig).strip().splitlines() or [type(error.orig).__name__])[0]
        return CommandError(f"the database cannot be used ({detail}); check DATABASE_URL, and run koppel init",
                            f"de database is niet te gebruiken ({detail}); controleer DATABASE_URL en voer koppel init uit")
    return CommandError(f"the database migration failed: {error}",  # alembic's CommandError
                        f"de databasemigratie is mislukt: {error}")


class KoppelGroup(FlaskGroup):
    """Flask's command group, with every expected failure as one line (:class:`CommandError`)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CommandError:
            raise
        except (ConfigError, click.ClickException, DBAPIError, AlembicError) as error:
            raise _one_line(error) from None

    def list_commands(self, ctx):
        """For ``--help``: the app's commands too when the configuration allows; otherwise its error, in one line."""
        try:
            ctx.ensure_object(ScriptInfo).load_app()
        except ConfigError as error:
            _one_line(error).show()
            return sorted(click.Group.list_commands(self, ctx))
        return super().list_commands(ctx)


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@contextmanager
def _writing():
    """Commit on success; on a validation error, roll back and exit with the messages."""
    try:
        yield
        db.session.commit()
    except ValidationError as exc:
        db.session.rollback()
        raise CommandError("; ".join(_format(exc.messages).splitlines())) from None
    except Exception:
        db.session.rollback()
        raise


def _format(messages, prefix="") -> str:
    if isinstance(messages, dict):
        return "\n".join(_format(v, f"{prefix}{k}: " if not prefix else f"{prefix}{k}.") for k, v in messages.items())
    if isinstance(messages, list):
        return "\n".join(_format(m, prefix) for m in messages)
    return f"{prefix}{messages}"


#: Dutch names of what _get looks up.
_DUTCH = {"municipality": "gemeente", "consortium": "consortium"}


def _get(model, slug: str, what: str):
    found = db.session.scalar(select(model).where(model.slug == slug))
    if found is None:
        raise CommandError(f"no {what} with slug '{slug}'", f"geen {_DUTCH[what]} met slug '{slug}'")
    return found


@click.command("init")
@with_appcontext
def init_command():
    """Create the database, or upgrade it to the newest schema."""
    from flask_migrate import upgrade

    upgrade()
    click.echo("database is up to date")


def _create_user(email: str, name: str, password: str) -> User:
    email = email.strip().lower()
    errors = {}
    if "@" not in email or len(email) > 254:
        errors["email"] = ["not an e-mail address"]
    elif db.session.scalar(select(User.id).where(User.email == email)):
        errors["email"] = [f"a user {email} already exists"]
    found = passwords.problems(password, email)
    if found:
        errors["password"] = found
    if errors:
        raise ValidationError(errors)
    user = User(email=email, name=name, password_hash=passwords.hash_password(password))
    db.session.add(user)
    db.session.flush()
    return user


@click.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.password_option(help="Prompted for when not given (at least 12 characters, not a common one).")
@with_appcontext
def create_admin_command(email, name, password):
    """Create a platform administrator."""
    with _writing():
        user = _create_user(email, name, password)
        db.session.add(Membership(user=user, role=R.PLATFORM_ADMIN))
        audit.record("user.create", object_type="user", object_id=user.id, actor=_actor(), detail={"role": R.PLATFORM_ADMIN})
    click.echo(f"platform administrator {user.email} created")


@click.group("consortium")
def consortium_group():
    """Consortia (regions)."""


@consortium_group.command("add")
@click.argument("name")
@click.option("--slug", required=True, help="Lower-case name used in URLs, e.g. achterhoek.")
@with_appcontext
def consortium_add(name, slug):
    """Create a consortium."""
    with _writing():
        consortium = onboarding.add_consortium(name, slug)
        audit.record("consortium.create", object_type="consortium", object_id=consortium.id, actor=_actor())
    click.echo(f"consortium {consortium.name} ({consortium.slug}) created")


@click.group("municipality")
def municipality_group():
    """Municipalities (tenants)."""


@municipality_group.command("add")
@click.option("--consortium", "consortium_slug", required=True, help="Slug of the consortium it joins.")
@click.option("--name", required=True)
@click.option("--cbs-code", required=True, help="CBS municipality code: GM and four digits, e.g. GM0222.")
@click.option("--slug", required=True)
@click.option("--inhabitants", required=True, type=int)
@with_appcontext
def municipality_add(consortium_slug, name, cbs_code, slug, inhabitants):
    """Onboard a municipality into a consortium."""
    with _writing():
        consortium = _get(Consortium, consortium_slug, "consortium")
        m = onboarding.add_municipality(consortium, name=name, cbs_code=cbs_code, slug=slug, inhabitants=inhabitants)
        audit.record("municipality.onboard", object_type="municipality", object_id=m.id, tenant_id=m.id,
                     actor=_actor(), detail={"consortium": consortium.slug, "cbs_code": m.cbs_code})
    click.echo(f"{m.name} ({m.cbs_code}) onboarded into {consortium.name} at /{m.slug}/")


def _status_command(status: str):
    @click.argument("slug")
    @with_appcontext
    def command(slug):
        with _writing():
            m = _get(Municipality, slug, "municipality")
            old = m.status
            onboarding.set_status(m, status)
            audit.record("municipality.status", object_type="municipality", object_id=m.id, tenant_id=m.id,
                         actor=_actor(), detail={"from": old, "to": status})
        click.echo(f"{m.name} is {status}")

    return command


municipality_group.command("suspend", help="Suspend a municipality: data kept, access refused.")(_status_command(SUSPENDED))
municipality_group.command("activate", help="Reactivate a suspended municipality.")(_status_command(ACTIVE))


@click.group("user")
def user_group():
    """Users and their roles."""


@user_group.command("add")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", "role", type=click.Choice(R.ROLES), required=True)
@click.option("--municipality", "municipality_slug")
@click.option("--consortium", "consortium_slug")
@click.password_option()
@with_appcontext
def user_add(email, name, role, municipality_slug, consortium_slug, password):
    """Create a user with one role in a municipality or consortium."""
    with _writing():
        user = _create_user(email, name, password)
        grant(user, role, municipality_slug, consortium_slug)
    click.echo(f"user {user.email} created as {role}")


def grant(user: User, role: str, municipality_slug: str | None, consortium_slug: str | None) -> Membership:
    """Give *user* a role; the CheckConstraint's rules, with messages."""
    municipality = _get(Municipality, municipality_slug, "municipality") if municipality_slug else None
    consortium = _get(Consortium, consortium_slug, "consortium") if consortium_slug else None
    allowed = R.MUNICIPALITY_ROLES if municipality else R.CONSORTIUM_ROLES if consortium else R.GLOBAL_ROLES
    if (municipality and consortium) or role not in allowed:
        raise ValidationError({"role": [f"{role} needs " + (
            "a municipality" if role in (R.COORDINATOR, R.TENANT_ADMIN) else
            "a consortium" if role == R.CONSORTIUM_ADMIN else
            "a municipality or a consortium" if role == R.FUNDER else "no municipality or consortium")]})
    membership = Membership(user=user, role=role, municipality=municipality, consortium=consortium)
    db.session.add(membership)
    audit.record("membership.create", object_type="user", object_id=user.id, actor=_actor(),
                 tenant_id=municipality.id if municipality else None, detail={"role": role})
    return membership


@click.group("token")
def token_group():
    """API tokens for machines."""


@token_group.command("create")
@click.option("--name", required=True, help="What the token is for, e.g. 'export to finance'.")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(R.ROLES))
@click.option("--municipality", "municipality_slug")
@click.option("--consortium", "consortium_slug")
@click.option("--days", type=int, default=None, help="Lifetime in days (default API_TOKEN_DEFAULT_DAYS, 90).")
@click.option("--user", "user_email", help="The user the token acts for, who holds its roles there (a funder's "
                                             "token sees that funder's exports).")
@with_appcontext
def token_create(name, roles, municipality_slug, consortium_slug, days, user_email):
    """Create a token; it is printed once and cannot be shown again."""
    with _writing():
        municipality = _get(Municipality, municipality_slug, "municipality") if municipality_slug else None
        consortium = _get(Consortium, consortium_slug, "consortium") if consortium_slug else None
        user = _holder(user_email, roles, municipality, consortium) if user_email else None
        raw, token = tokens.create(name, roles, municipality=municipality, consortium=consortium, days=days,
                                   created_by=user)
        audit.record("token.create", object_type="api_token", object_id=token.id, actor=_actor(),
                     tenant_id=municipality.id if municipality else None, detail={"roles": list(roles)})
    click.echo(f"token {token.prefix}… ({token.name}), expires {token.expires_at:%Y-%m-%d}:")
    click.echo(raw)


def _holder(email: str, roles, municipality, consortium) -> User:
    """The active user *email*, who holds each of *roles* in the token's municipality or consortium."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active:
        raise ValidationError({"user": [f"no active user {email}"]})
    held = {(m.role, m.municipality_id, m.consortium_id) for m in user.memberships}
    scope = (municipality.id if municipality else None, consortium.id if consortium else None)
    missing = [role for role in roles if (role, *scope) not in held]
    if missing:
        raise ValidationError({"user": [f"{email} does not hold {', '.join(missing)} there"]})
    return user


@token_group.command("revoke")
@click.argument("prefix")
@with_appcontext
def token_revoke(prefix):
    """Revoke the token whose first characters (as printed at creation) are PREFIX."""
    with _writing():
        found = db.session.scalars(select(ApiToken).where(ApiToken.prefix.startswith(prefix[:12]))).all()
        if len(prefix) < 8 or len(found) != 1:
            raise CommandError(f"give at least 8 characters that match exactly one token ({len(found)} match)",
                               f"geef minstens 8 tekens die bij precies één token passen ({len(found)} passen)")
        tokens.revoke(found[0])
        audit.record("token.revoke", object_type="api_token", object_id=found[0].id, actor=_actor(),
                     tenant_id=found[0].municipality_id)
    click.echo(f"token {found[0].prefix}… revoked")


@click.group("tenants")
def tenants_group():
    """Declarative region files."""


@tenants_group.command("apply")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def tenants_apply(path):
    """Apply a region file (a consortium and its municipalities) idempotently."""
    with _writing():
        consortium, changes = onboarding.apply_region(onboarding.read_region_file(path))
        if changes:
            audit.record("region.apply", object_type="consortium", object_id=consortium.id, actor=_actor(),
                         detail={"file": str(path), "changes": changes})
    for change in changes or ["nothing to change"]:
        click.echo(f"{consortium.slug}: {change}")


@click.group("audit")
def audit_group():
    """The audit log."""


@audit_group.command("verify")
@click.option("--tenant", "municipality_slug", help="only this municipality's chain (slug)")
@with_appcontext
def audit_verify(municipality_slug):
    """Walk the audit log's hash chains: counts per chain when intact; else the first broken link (the event's
    id, never its content) and exit status 1."""
    from tenants.context import cross_tenant_scope, tenant_scope

    if municipality_slug:
        with cross_tenant_scope(audit.PLATFORM_SCOPE):
            municipality = _get(Municipality, municipality_slug, "municipality")
            names = {municipality.id: municipality.slug}
        with tenant_scope(municipality.id):
            reports = audit.verify(municipality.id)
    else:
        with cross_tenant_scope(audit.PLATFORM_SCOPE):
            names = dict(db.session.execute(select(Municipality.id, Municipality.slug)).all())
            reports = audit.verify(all_chains=True)
    broken = 0
    for report in reports:
        name = names.get(report.tenant_id, "platform") if report.tenant_id else "platform"
        if report.intact:
            click.echo(f"{name}: {report.events} events, intact / {report.events} gebeurtenissen, intact")
        else:
            broken += 1
            where = f"event {report.broken_at}" if report.broken_at else "its end"
            click.echo(f"{name}: BROKEN at {where}: {report.reason} ({report.events} events)")
    if broken:
        raise CommandError(f"{broken} audit chain(s) broken", f"{broken} auditketen(s) verbroken")
    if not reports:
        click.echo("no audit events / geen auditgebeurtenissen")


@click.group("keys")
def keys_group():
    """Encryption keys of special-category fields (FIELD_ENCRYPTION_KEYS, core/crypto)."""


def _tenants(slug: str | None) -> list[Municipality]:
    from tenants.context import cross_tenant_scope

    with cross_tenant_scope("platform-maintenance"):
        found = [_get(Municipality, slug, "municipality")] if slug else list(
            db.session.scalars(select(Municipality).order_by(Municipality.slug)))
        db.session.commit()
    return found


@keys_group.command("rotate")
@click.option("--tenant", "slug", help="Only this municipality (slug); default all.")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=500, show_default=True,
              help="Rows re-encrypted per transaction.")
@click.option("--rewrap-only", is_flag=True, help="Only re-wrap the data keys with the current KEK.")
@with_appcontext
def keys_rotate(slug, batch_size, rewrap_only):
    """Re-wrap the data keys with the current (first) key-encryption key, then give each municipality a new
    data key and re-encrypt its values in batches. Interrupted, run it again: it resumes."""
    from core.crypto import rotation
    from core.policy import facts
    from tenants.context import tenant_scope

    for m in _tenants(slug):
        with tenant_scope(m.id):
            rewrapped = rotation.rewrap(m.id)
            click.echo(f"{m.slug}: {rewrapped} key(s) re-wrapped")
            rows = 0
            if not rewrap_only:
                rows = rotation.rotate_data_key(m.id, batch_size, lambda line: click.echo(f"{m.slug}: {line}"))
            facts.forget(m.id)
            with _writing():
                audit.record("keys.rotate", object_type="municipality", object_id=m.id, tenant_id=m.id,
                             actor=_actor(), detail={"rewrapped": rewrapped, "rows": rows})


@keys_group.command("status")
@click.option("--tenant", "slug", help="Only this municipality (slug); default all.")
@with_appcontext
def keys_status(slug):
    """Each municipality's keys: purpose, KEK, created, retired, values encrypted."""
    from core.crypto import keystore, rotation
    from tenants.context import tenant_scope

    click.echo(f"current key-encryption key: {keystore.ring().current_id}")
    for m in _tenants(slug):
        with tenant_scope(m.id):
            for key in rotation.status(m.id):
                values = "" if key["values"] is None else f" values={key['values']}"
                click.echo(f"{m.slug}: {key['purpose']} {key['id']} kek={key['kek_id']} created={key['created_at']} "
                           f"retired={key['retired_at']}{values}")
            db.session.commit()


def _task_commands():
    from tasks.commands import beat_command, scheduled_group, worker_command

    return [worker_command, beat_command, scheduled_group]


COMMANDS = [init_command, create_admin_command, consortium_group, municipality_group, user_group, token_group,
            tenants_group, audit_group, keys_group, *_task_commands()]


def register(app) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)


def _create_cli_app(**_):
    from core.app import create_app

    return create_app()


def main() -> None:
    from core.demo import demo_command

    cli = KoppelGroup(name="koppel", create_app=_create_cli_app, add_default_commands=True,
                      help="Koppel: steungezinnen programmes for municipalities.")
    for command in (*COMMANDS, demo_command):  # on the group: listed and parsed before the app is made
        cli.add_command(command)
    cli.main(prog_name="koppel", args=sys.argv[1:])
