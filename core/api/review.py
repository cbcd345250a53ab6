"""The monthly programme review: stored KPI snapshots (for trend charts) and early warnings.

The monthly review (:mod:`core.scheduling.review`) writes them; these views only read. A snapshot's
``figures`` are the KPIs of that month as ``GET .../kpis`` answers them (defined in ``docs/kpis.md``);
each warning, and why its threshold is what it is, is in ``docs/review.md``.
"""
from __future__ import annotations

from datetime import date

from flask import g
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from core.api.common import Blueprint, PageQuerySchema, page, page_of
from core.api.notifications import RenderedMessageSchema
from core.api.openapi import dataclass_schema
from core.auth import roles as R
from core.auth.access import CONSORTIUM, requires
from core.programme import kpis
from core.scheduling.models import ConsortiumKpiSnapshot, EarlyWarning, KpiSnapshot

blp = Blueprint("review", __name__, url_prefix="/api/v1", description="Monthly programme review")

#: Who reads a municipality's review: whoever reads its KPIs.
READERS = (R.COORDINATOR, R.TENANT_ADMIN)
CODES = ("no_new_match", "long_wait", "district_out_of_reach", "idle_supporting", "triage_leaving",
         "target_out_of_reach")
MONTH = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


class MonthsQuerySchema(PageQuerySchema):
    """Optionally the months ``from`` and ``to`` (``YYYY-MM``, both included)."""

    from_ = fields.String(data_key="from", validate=validate.Regexp(MONTH, error="give a month as YYYY-MM"))
    to = fields.String(validate=validate.Regexp(MONTH, error="give a month as YYYY-MM"))

    @validates_schema
    def _in_order(self, data, **kwargs):
        if "from_" in data and "to" in data and data["to"] < data["from_"]:
            raise ValidationError({"to": ["must not lie before from"]})


class WarningQuerySchema(MonthsQuerySchema):
    code = fields.String(validate=validate.OneOf(CODES), metadata={"description": "only warnings of this code"})


def _months(statement, column, query: dict):
    if "from_" in query:
        statement = statement.where(column >= date.fromisoformat(query["from_"] + "-01"))
    if "to" in query:
        statement = statement.where(column <= date.fromisoformat(query["to"] + "-01"))
    return statement


class SnapshotSchema(Schema):
    id = fields.Integer()
    period = fields.Date(metadata={"description": "the first day of the month reviewed"})
    figures = fields.Nested(dataclass_schema(kpis.Kpis, "Kpi"),
                            metadata={"description": "the month's KPIs, its last day the reference date"})
    created_at = fields.DateTime()


class ConsortiumMemberReviewSchema(Schema):
    municipality_id = fields.Integer()
    reviewed = fields.Boolean(metadata={"description": "whether the municipality's review of the month ran"})
    warnings = fields.Integer()
    warnings_by_code = fields.Dict(keys=fields.String(), values=fields.Integer())


class ConsortiumFiguresSchema(Schema):
    total = fields.Nested(dataclass_schema(kpis.Kpis, "Kpi"), metadata={"description": "the members' totals"})
    warnings = fields.Integer(metadata={"description": "the members' early warnings of the month"})
    members = fields.List(fields.Nested(ConsortiumMemberReviewSchema))


class ConsortiumSnapshotSchema(Schema):
    id = fields.Integer()
    period = fields.Date(metadata={"description": "the first day of the month reviewed"})
    figures = fields.Nested(ConsortiumFiguresSchema)
    created_at = fields.DateTime()


class EarlyWarningSchema(RenderedMessageSchema):
    id = fields.Integer()
    period = fields.Date(metadata={"description": "the first day of the month reviewed"})
    code = fields.String(metadata={"description": f"one of {', '.join(CODES)}"})
    subject = fields.String(metadata={"description": "what the warning is about (a district's code), or empty"})
    figures = fields.Dict(keys=fields.String(), metadata={"description": "the figures that triggered it"})
    created_at = fields.DateTime()


@blp.get("/<municipality>/kpis/snapshots")
@requires(*READERS)
@blp.arguments(MonthsQuerySchema, location="query")
@blp.response(200, page_of(SnapshotSchema))
def municipality_snapshots(query):
    """The municipality's KPIs month by month, oldest first, as the monthly review stored them."""
    return page(_months(select(KpiSnapshot), KpiSnapshot.period, query), query, KpiSnapshot.id, KpiSnapshot.period)


@blp.get("/<municipality>/early-warnings")
@requires(*READERS)
@blp.arguments(WarningQuerySchema, location="query")
@blp.response(200, page_of(EarlyWarningSchema))
def early_warnings(query):
    """The monthly review's early warnings, newest month first, each with the figures that triggered it."""
    statement = _months(select(EarlyWarning), EarlyWarning.period, query)
    if "code" in query:
        statement = statement.where(EarlyWarning.code == query["code"])
    return page(statement, query, EarlyWarning.id, EarlyWarning.period, descending=True)


@blp.get("/consortia/<consortium>/kpis/snapshots")
@requires(R.CONSORTIUM_ADMIN, R.PLATFORM_ADMIN, scope=CONSORTIUM)
@blp.arguments(MonthsQuerySchema, location="query")
@blp.response(200, page_of(ConsortiumSnapshotSchema))
def consortium_snapshots(query):
    """The consortium's totals month by month, oldest first, with its members' warning counts."""
    statement = select(ConsortiumKpiSnapshot).where(ConsortiumKpiSnapshot.consortium_id == g.consortium.id)
    return page(_months(statement, ConsortiumKpiSnapshot.period, query), query, ConsortiumKpiSnapshot.id,
                ConsortiumKpiSnapshot.period)
