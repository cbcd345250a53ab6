"""Use cases of export schedules: create, change (and deactivate), delete, and list who receives what.

Who may call them is the views' access check (a municipality's schedules: its
tenant admin and consortium admin; a consortium's: the consortium admin);
the rules are here:

* the funder must be an active user holding the ``funder`` role covering the
  scope (on the municipality or its consortium; on the consortium), else 422
  naming ``funder_email``, whether or not such a user exists;
* the cron expression fires at most once an hour (``core.exports.rules``);
  the time zone is an IANA name; a webhook's address is https://;
* a funder's schedules of one scope, and of scopes that share figures (a
  municipality and its consortium), all cover the same kind of period, so
  that no export lies within another and differencing two of them reveals
  nothing; otherwise 422 naming ``period``;
* a webhook gets a random secret, shown in the answer that made it and
  never again (``rotate_webhook_secret`` makes a new one).

Every change is audited (ids and settings, no person's name or address).
"""
from __future__ import annotations

from marshmallow import ValidationError
from sqlalchemy import exists, func, select
from sqlalchemy import update as sql_update

from core import audit
from core.auth.models import Membership, User
from core.errors import NotFound
from core.exports import rules, signing
from core.exports.access import CONSORTIUM_SCOPE, Scope, Viewer
from core.exports.models import DEFAULT_ZONE, WEBHOOK, ExportRun, ExportSchedule
from core.extensions import db
from core.messages import Message
from tenants.context import cross_tenant_scope

#: What a schedule's settings are, beside its scope and funder.
SETTINGS = ("cron", "time_zone", "period", "format", "language", "channel", "webhook_url", "active")


def listing(scope: Scope, viewer: Viewer):
    """The SELECT of the schedules *viewer* sees in *scope* (who receives what), for a page; run it in
    ``scope.entered()``."""
    return select(ExportSchedule).where(scope.rows(ExportSchedule), viewer.sees(ExportSchedule))


def get(scope: Scope, schedule_id: int, viewer: Viewer) -> ExportSchedule:
    """One schedule of *scope* that *viewer* sees; 404 otherwise (another funder's, another scope's)."""
    found = db.session.scalar(listing(scope, viewer).where(ExportSchedule.id == schedule_id))
    if found is None:
        raise NotFound(Message("No export schedule %(id)s.", {"id": schedule_id}, code="not_found"))
    return found


def funder_by_email(scope: Scope, email: str) -> User | None:
    """The active user with this e-mail address who holds the funder role covering *scope*, if any."""
    return db.session.scalar(select(User).where(
        func.lower(User.email) == email.strip().lower(), User.active.is_(True),
        exists(select(Membership.id).where(Membership.user_id == User.id, scope.funder_grant()))))


def create(scope: Scope, data: dict, *, created_by: int | None = None) -> tuple[ExportSchedule, str | None]:
    """A new schedule in *scope* for the funder ``data["funder_email"]``; returns it and, for a webhook, its
    secret (shown this once). The caller commits."""
    values = {"time_zone": DEFAULT_ZONE, "language": "nl", "active": True, "webhook_url": None,
              **{k: data[k] for k in SETTINGS if k in data}}
    errors = _problems(values)
    funder = funder_by_email(scope, data.get("funder_email") or "")
    if funder is None:
        errors["funder_email"] = [Message("No active user with this e-mail address holds the funder role for this "
                                          "municipality or consortium.", code="not_a_funder")]
    if errors:
        raise ValidationError(errors)
    _check_period(funder.id, scope, values["period"])
    values["cron"] = rules.normal_cron(values["cron"])
    if values["channel"] != WEBHOOK:  # an address and secret are kept for a webhook only
        values["webhook_url"] = None
    secret = signing.new_secret() if values["channel"] == WEBHOOK else None
    schedule = ExportSchedule(tenant_id=scope.tenant_id, consortium_id=scope.consortium_id, funder_id=funder.id,
                              webhook_secret=secret, created_by_id=created_by, **values)
    with scope.entered():
        db.session.add(schedule)
        db.session.flush()
        audit.record("export_schedule.create", object_type="export_schedule", object_id=schedule.id,
                     tenant_id=scope.tenant_id, detail=_detail(schedule))
    return schedule, secret


def update(schedule: ExportSchedule, data: dict) -> tuple[ExportSchedule, str | None]:
    """Change the settings in *data* (``active: false`` deactivates: no more runs); returns the schedule and a
    new webhook secret when one was made (the channel became ``webhook``, or ``rotate_webhook_secret``).
    The caller commits."""
    scope = Scope.of(schedule)
    changes = {k: data[k] for k in SETTINGS if k in data and data[k] != getattr(schedule, k)}
    values = {k: getattr(schedule, k) for k in SETTINGS} | changes
    errors = _problems(values, only=set(changes) | ({"webhook_url"} if "channel" in changes else set()))
    if errors:
        raise ValidationError(errors)
    if "period" in changes:
        _check_period(schedule.funder_id, scope, values["period"], exclude=schedule.id)
    if "cron" in changes:
        changes["cron"] = rules.normal_cron(changes["cron"])
    secret = None
    if values["channel"] != WEBHOOK:  # an address and secret are kept for a webhook only
        if schedule.webhook_url is not None or "webhook_url" in changes:
            changes["webhook_url"] = None
        schedule.webhook_secret = None
    elif schedule.webhook_secret is None or data.get("rotate_webhook_secret"):
        secret = schedule.webhook_secret = signing.new_secret()
    with scope.entered():
        for name, value in changes.items():
            setattr(schedule, name, value)
        db.session.flush()
        detail = _detail(schedule) | {"changed": sorted(changes) + (["webhook_secret"] if secret else [])}
        audit.record("export_schedule.update", object_type="export_schedule", object_id=schedule.id,
                     tenant_id=scope.tenant_id, detail=detail)
    return schedule, secret


def delete(schedule: ExportSchedule) -> None:
    """Delete the schedule; its runs stay (the funder keeps what it received), no longer tied to it. The
    caller commits."""
    scope = Scope.of(schedule)
    with scope.entered():
        audit.record("export_schedule.delete", object_type="export_schedule", object_id=schedule.id,
                     tenant_id=scope.tenant_id, detail=_detail(schedule))
        db.session.execute(sql_update(ExportRun).where(ExportRun.schedule_id == schedule.id).values(schedule_id=None)
                           .execution_options(synchronize_session="fetch"))  # also where no foreign key acts (SQLite)
        db.session.delete(schedule)
        db.session.flush()


def _detail(schedule: ExportSchedule) -> dict:
    """What the audit log keeps of a schedule: ids and settings, never an address."""
    return {"funder_user_id": schedule.funder_id, "consortium_id": schedule.consortium_id,
            "period": schedule.period, "format": schedule.format, "channel": schedule.channel,
            "cron": schedule.cron, "time_zone": schedule.time_zone, "active": schedule.active}


def _problems(values: dict, only: set | None = None) -> dict:
    """The settings that break a rule, by field (*only*: just these fields)."""
    checks = {
        "cron": lambda: rules.check_cron(values["cron"]),
        "time_zone": lambda: rules.check_zone(values["time_zone"]),
        "webhook_url": lambda: _webhook_problems(values),
    }
    errors = {}
    for name, check in checks.items():
        if only is None or name in only:
            found = check()
            if found:
                errors[name] = found
    return errors


def _webhook_problems(values: dict) -> list[Message]:
    if values["channel"] != WEBHOOK:
        return []
    if not values.get("webhook_url"):
        return [Message("A webhook needs the receiver's https:// address.", code="webhook_url_missing")]
    return rules.check_webhook_url(values["webhook_url"])


def _check_period(funder_id: int, scope: Scope, period: str, exclude: int | None = None) -> None:
    """422 naming ``period`` when another schedule of the funder, of this scope or one that shares figures
    with it, covers another kind of period."""
    with cross_tenant_scope(CONSORTIUM_SCOPE):
        other = db.session.scalar(
            select(ExportSchedule.period)
            .where(ExportSchedule.funder_id == funder_id, scope.overlapping(ExportSchedule),
                   ExportSchedule.period != period, ExportSchedule.id != (exclude or 0)).limit(1))
    if other is not None:
        raise ValidationError({"period": [Message(
            "This funder's other export schedules of this municipality or consortium (or its region) cover a "
            "period of kind \"%(other)s\"; all of them must cover the same kind of period, so that no export "
            "lies within another.", {"other": other}, code="period_mismatch")]})
