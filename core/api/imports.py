"""Bulk import from spreadsheets: an XLSX workbook or CSV files (see docs/import.md).

``POST /api/v1/<municipality>/imports`` (multipart/form-data) checks the file
and, with ``dry_run=false``, imports it: 200 with the report for a dry run
(the default), 201 when imported, 422 with the report when there are
problems (nothing is written then), 413 when the upload is too large.
"""
from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, Schema, fields

from core.api.common import Blueprint
from core.api.openapi import ErrorSchema
from core.auth import roles as R
from core.auth.access import requires
from core.extensions import db
from core.programme import imports
from core.usecases import imports as import_cases

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


@blp.post("/imports")
@requires(*STAFF)
@blp.arguments(ImportQuerySchema, location="query")
@blp.arguments(ImportFilesSchema, location="files")
@blp.response(201, ImportReportSchema, description="Imported")
@blp.alt_response(200, schema=ImportReportSchema, description="Dry run: checked, nothing written")
@blp.alt_response(422, schema={"oneOf": [ImportReportSchema, ErrorSchema]},
                  description="Problems found, nothing written; or invalid arguments (the error body)")
def run_import(query, files):
    """Check, and unless ``dry_run``, import families, members and matches (all rows or none).

    Send a workbook as ``workbook``, or CSV files as ``families``, ``members`` and ``matches``
    (multipart/form-data). ``dry_run`` defaults to true: send ``dry_run=false`` (query or form)
    to import. Every problem is reported with its sheet, row and column.
    """
    # flask-smorest documents one multipart schema per operation and webargs reads files and form fields
    # from different places: the upload schema above documents dry_run, the form is parsed here.
    form = blp.ARGUMENTS_PARSER.parse(ImportFormSchema(), location="form", unknown=EXCLUDE)
    dry_run = form.get("dry_run", query.get("dry_run", True))  # the form wins over the query string
    workbook = files.get("workbook")
    upload = imports.read_upload(
        workbook.read() if workbook is not None else None,
        {name: files[name].read() for name in imports.SHEETS if files.get(name) is not None},
    )
    report = import_cases.run(upload, dry_run=dry_run)
    if report.problems:
        return report.as_dict(), 422
    if dry_run:
        return report.as_dict(), 200
    db.session.commit()
    report.committed = True
    return report.as_dict(), 201
