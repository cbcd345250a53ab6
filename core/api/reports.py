"""On-demand programme reports for coordinators and admins: a municipality's, complete inside its own tenant,
and a consortium's, its members side by side. The report is built by :mod:`core.reports.builder` and rendered
by the report plugins (``format``); every generation is audited (scope, period and format, no personal data).
"""
from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta
from flask import Response, g
from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core import audit, reports
from core.api.common import Blueprint
from core.auth import roles as R
from core.auth.access import CONSORTIUM, requires
from core.errors import Conflict
from core.extensions import db
from core.messages import Message, current_language, render
from core.programme import kpis
from core.reports import builder

blp = Blueprint("reports", __name__, url_prefix="/api/v1", description="Programme reports")

EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)
MAX_YEARS = 5
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE = {"type": "string", "format": "binary"}
HEADERS = {"Content-Disposition": {"description": "attachment, with the file's name", "schema": {"type": "string"}}}


class ReportQuerySchema(Schema):
    """The period (``start`` and ``end``, both included; default: this calendar year), the reference date
    (``as_of``, default today) and the ``format`` a report plugin renders (default ``json``)."""

    start = fields.Date(metadata={"description": "the period's first day (2000-01-01 to 2100-12-31)"})
    end = fields.Date(metadata={"description": "the period's last day; at most 5 years after start"})
    as_of = fields.Date(metadata={"description": "the reference date: events count up to it (default and at most "
                                                "today)"})
    format = fields.String(load_default="json", validate=validate.Regexp(
        r"^[a-z0-9][a-z0-9-]{0,31}$", error="a format such as csv, csv-international, xlsx, pdf or json"),
        metadata={"description": "csv, csv-international, xlsx, pdf, json, or another format of the policy's "
                                 "report plugins"})

    @validates_schema
    def _period(self, data, **kwargs):
        for name in ("start", "end", "as_of"):
            if name in data and not EARLIEST <= data[name] <= LATEST:
                raise ValidationError({name: [Message("Give a date from 2000-01-01 to 2100-12-31.",
                                                      code="date_out_of_range")]})
        if "as_of" in data and data["as_of"] > date.today():
            raise ValidationError({"as_of": [Message("The reference date cannot lie in the future.",
                                                     code="as_of_in_future")]})
        if ("start" in data) != ("end" in data):
            missing = "end" if "start" in data else "start"
            raise ValidationError({missing: [Message("Give both start and end, or neither (this year).",
                                                     code="period_incomplete")]})
        if "start" in data and data["end"] < data["start"]:
            raise ValidationError({"end": [Message("The period ends before it starts.", code="period_reversed")]})
        if "start" in data and data["end"] >= data["start"] + relativedelta(years=MAX_YEARS):
            raise ValidationError({"end": [Message("A report covers at most %(years)s years.", {"years": MAX_YEARS},
                                                   code="period_too_long")]})


class ReportSectionSchema(Schema):
    title = fields.String()
    columns = fields.List(fields.String())
    rows = fields.List(fields.List(fields.Raw()), metadata={
        "description": "cells in the order of columns; a withheld count is {\"suppressed\": true, \"fewer_than\": 5}"})


class ReportDocumentSchema(Schema):
    """The report as the JSON report format writes it (``format=json``)."""

    title = fields.String()
    subtitle = fields.String(allow_none=True)
    sections = fields.List(fields.Nested(ReportSectionSchema))


def _period(query: dict) -> kpis.Period:
    if "start" in query:
        return kpis.Period(query["start"], query["end"])
    return kpis.Period.year(date.today().year)


def _answer(scope: builder.ReportScope, query: dict, slug: str, detail: dict) -> Response:
    """Build and render the staff report of *scope*, audit it, and answer the file."""
    period, media_format = _period(query), query["format"]
    as_of = query.get("as_of") or date.today()
    report = builder.build(scope, period, audience=builder.STAFF, as_of=as_of, language=current_language())
    try:
        rendered = reports.render(report, media_format)
    except reports.FormatNotAvailable as error:
        abort(422, errors={"query": {"format": [render(error.message)]}})
    audit.record("report.generated", object_type=scope.kind, object_id=detail[scope.kind],
                 tenant_id=scope.municipality_id, detail={
                     "report": "programme", "scope": scope.kind, "slug": slug, "start": period.start.isoformat(),
                     "end": period.end.isoformat(), "as_of": as_of.isoformat(), "format": media_format,
                     "audience": builder.STAFF})
    db.session.commit()
    filename = f"programme-report-{slug}-{period.start:%Y%m%d}-{period.end:%Y%m%d}.{rendered.extension}"
    return Response(rendered.content, mimetype=rendered.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _documented(view):
    """The file formats and errors of a report view, in the OpenAPI document."""
    for decorator in (blp.alt_response(200, schema=FILE, content_type="text/csv", success=True),
                      blp.alt_response(200, schema=FILE, content_type=XLSX, success=True),
                      blp.alt_response(200, schema=FILE, content_type="application/pdf", success=True),
                      blp.alt_response(409, response="CONFLICT")):
        view = decorator(view)
    return view


@blp.get("/<municipality>/reports/programme")
@requires(R.COORDINATOR, R.TENANT_ADMIN)
@blp.arguments(ReportQuerySchema, location="query")
@blp.response(200, ReportDocumentSchema, content_type="application/json", headers=HEADERS,
              description="The report in the format asked for, as a file to save")
@_documented
def municipality_report(query):
    """The municipality's programme report for the period, complete (nothing withheld): key figures, matches
    by state, end reason and outcome, triage, children reached by age, wellbeing from start to end, waiting
    times, retention, reciprocity, the target, trends from the monthly snapshots, the early warnings with
    their messages, supply and demand per district, and the business case when the policy enables a funding
    model. Rendered by the policy's report plugins; a format none of them renders is 422 (``format``)."""
    return _answer(builder.ReportScope(municipality_id=g.tenant.id), query, g.tenant.slug,
                   {"municipality": g.tenant.id})


@blp.get("/consortia/<consortium>/reports/programme")
@requires(R.CONSORTIUM_ADMIN, R.PLATFORM_ADMIN, scope=CONSORTIUM)
@blp.arguments(ReportQuerySchema, location="query")
@blp.response(200, ReportDocumentSchema, content_type="application/json", headers=HEADERS,
              description="The report in the format asked for, as a file to save")
@_documented
def consortium_report(query):
    """The consortium's programme report for the period: the same figures with its members side by side and
    their total (early warnings as counts by kind). Rendered by the report plugins of the consortium's policy
    template, or by the built-in report formats when the template enables none."""
    if not kpis.consortium_member_ids(g.consortium.id):
        raise Conflict(Message("The consortium has no municipalities yet.", code="no_members"))
    return _answer(builder.ReportScope(consortium_id=g.consortium.id), query, g.consortium.slug,
                   {"consortium": g.consortium.id})
