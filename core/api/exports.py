"""Funder exports: schedules (who receives what, when, how), the stored runs and their files, regeneration.

For a municipality under ``/api/v1/<municipality>/`` and for a consortium under
``/api/v1/consortia/<consortium>/`` (the consortium's own schedules and runs,
and its members'). Tenant admins and consortium admins see and manage all of
their scope; a funder sees only its own schedules and runs (another's id is
404), and downloads only its own files. Every download and every generation
is audited. The rules are in :mod:`core.exports`.
"""
from __future__ import annotations

import base64

from flask import Response, g
from marshmallow import Schema, fields, validate

from core.api.common import Blueprint, PageQuerySchema, page, page_of
from core.auth import roles as R
from core.auth.access import CONSORTIUM, current_principal, requires
from core.exports import delivery, rules, runs, schedules
from core.exports.access import CONSORTIUM_SCOPE, Scope, Viewer
from core.exports.models import CHANNELS, FORMATS, LANGUAGES, OUTCOMES, PERIODS, RUN_STATES, ExportRun, ExportSchedule
from core.extensions import db
from core.scheduling import status
from core.types import utcnow
from tenants import context

blp = Blueprint("exports", __name__, url_prefix="/api/v1", description="Funder exports: schedules, runs and files")

ADMINS = (R.TENANT_ADMIN, R.CONSORTIUM_ADMIN)
READERS = (*ADMINS, R.FUNDER)
MAX_ID = 2**31 - 1
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE = {"type": "string", "format": "binary"}
FILE_HEADERS = {
    "ETag": {"description": "the file's SHA-256 (hex), quoted", "schema": {"type": "string"}},
    "Digest": {"description": "sha-256=<the SHA-256 in base64> (RFC 3230)", "schema": {"type": "string"}},
    "Content-Disposition": {"description": "attachment, with the file's name", "schema": {"type": "string"}},
}


# ----------------------------------------------------------------------------- schemas

def _scope_of(row) -> dict:
    if row.tenant_id is not None:
        return {"kind": "municipality", "slug": row.municipality.slug, "name": row.municipality.name}
    return {"kind": "consortium", "slug": row.consortium.slug, "name": row.consortium.name}


class ScopeSchema(Schema):
    kind = fields.String(metadata={"enum": ["municipality", "consortium"]})
    slug = fields.String()
    name = fields.String()


class FunderSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()


class ScheduleSchema(Schema):
    id = fields.Integer()
    scope = fields.Function(_scope_of, metadata={"description": "the municipality or consortium exported"})
    funder = fields.Nested(FunderSchema, metadata={"description": "who receives the exports"})
    cron = fields.String(metadata={"description": "when it runs: minute, hour, day, month, weekday"})
    time_zone = fields.String(metadata={"description": "the zone the cron expression is read in (IANA)"})
    period = fields.String(metadata={"enum": list(PERIODS),
                                     "description": "each run covers the last completed one before it runs"})
    format = fields.String(metadata={"enum": list(FORMATS)})
    language = fields.String(metadata={"enum": list(LANGUAGES)})
    channel = fields.String(metadata={"enum": list(CHANNELS)})
    webhook_url = fields.String(allow_none=True)
    webhook_secret = fields.Function(lambda s: getattr(s, "shown_secret", None), allow_none=True, metadata={
        "description": "the webhook's signing secret: only in the answer that made it, never again"})
    active = fields.Boolean()
    next_run_at = fields.Function(lambda s: rules.next_fire(s.cron, s.time_zone, utcnow()).isoformat()
                                  if s.active else None, allow_none=True,
                                  metadata={"description": "when it next runs (UTC); null when inactive",
                                            "format": "date-time"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ScheduleInSchema(Schema):
    funder_email = fields.Email(required=True, validate=validate.Length(max=254), metadata={
        "description": "an active user holding the funder role for this municipality (or its consortium) or "
                       "consortium"})
    cron = fields.String(required=True, validate=validate.Length(min=1, max=rules.CRON_LENGTH),
                         metadata={"description": "at most once an hour, e.g. \"0 6 1 * *\""})
    time_zone = fields.String(validate=validate.Length(min=1, max=64),
                              metadata={"description": "IANA name; default Europe/Amsterdam"})
    period = fields.String(required=True, validate=validate.OneOf(PERIODS))
    format = fields.String(required=True, validate=validate.OneOf(FORMATS))
    language = fields.String(validate=validate.OneOf(LANGUAGES), metadata={"description": "default nl"})
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    webhook_url = fields.String(allow_none=True, validate=validate.Length(max=rules.URL_LENGTH),
                                metadata={"description": "https:// only; required for the webhook channel"})
    active = fields.Boolean()


class ScheduleChangeSchema(Schema):
    cron = fields.String(validate=validate.Length(min=1, max=rules.CRON_LENGTH))
    time_zone = fields.String(validate=validate.Length(min=1, max=64))
    period = fields.String(validate=validate.OneOf(PERIODS))
    format = fields.String(validate=validate.OneOf(FORMATS))
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    webhook_url = fields.String(allow_none=True, validate=validate.Length(max=rules.URL_LENGTH))
    active = fields.Boolean(metadata={"description": "false: no more runs (deactivated)"})
    rotate_webhook_secret = fields.Boolean(metadata={"description": "true: a new secret, shown in this answer"})


class DeliverySchema(Schema):
    channel = fields.String(metadata={"enum": list(CHANNELS)})
    at = fields.DateTime()
    outcome = fields.String(metadata={"enum": list(OUTCOMES)})
    status_code = fields.Integer(allow_none=True, metadata={"description": "the receiver's HTTP status, or the "
                                                                          "mail server's reply code"})
    error = fields.String(allow_none=True, metadata={"description": "why it failed: a reason, no personal data"})


class RunFunderSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class RunSchema(Schema):
    id = fields.Integer()
    schedule_id = fields.Integer(allow_none=True, metadata={"description": "null once the schedule was deleted"})
    scope = fields.Function(_scope_of)
    funder = fields.Nested(RunFunderSchema)
    period = fields.String(metadata={"enum": list(PERIODS)})
    period_start = fields.Date()
    period_end = fields.Date()
    version = fields.Integer(metadata={"description": "1, then 2 after a regeneration..."})
    status = fields.String(metadata={"enum": list(RUN_STATES),
                                     "description": "pending: stored, waiting to be delivered"})
    format = fields.String()
    language = fields.String()
    media_type = fields.String()
    file_name = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    created_at = fields.DateTime()
    superseded_at = fields.DateTime(allow_none=True)
    superseded_by_id = fields.Integer(allow_none=True)
    deliveries = fields.List(fields.Nested(DeliverySchema), metadata={"description": "every attempt, oldest first"})


class RunQuerySchema(PageQuerySchema):
    schedule_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID), metadata={"description": "one schedule's"})


# ----------------------------------------------------------------------------- who asks

def _in_municipality() -> tuple[Scope, Viewer]:
    """The municipality of the URL (its tenant context is entered by the access check)."""
    return Scope(tenant_id=g.tenant.id), Viewer(current_principal().user_id, bool(g.roles & set(ADMINS)))


def _in_consortium() -> tuple[Scope, Viewer]:
    """The consortium of the URL; its rows are read in the consortium-aggregation scope for the rest of the
    request (left at teardown, as a tenant's context is)."""
    principal = current_principal()
    g.tenant_token = context.enter(context.Scope(cross_tenant=CONSORTIUM_SCOPE))
    admin = R.CONSORTIUM_ADMIN in principal.roles_for_consortium(g.consortium)
    return Scope(consortium_id=g.consortium.id), Viewer(principal.user_id, admin)


def file_response(run: ExportRun, viewer: Viewer) -> Response:
    """The stored file as an attachment, byte for byte as made, with its checksum; the download is audited
    (and committed). The funder portal's downloads answer the same."""
    found = runs.download(run, viewer)
    db.session.commit()
    digest = base64.b64encode(bytes.fromhex(found.sha256)).decode()
    return Response(found.content, content_type=found.media_type, headers={
        "Content-Disposition": f'attachment; filename="{found.file_name}"', "ETag": f'"{found.sha256}"',
        "Digest": f"sha-256={digest}"})


def _regenerate(scope: Scope, viewer: Viewer, run_id: int) -> ExportRun:
    new = runs.regenerate(runs.get(scope, run_id, viewer))
    item = delivery.plan(new, send_now=True)
    db.session.commit()
    if item is not None:
        status.send(status.ticket(item))
    return new


def _create(scope: Scope, data: dict) -> ExportSchedule:
    schedule, secret = schedules.create(scope, data, created_by=current_principal().user_id)
    db.session.commit()
    schedule.shown_secret = secret
    return schedule


def _update(scope: Scope, viewer: Viewer, schedule_id: int, data: dict) -> ExportSchedule:
    schedule, secret = schedules.update(schedules.get(scope, schedule_id, viewer), data)
    db.session.commit()
    schedule.shown_secret = secret
    return schedule


def _delete(scope: Scope, viewer: Viewer, schedule_id: int) -> None:
    schedules.delete(schedules.get(scope, schedule_id, viewer))
    db.session.commit()


# ----------------------------------------------------------------------------- a municipality's

@blp.get("/<municipality>/export-schedules")
@requires(*READERS)
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, page_of(ScheduleSchema))
def list_schedules(query):
    """Who receives what: the municipality's export schedules (a funder: its own), newest first."""
    scope, viewer = _in_municipality()
    return page(schedules.listing(scope, viewer), query, ExportSchedule.id, descending=True)


@blp.post("/<municipality>/export-schedules")
@requires(*ADMINS)
@blp.arguments(ScheduleInSchema)
@blp.response(201, ScheduleSchema)
def create_schedule(data):
    """A funder's export schedule of the municipality; a webhook's secret is in this answer only."""
    scope, _ = _in_municipality()
    return _create(scope, data)


@blp.get("/<municipality>/export-schedules/<int:export_schedule_id>")
@requires(*READERS)
@blp.response(200, ScheduleSchema)
def get_schedule(export_schedule_id):
    scope, viewer = _in_municipality()
    return schedules.get(scope, export_schedule_id, viewer)


@blp.patch("/<municipality>/export-schedules/<int:export_schedule_id>")
@requires(*ADMINS)
@blp.arguments(ScheduleChangeSchema)
@blp.response(200, ScheduleSchema)
def update_schedule(data, export_schedule_id):
    """Change a schedule (``active: false`` deactivates it); audited."""
    scope, viewer = _in_municipality()
    return _update(scope, viewer, export_schedule_id, data)


@blp.delete("/<municipality>/export-schedules/<int:export_schedule_id>")
@requires(*ADMINS)
@blp.response(204)
def delete_schedule(export_schedule_id):
    """Delete a schedule; its runs stay (the funder keeps what it received). Audited."""
    scope, viewer = _in_municipality()
    _delete(scope, viewer, export_schedule_id)


@blp.get("/<municipality>/exports")
@requires(*READERS)
@blp.arguments(RunQuerySchema, location="query")
@blp.response(200, page_of(RunSchema))
def list_runs(query):
    """The municipality's stored exports (a funder: its own), newest first, with every delivery attempt."""
    scope, viewer = _in_municipality()
    return page(runs.listing(scope, viewer, query.get("schedule_id")), query, ExportRun.id, descending=True)


@blp.get("/<municipality>/exports/<int:export_run_id>")
@requires(*READERS)
@blp.response(200, RunSchema)
def get_run(export_run_id):
    scope, viewer = _in_municipality()
    return runs.get(scope, export_run_id, viewer)


@blp.get("/<municipality>/exports/<int:export_run_id>/file")
@requires(*READERS)
@blp.response(200, FILE, content_type="text/csv", headers=FILE_HEADERS, description="The stored file, as made")
@blp.alt_response(200, schema=FILE, content_type=XLSX, success=True)
@blp.alt_response(200, schema=FILE, content_type="application/pdf", success=True)
@blp.alt_response(200, schema={"type": "object"}, content_type="application/json", success=True)
def download_run(export_run_id):
    """The stored file, byte for byte as made and delivered; audited."""
    scope, viewer = _in_municipality()
    return file_response(runs.get(scope, export_run_id, viewer), viewer)


@blp.post("/<municipality>/exports/<int:export_run_id>/regenerate")
@requires(*ADMINS)
@blp.response(201, RunSchema)
@blp.alt_response(409, response="CONFLICT")
def regenerate_run(export_run_id):
    """Make the period's file again as a new version (delivered again); the old one is kept, superseded.
    Audited."""
    scope, viewer = _in_municipality()
    return _regenerate(scope, viewer, export_run_id)


# ----------------------------------------------------------------------------- a consortium's

@blp.get("/consortia/<consortium>/export-schedules")
@requires(R.CONSORTIUM_ADMIN, R.FUNDER, scope=CONSORTIUM)
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, page_of(ScheduleSchema))
def list_consortium_schedules(query):
    """Who receives what in the region: the consortium's schedules and its members' (a funder: its own)."""
    scope, viewer = _in_consortium()
    return page(schedules.listing(scope, viewer), query, ExportSchedule.id, descending=True)


@blp.post("/consortia/<consortium>/export-schedules")
@requires(R.CONSORTIUM_ADMIN, scope=CONSORTIUM)
@blp.arguments(ScheduleInSchema)
@blp.response(201, ScheduleSchema)
def create_consortium_schedule(data):
    """A funder's export schedule of the consortium (its members side by side); a webhook's secret is in this
    answer only."""
    scope, _ = _in_consortium()
    return _create(scope, data)


@blp.get("/consortia/<consortium>/export-schedules/<int:export_schedule_id>")
@requires(R.CONSORTIUM_ADMIN, R.FUNDER, scope=CONSORTIUM)
@blp.response(200, ScheduleSchema)
def get_consortium_schedule(export_schedule_id):
    scope, viewer = _in_consortium()
    return schedules.get(scope, export_schedule_id, viewer)


@blp.patch("/consortia/<consortium>/export-schedules/<int:export_schedule_id>")
@requires(R.CONSORTIUM_ADMIN, scope=CONSORTIUM)
@blp.arguments(ScheduleChangeSchema)
@blp.response(200, ScheduleSchema)
def update_consortium_schedule(data, export_schedule_id):
    """Change a schedule of the consortium or of a member (``active: false`` deactivates it); audited."""
    scope, viewer = _in_consortium()
    return _update(scope, viewer, export_schedule_id, data)


@blp.delete("/consortia/<consortium>/export-schedules/<int:export_schedule_id>")
@requires(R.CONSORTIUM_ADMIN, scope=CONSORTIUM)
@blp.response(204)
def delete_consortium_schedule(export_schedule_id):
    """Delete a schedule; its runs stay. Audited."""
    scope, viewer = _in_consortium()
    _delete(scope, viewer, export_schedule_id)


@blp.get("/consortia/<consortium>/exports")
@requires(R.CONSORTIUM_ADMIN, R.FUNDER, scope=CONSORTIUM)
@blp.arguments(RunQuerySchema, location="query")
@blp.response(200, page_of(RunSchema))
def list_consortium_runs(query):
    """The stored exports of the consortium and its members (a funder: its own), newest first."""
    scope, viewer = _in_consortium()
    return page(runs.listing(scope, viewer, query.get("schedule_id")), query, ExportRun.id, descending=True)


@blp.get("/consortia/<consortium>/exports/<int:export_run_id>")
@requires(R.CONSORTIUM_ADMIN, R.FUNDER, scope=CONSORTIUM)
@blp.response(200, RunSchema)
def get_consortium_run(export_run_id):
    scope, viewer = _in_consortium()
    return runs.get(scope, export_run_id, viewer)


@blp.get("/consortia/<consortium>/exports/<int:export_run_id>/file")
@requires(R.CONSORTIUM_ADMIN, R.FUNDER, scope=CONSORTIUM)
@blp.response(200, FILE, content_type="text/csv", headers=FILE_HEADERS, description="The stored file, as made")
@blp.alt_response(200, schema=FILE, content_type=XLSX, success=True)
@blp.alt_response(200, schema=FILE, content_type="application/pdf", success=True)
@blp.alt_response(200, schema={"type": "object"}, content_type="application/json", success=True)
def download_consortium_run(export_run_id):
    """The stored file, byte for byte as made and delivered; audited."""
    scope, viewer = _in_consortium()
    return file_response(runs.get(scope, export_run_id, viewer), viewer)


@blp.post("/consortia/<consortium>/exports/<int:export_run_id>/regenerate")
@requires(R.CONSORTIUM_ADMIN, scope=CONSORTIUM)
@blp.response(201, RunSchema)
@blp.alt_response(409, response="CONFLICT")
def regenerate_consortium_run(export_run_id):
    """Make the period's file again as a new version (delivered again); the old one is kept. Audited."""
    scope, viewer = _in_consortium()
    return _regenerate(scope, viewer, export_run_id)
