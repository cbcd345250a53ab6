"""Policies: a municipality's plugins and versions, previews, the consortium template; decisions and suggestions."""
from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date

from flask import Response, g
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from core.api.common import get_or_404
from core.api.families import DecisionOutSchema
from core.auth import roles as R
from core.auth.access import CONSORTIUM, requires
from core.extensions import db
from core.policy import funding, manager, preview, service, suggestions
from core.programme.models import Family
from core.usecases import decisions

blp = Blueprint("policy", __name__, url_prefix="/api/v1", description="Policies and their plugins")

ADMINS = (R.TENANT_ADMIN, R.CONSORTIUM_ADMIN)
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


def catalogue(enabled: dict) -> list[dict]:
    """Every installed plugin, with whether and how the policy enables it."""
    return [{"name": name, "kind": cls.kind, "version": cls.version, "title": cls.title,
             "description": cls.description, "enabled": name in enabled,
             "config": enabled.get(name), "default_config": cls.default_config()}
            for name, cls in manager.installed().items()]


@blp.get("/<municipality>/policy")
@requires(*ADMINS)
def get_policy():
    """The policy in force and every installed plugin (installed is not enabled)."""
    policy = service.current(g.tenant.id)
    return {"version": policy.version, "plugins": policy.plugins, "catalogue": catalogue(policy.plugins)}


@blp.put("/<municipality>/policy")
@requires(R.TENANT_ADMIN)
@blp.arguments(PolicyInSchema)
@blp.response(201, PolicyVersionSchema)
def change_policy(data):
    """Make these plugins (with their configuration) the policy, as a new version; audited."""
    version = service.change(g.tenant.id, data["plugins"], data.get("note"))
    db.session.commit()
    return version


@blp.post("/<municipality>/policy/preview")
@requires(*ADMINS)
@blp.arguments(PolicyInSchema)
def preview_policy(data):
    """What the change would do to the open requesting families' eligibility; nothing is saved."""
    return preview.preview(g.tenant.id, data["plugins"])


@blp.get("/<municipality>/policy/versions")
@requires(*ADMINS)
@blp.response(200, PolicyVersionSchema(many=True))
def list_versions():
    return service.versions(g.tenant.id)


@blp.get("/consortia/<consortium>/policy-template")
@requires(R.CONSORTIUM_ADMIN, R.PLATFORM_ADMIN, scope=CONSORTIUM)
def get_template():
    row = service.template(g.consortium.id)
    return {"version": row.version if row else 0, "plugins": row.plugins if row else {},
            "note": row.note if row else None, "catalogue": catalogue(row.plugins if row else {})}


@blp.put("/consortia/<consortium>/policy-template")
@requires(R.CONSORTIUM_ADMIN, scope=CONSORTIUM)
@blp.arguments(PolicyInSchema)
def set_template(data):
    """The policy new member municipalities start from; existing members keep their own."""
    row = service.set_template(g.consortium.id, data["plugins"], data.get("note"))
    db.session.commit()
    return {"version": row.version, "plugins": row.plugins, "note": row.note}


@blp.get("/consortia/<consortium>/policy-deviations")
@requires(R.CONSORTIUM_ADMIN, R.PLATFORM_ADMIN, scope=CONSORTIUM)
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
def match_suggestions(query, family_id):
    """Supporting families ranked for this requesting family, each score with its reasons."""
    found = suggestions.suggest(get_or_404(Family, family_id), query["limit"])
    return [s.__dict__ for s in found]


@blp.get("/<municipality>/evaluation-instrument")
@requires(*STAFF)
def evaluation_instrument():
    """The questions and scales an evaluation asks, from the enabled outcome instruments."""
    policy = service.current(g.tenant.id)
    instruments = [r.value for r in policy.call("koppel_outcome_instrument") if r.error is None and r.value]
    return [{"name": i.name, "title": i.title, "questions": [q.__dict__ for q in i.questions]} for i in instruments]


class FundingQuerySchema(Schema):
    year = fields.Integer(load_default=lambda: date.today().year, validate=validate.Range(min=2000, max=2100))
    format = fields.String(load_default="json", validate=validate.Length(min=1, max=16))


@blp.get("/<municipality>/funding-statement")
@requires(R.TENANT_ADMIN, R.FUNDER)
@blp.arguments(FundingQuerySchema, location="query")
def funding_statement(query):
    """The year's costs by the active funding model: what the municipality owes, what each fund pays,
    the consortium's split and the avoided costs; ``format`` renders it with the policy's report plugins."""
    start, end = date(query["year"], 1, 1), date(query["year"], 12, 31)
    found = funding.statement(g.tenant.id, start, end)
    if query["format"] == "json":  # the statement itself; other formats go through the report plugins
        return json.loads(json.dumps(asdict(found), default=str))
    rendered = funding.render(funding.as_report(found, g.tenant.name), g.tenant.id, query["format"])
    filename = f"funding-{g.tenant.slug}-{query['year']}.{rendered.extension}"
    return Response(rendered.content, mimetype=rendered.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
