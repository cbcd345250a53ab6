"""Programme KPIs of a municipality, and of a consortium (its members and their total).

The answer is :class:`core.programme.kpis.Kpis` as JSON (its schema is made from the dataclass); every
field is defined, in Dutch and English, in ``docs/kpis.md``.
"""
from __future__ import annotations

from datetime import date

from flask import g
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.api.common import Blueprint
from core.api.openapi import dataclass_schema
from core.auth import roles as R
from core.auth.access import CONSORTIUM, requires
from core.errors import Conflict
from core.programme import kpis

blp = Blueprint("kpis", __name__, url_prefix="/api/v1", description="Programme KPIs")


class KpiQuerySchema(Schema):
    """A calendar ``year`` (default: this year), or ``from`` and ``to``; ``as_of`` for another reference date."""

    year = fields.Integer(validate=validate.Range(min=2000, max=2100))
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    as_of = fields.Date()

    @validates_schema
    def _one_period(self, data, **kwargs):
        if ("from_" in data) != ("to" in data):
            raise ValidationError({"from": ["give both from and to, or a year"]})
        if "year" in data and "from_" in data:
            raise ValidationError({"year": ["give a year or from and to, not both"]})
        if "from_" in data and data["to"] < data["from_"]:
            raise ValidationError({"to": ["must not lie before from"]})


def _period(query: dict) -> kpis.Period:
    if "from_" in query:
        return kpis.Period(query["from_"], query["to"])
    return kpis.Period.year(query.get("year", date.today().year))


@blp.get("/<municipality>/kpis")
@requires(R.COORDINATOR, R.TENANT_ADMIN)
@blp.arguments(KpiQuerySchema, location="query")
@blp.response(200, dataclass_schema(kpis.Kpis, "Kpi"))
def municipality_kpis(query):
    """Registrations, triage outcomes, the waiting list (how many wait, median and longest wait), matches
    (with end reasons, outcomes and those started on a coordinator's override), families and children
    reached, 12-month retention (lasted 12 months, and apart: ended early with goals reached), evaluations,
    volunteer hours (logged, and apart: estimated from the agreed terms), reciprocity, supply and demand per
    district, and progress against the year's target. Every field is defined in ``docs/kpis.md``."""
    return kpis.municipality_kpis(g.tenant.id, _period(query), query.get("as_of")).to_dict()


@blp.get("/consortia/<consortium>/kpis")
@requires(R.CONSORTIUM_ADMIN, R.PLATFORM_ADMIN, scope=CONSORTIUM)
@blp.arguments(KpiQuerySchema, location="query")
@blp.response(200, dataclass_schema(kpis.ConsortiumKpis, "Kpi"))
@blp.alt_response(409, response="CONFLICT")
def consortium_kpis(query):
    """The same figures for every member municipality of the consortium, and their total."""
    ids = kpis.consortium_member_ids(g.consortium.id)
    if not ids:
        raise Conflict("the consortium has no municipalities yet")
    return kpis.consortium_kpis(ids, _period(query), query.get("as_of")).to_dict()
