"""Bulk import from spreadsheets: an XLSX workbook or CSV files (see docs/import.md).

``POST /api/v1/<municipality>/imports`` (multipart/form-data) checks what can
be told of the upload at once (422 with the report: no file, a name, type or
content that is not the field's, a zip that unpacks too large, not UTF-8; 413
when too large) and answers 202 with an import job that a
worker runs (:mod:`core.scheduling.imports`): a dry run (the default) or,
with ``dry_run=false``, the import. ``GET .../imports/<id>`` shows its
progress and, when done, its report; ``GET .../imports`` lists the jobs.
"""
from __future__ import annotations

from flask import g, make_response, url_for
from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, Schema, fields
from sqlalchemy import select

from core.api.common import Blueprint, PageQuerySchema, get_or_404, keyset_page, page_of
from core.api.openapi import ErrorSchema
from core.auth import roles as R
from core.auth.access import requires
from core.extensions import db
from core.programme import imports
from core.scheduling import imports as background
from core.scheduling.models import ImportJob

blp = Blueprint("imports", __name__, url_prefix="/api/v1/<municipality>",
                description="Bulk import of families, members and matches from spreadsheets")

STAFF = (R.COORDINATOR, R.TENANT_ADMIN)


class ImportQuerySchema(Schema):
    dry_run = fields.Boolean(metadata={"description": "check only, write nothing (default true); "
                                                      "may also be sent as a form field"})


class ImportFilesSchema(Schema):
    workbook = Upload(metadata={"description": "an XLSX workbook with the sheets families, members, matches"})
    families = Upload(metadata={"description": "CSV: the families sheet (UTF-8, ';' or ',' separated)"})
    members = Upload(metadata={"description": "CSV: the members sheet"})
    matches = Upload(metadata={"description": "CSV: the matches sheet"})
    dry_run = fields.Boolean(metadata={"description": "a form field: check only, write nothing (default true)"})


class ImportFormSchema(Schema):
    dry_run = fields.Boolean()


class ProblemSchema(Schema):
    sheet = fields.String(allow_none=True, metadata={"description": "families, members or matches"})
    row = fields.Integer(allow_none=True, metadata={"description": "as the spreadsheet numbers it (header = 1)"})
    column = fields.String(allow_none=True)
    message = fields.String()


class SheetCountSchema(Schema):
    rows = fields.Integer()
    create = fields.Integer()
    update = fields.Integer()
    skip = fields.Integer()


class CountsSchema(Schema):
    families = fields.Nested(SheetCountSchema)
    members = fields.Nested(SheetCountSchema)
    matches = fields.Nested(SheetCountSchema)


class ImportReportSchema(Schema):
    dry_run = fields.Boolean()
    committed = fields.Boolean()
    source = fields.String(allow_none=True, metadata={"description": "xlsx or csv"})
    message = fields.String()
    counts = fields.Nested(CountsSchema)
    problem_count = fields.Integer()
    problems = fields.List(fields.Nested(ProblemSchema))


class ProgressSchema(Schema):
    rows_total = fields.Integer(metadata={"description": "rows to check, over all sheets (known once read)"})
    rows_checked = fields.Integer()
    rows_written = fields.Integer(metadata={"description": "0 after a dry run or a refused import: rolled back"})
    problem_count = fields.Integer(metadata={"description": "problems found so far"})


class ImportJobSchema(Schema):
    id = fields.Integer()
    state = fields.String(metadata={"description": "queued, running, done or failed"})
    dry_run = fields.Boolean()
    source = fields.String(allow_none=True, metadata={"description": "xlsx or csv"})
    file_names = fields.List(fields.String())
    error = fields.String(allow_none=True, metadata={"description": "why it failed (no personal data)"})
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    progress = fields.Nested(ProgressSchema)


class ImportJobDetailSchema(ImportJobSchema):
    committed = fields.Boolean(metadata={"description": "when done: whether the rows were written"})
    report = fields.Nested(ImportReportSchema, metadata={"description": "when done"})


@blp.post("/imports")
@requires(*STAFF)
@blp.arguments(ImportQuerySchema, location="query")
@blp.arguments(ImportFilesSchema, location="files")
@blp.response(202, ImportJobDetailSchema, description="Accepted: the job; Location is its address")
@blp.alt_response(422, schema={"oneOf": [ImportReportSchema, ErrorSchema]},
                  description="No file, not a workbook or not UTF-8 (the report, nothing stored); or invalid "
                              "arguments (the error body)")
def run_import(query, files):
    """Send families, members and matches to import (all rows or none), in the background.

    Send a workbook as ``workbook``, or CSV files as ``families``, ``members`` and ``matches``
    (multipart/form-data). ``dry_run`` defaults to true: send ``dry_run=false`` (query or form)
    to import. The answer is the job (202, ``Location``): read it until its ``state`` is ``done``
    (its ``report`` tells every problem with its sheet, row and column) or ``failed``.
    """
    # flask-smorest documents one multipart schema per operation and webargs reads files and form fields
    # from different places: the upload schema above documents dry_run, the form is parsed here.
    form = blp.ARGUMENTS_PARSER.parse(ImportFormSchema(), location="form", unknown=EXCLUDE)
    dry_run = form.get("dry_run", query.get("dry_run", True))  # the form wins over the query string
    sent = imports.received(files)
    checked = imports.check_upload(sent)
    if checked.problems:  # the report, not the job: answered as it is (the 202 schema would cut it)
        report = imports.Report(dry_run=dry_run, source=checked.source, problems=checked.problems)
        return make_response(ImportReportSchema().dump(report.as_dict()), 422)
    principal = g.principal
    job = background.submit({name: item.content for name, item in sent.items()},
                            [item.label for item in sent.values()], dry_run=dry_run, actor=principal.label,
                            user_id=principal.user_id)
    db.session.commit()
    background.send(job)
    location = url_for("imports.get_import", municipality=g.tenant.slug, import_job_id=job.id)
    return background.describe(job), 202, {"Location": location}


@blp.get("/imports/<int:import_job_id>")
@requires(*STAFF)
@blp.response(200, ImportJobDetailSchema)
def get_import(import_job_id):
    """An import job: its state and progress and, when done, its report and whether it was committed."""
    return background.describe(get_or_404(ImportJob, import_job_id))


@blp.get("/imports")
@requires(*STAFF)
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, page_of(ImportJobSchema))
def list_imports(query):
    """The municipality's import jobs, newest first (without their reports)."""
    jobs, next_cursor = keyset_page(select(ImportJob), query, ImportJob.id, descending=True)
    return {"items": background.summaries(jobs), "next_cursor": next_cursor}
