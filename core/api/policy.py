"""Policies: a municipality's plugins and versions, previews, the consortium template; decisions and suggestions."""
from __future__ import annotations

from dataclasses import asdict
from datetime import date

from flask import Response, g
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from core import reports
from core.api.common import Blueprint, PageQuerySchema, get_or_404, page, page_of
from core.api.families import DecisionOutSchema
from core.api.openapi import dataclass_schema
from core.auth import roles as R
from core.auth.access import CONSORTIUM, requires
from core.extensions import db
from core.messages import Message
from core.policy import funding, manager, preview, service, suggestions
from core.policy.types import FundingStatement, Question
from core.policy.models import PolicyVersion
from core.programme.models import Family
from core.reports import business_case
from core.usecases import decisions

blp = Blueprint("policy", __name__, url_prefix="/api/v1", description="Policies and their plugins")

ADMINS = R.POLICY_PREVIEWERS
READERS = R.POLICY_READERS
STAFF = (R.COORDINATOR, R.TENANT_ADMIN)


class PolicyInSchema(Schema):
    plugins = fields.Dict(keys=fields.String(), values=fields.Dict(), required=True,
                          metadata={"description": "plugin name -> configuration ({} for the defaults)"})
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))


class PolicyVersionSchema(Schema):
    version = fields.Integer()
    plugins = fields.Dict()
    plugin_versions = fields.Dict()
    change = fields.Dict()
    note = fields.String(allow_none=True)
    created_at = fields.DateTime()
    created_by_user_id = fields.Integer(allow_none=True)


class TextsSchema(Schema):
    """A text in both languages, as a plugin gives it."""

    nl = fields.String()
    en = fields.String()


class PluginSchema(Schema):
    name = fields.String()
    kind = fields.String()
    version = fields.String()
    title = fields.Nested(TextsSchema)
    description = fields.Nested(TextsSchema)
    enabled = fields.Boolean()
    config = fields.Dict(allow_none=True, metadata={"description": "as the policy enables it; none: not enabled"})
    default_config = fields.Dict()


class PolicySchema(Schema):
    version = fields.Integer()
    plugins = fields.Dict(metadata={"description": "plugin name -> configuration"})
    catalogue = fields.List(fields.Nested(PluginSchema), metadata={"description": "every installed plugin"})


class TemplateSchema(Schema):
    version = fields.Integer(metadata={"description": "0: no template yet"})
    plugins = fields.Dict(metadata={"description": "plugin name -> configuration"})
    note = fields.String(allow_none=True)


class TemplateWithCatalogueSchema(TemplateSchema):
    catalogue = fields.List(fields.Nested(PluginSchema), metadata={"description": "every installed plugin"})


class PolicyChangeSchema(Schema):
    enabled = fields.List(fields.String())
    disabled = fields.List(fields.String())
    reconfigured = fields.Dict(metadata={"description": "plugin name -> setting -> [old value, new value]"})


class PolicyDeviationSchema(PolicyChangeSchema):
    municipality = fields.String()


class PreviewChangeSchema(Schema):
    family_id = fields.Integer()
    from_ = fields.String(data_key="from")
    to = fields.String()


class PreviewSchema(Schema):
    current_version = fields.Integer()
    families = fields.Integer(metadata={"description": "open requesting families"})
    unchanged = fields.Integer()
    become_eligible = fields.List(fields.Integer(), metadata={"description": "family ids"})
    lose_eligibility = fields.List(fields.Integer(), metadata={"description": "family ids"})
    other_changes = fields.List(fields.Nested(PreviewChangeSchema))
    change = fields.Nested(PolicyChangeSchema)
    summary = fields.String()


class ScoreComponentSchema(Schema):
    criterion = fields.String()
    score = fields.Float()
    weight = fields.Float()
    reason = fields.String(metadata={"description": "in the language of the request"})
    plugin = fields.String()
    message = fields.Dict(metadata={"description": "the message id and parameters, to translate"})


class SuggestionSchema(Schema):
    family_id = fields.Integer()
    display_name = fields.String()
    score = fields.Float(metadata={"description": "the weighted mean of the components, 0 to 1"})
    components = fields.List(fields.Nested(ScoreComponentSchema))


class InstrumentSchema(Schema):
    name = fields.String()
    title = fields.Nested(TextsSchema)
    questions = fields.List(fields.Nested(dataclass_schema(Question)))


def catalogue(enabled: dict) -> list[dict]:
    """Every installed plugin, with whether and how the policy enables it."""
    return [{"name": name, "kind": cls.kind, "version": cls.version, "title": cls.title,
             "description": cls.description, "enabled": name in enabled,
             "config": enabled.get(name), "default_config": cls.default_config()}
            for name, cls in manager.installed().items()]


@blp.get("/<municipality>/policy")
@requires(*READERS)
@blp.response(200, PolicySchema)
def get_policy():
    """The policy in force and every installed plugin (installed is not enabled)."""
    policy = service.current(g.tenant.id)
    return {"version": policy.version, "plugins": policy.plugins, "catalogue": catalogue(policy.plugins)}


@blp.put("/<municipality>/policy")
@requires(R.TENANT_ADMIN)
@blp.arguments(PolicyInSchema)
@blp.response(201, PolicyVersionSchema)
@blp.alt_response(409, response="CONFLICT")
def change_policy(data):
    """Make these plugins (with their configuration) the policy, as a new version; audited."""
    version = service.change(g.tenant.id, data["plugins"], data.get("note"))
    db.session.commit()
    return version


@blp.post("/<municipality>/policy/preview")
@requires(*ADMINS)
@blp.arguments(PolicyInSchema)
@blp.response(200, PreviewSchema)
def preview_policy(data):
    """What the change would do to the open requesting families' eligibility; nothing is saved."""
    return preview.preview(g.tenant.id, data["plugins"])


@blp.get("/<municipality>/policy/versions")
@requires(*READERS)
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, page_of(PolicyVersionSchema))
def list_versions(query):
    """The policy's versions, the newest first."""
    return page(select(PolicyVersion), query, PolicyVersion.id, PolicyVersion.version, descending=True)


@blp.get("/consortia/<consortium>/policy-template")
@requires(R.CONSORTIUM_ADMIN, R.PLATFORM_ADMIN, scope=CONSORTIUM)
@blp.response(200, TemplateWithCatalogueSchema)
def get_template():
    row = service.template(g.consortium.id)
    return {"version": row.version if row else 0, "plugins": row.plugins if row else {},
            "note": row.note if row else None, "catalogue": catalogue(row.plugins if row else {})}


@blp.put("/consortia/<consortium>/policy-template")
@requires(R.CONSORTIUM_ADMIN, scope=CONSORTIUM)
@blp.arguments(PolicyInSchema)
@blp.response(200, TemplateSchema)
def set_template(data):
    """The policy new member municipalities start from; existing members keep their own."""
    row = service.set_template(g.consortium.id, data["plugins"], data.get("note"))
    db.session.commit()
    return {"version": row.version, "plugins": row.plugins, "note": row.note}


@blp.get("/consortia/<consortium>/policy-deviations")
@requires(R.CONSORTIUM_ADMIN, R.PLATFORM_ADMIN, scope=CONSORTIUM)
@blp.response(200, PolicyDeviationSchema(many=True))
def list_deviations():
    """How each member municipality's policy differs from the template."""
    members = {m.id: m for m in g.consortium.municipalities}
    found = service.deviations(g.consortium.id, list(members))
    return [{"municipality": members[i].slug, **diff} for i, diff in found.items()]


@blp.post("/<municipality>/families/<int:family_id>/eligibility-decision")
@requires(*STAFF)
@blp.response(201, DecisionOutSchema)
def decide_eligibility(family_id):
    """Run the municipality's eligibility plugins on the family and store the decision with its findings."""
    decision = decisions.decide_now("eligibility", family_id)
    db.session.commit()
    return decision


@blp.post("/<municipality>/families/<int:family_id>/screening-decision")
@requires(*STAFF)
@blp.response(201, DecisionOutSchema)
def decide_screening(family_id):
    """Run the municipality's screening plugins on the family and store the decision with its findings."""
    decision = decisions.decide_now("screening", family_id)
    db.session.commit()
    return decision


class SuggestionQuerySchema(Schema):
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))


@blp.get("/<municipality>/families/<int:family_id>/match-suggestions")
@requires(*STAFF)
@blp.arguments(SuggestionQuerySchema, location="query")
@blp.response(200, SuggestionSchema(many=True))
@blp.alt_response(409, response="CONFLICT")
def match_suggestions(query, family_id):
    """Supporting families ranked for this requesting family, each score with its reasons."""
    from core.usecases import families

    found = suggestions.suggest(families.read(family_id, "match-suggestions"), query["limit"])
    db.session.commit()  # the read's audit record
    return [s.__dict__ for s in found]


@blp.get("/<municipality>/evaluation-instrument")
@requires(*STAFF)
@blp.response(200, InstrumentSchema(many=True))
def evaluation_instrument():
    """The questions and scales an evaluation asks, from the enabled outcome instruments."""
    policy = service.current(g.tenant.id)
    instruments = [r.value for r in policy.call("koppel_outcome_instrument") if r.error is None and r.value]
    return [{"name": i.name, "title": i.title, "questions": [q.__dict__ for q in i.questions]} for i in instruments]


#: A funding statement rendered by a report plugin (``format``).
REPORT = {"type": "string", "format": "binary"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class FundingQuerySchema(Schema):
    year = fields.Integer(load_default=lambda: date.today().year, validate=validate.Range(min=2000, max=2100))
    as_of = fields.Date(load_default=None, metadata={
        "description": "the statement's date (ISO): what was delivered is counted up to it; today by default, "
                       "never after the year's end; may not lie in the future"})
    format = fields.String(load_default="json", validate=validate.Length(min=1, max=16))

    @validates_schema
    def as_of_not_in_the_future(self, data, **kwargs):
        if data.get("as_of") and data["as_of"] > funding.today():
            raise ValidationError({"as_of": [Message("May not lie in the future.", code="in_the_future")]})


@blp.get("/<municipality>/funding-statement")
@requires(R.TENANT_ADMIN, R.FUNDER)
@blp.arguments(FundingQuerySchema, location="query")
@blp.response(200, dataclass_schema(FundingStatement))
@blp.alt_response(200, schema=REPORT, content_type="text/csv", success=True)
@blp.alt_response(200, schema=REPORT, content_type=XLSX, success=True)
@blp.alt_response(200, schema=REPORT, content_type="application/pdf", success=True)
@blp.alt_response(409, response="CONFLICT")
def funding_statement(query):
    """The year's costs by the active funding model up to the statement's date (``as_of``): what the
    municipality owes, what each fund pays, the consortium's split and the avoided costs with their method and
    assumptions; ``format`` renders it, with the business case (families and children reached, cost of each),
    with the policy's report plugins."""
    start, end = date(query["year"], 1, 1), date(query["year"], 12, 31)
    found = funding.statement(g.tenant.id, start, end, as_of=query["as_of"])
    media_format = query["format"].strip().lower()
    if media_format == "json":  # the statement itself; other formats go through the report plugins
        return asdict(found)
    case = business_case.for_municipality(g.tenant.id, (start, end), query["as_of"])
    rendered = reports.render_tables(funding.as_report(found, g.tenant.name, case=case), media_format,
                                     municipality_id=g.tenant.id)
    filename = f"funding-{g.tenant.slug}-{query['year']}.{rendered.extension}"
    return Response(rendered.content, mimetype=rendered.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
