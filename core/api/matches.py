"""Matches (koppelingen): propose, the steps of the lifecycle as actions, extensions, contacts, evaluations."""
from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import select

from core.api.common import (Blueprint, PageQuerySchema, get_or_404, page, page_of, require_if_match, versioned,
                             with_etag)
from core.api.families import ContactOutSchema
from core.auth import roles as R
from core.auth.access import requires
from core.extensions import db
from core.programme import schemas as S
from core.usecases import matches
from core.programme import vocabulary as V
from core.programme.models import Contact, Evaluation, Match
from core.programme.schemas import Id

blp = Blueprint("matches", __name__, url_prefix="/api/v1/<municipality>", description="Matches (koppelingen)")

STAFF = (R.COORDINATOR, R.TENANT_ADMIN)


class MatchQuerySchema(PageQuerySchema):
    state = fields.List(fields.String(validate=validate.OneOf(V.MATCH_STATES)),
                        validate=validate.Length(max=len(V.MATCH_STATES)))
    family_id = Id(metadata={"description": "matches of this family, on either side"})
    order = fields.String(load_default="asc", validate=validate.OneOf(("asc", "desc")))


class TransitionOutSchema(Schema):
    from_state = fields.String(allow_none=True)
    to_state = fields.String()
    on = fields.Date()
    reason = fields.String(allow_none=True)


class ExtensionOutSchema(Schema):
    decided_on = fields.Date()
    previous_end_on = fields.Date(allow_none=True)
    new_end_on = fields.Date()
    note = fields.String(allow_none=True)


class MatchOverrideOutSchema(Schema):
    step = fields.String(metadata={"description": "the step that rested on the override: proposed or active"})
    at = fields.DateTime()
    decision_id = fields.Integer()
    kind = fields.String(attribute="decision.kind")
    family_id = fields.Integer(attribute="decision.family_id")
    reason = fields.String(attribute="decision.override_reason")
    by_user_id = fields.Integer(attribute="decision.decided_by_user_id", allow_none=True)
    confirmed_by_user_id = fields.Integer(attribute="decision.confirmed_by_user_id", allow_none=True)


class MatchSchema(Schema):
    id = fields.Integer()
    version = fields.Integer()
    state = fields.String()
    requesting_family_id = fields.Integer()
    supporting_family_id = fields.Integer()
    children = fields.Integer()
    support_kinds = fields.List(fields.String())
    proposed_on = fields.Date()
    introduction_on = fields.Date(allow_none=True)
    trial_on = fields.Date(allow_none=True)
    active_on = fields.Date(allow_none=True)
    ended_on = fields.Date(allow_none=True)
    cancelled_on = fields.Date(allow_none=True)
    planned_end_on = fields.Date(allow_none=True)
    agreement = fields.String(allow_none=True)
    agreement_recorded_on = fields.Date(allow_none=True)
    frequency = fields.String(allow_none=True)
    hours_per_session = fields.Float(allow_none=True)
    overnight_stays = fields.Boolean(allow_none=True)
    end_reason = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    transitions = fields.List(fields.Nested(TransitionOutSchema))
    extensions = fields.List(fields.Nested(ExtensionOutSchema))
    overrides = fields.List(fields.Nested(MatchOverrideOutSchema))


class MatchSummarySchema(MatchSchema):
    class Meta:
        exclude = ("transitions", "extensions", "agreement", "overrides")


class EvaluationSchema(S.EvaluationCompleteSchema):
    id = fields.Integer()
    match_id = fields.Integer()
    kind = fields.String()
    due_on = fields.Date()
    skipped_reason = fields.String(allow_none=True)
    completed_on = fields.Date(allow_none=True)
    decision = fields.String(allow_none=True)


@blp.get("/matches")
@requires(*STAFF)
@blp.arguments(MatchQuerySchema, location="query")
@blp.response(200, page_of(MatchSummarySchema))
def list_matches(query):
    statement = select(Match)
    if query.get("state"):
        statement = statement.where(Match.state.in_(query["state"]))
    if "family_id" in query:
        statement = statement.where((Match.requesting_family_id == query["family_id"])
                                    | (Match.supporting_family_id == query["family_id"]))
    return page(statement, query, Match.id, descending=query["order"] == "desc")


@blp.post("/matches")
@requires(*STAFF)
@blp.arguments(S.MatchProposeSchema)
@blp.response(201, MatchSchema)
@blp.alt_response(409, response="CONFLICT")
def propose(data):
    """Propose a match when the policy lets both families through: the requesting family eligible, both
    families' screening passed (the decisions are re-run first). Otherwise 409 naming each failing or missing
    finding; with ``override_reason`` a coordinator goes ahead all the same (stored on the match, audited).
    Also 409 when a family is not ready, or the supporting family has no room left."""
    override_reason = data.pop("override_reason", None)
    match = matches.propose(data, override_reason)
    db.session.commit()
    return with_etag(match, match, 201)


@blp.get("/matches/<int:match_id>")
@requires(*STAFF)
@blp.response(200, MatchSchema)
def get_match(match_id):
    match = matches.read(match_id)
    db.session.commit()
    return with_etag(match, match)


def _step(match_id: int, to: str, data: dict):
    match = matches.step(match_id, to, data, require_if_match)
    db.session.commit()
    return with_etag(match, match)


@blp.post("/matches/<int:match_id>/introduce")
@requires(*STAFF)
@versioned
@blp.arguments(S.MatchStepSchema)
@blp.response(200, MatchSchema)
@blp.alt_response(409, response="CONFLICT")
def introduce(data, match_id):
    """The families meet (kennismaking). Send ``If-Match``."""
    return _step(match_id, V.INTRODUCTION, data)


@blp.post("/matches/<int:match_id>/start-trial")
@requires(*STAFF)
@versioned
@blp.arguments(S.MatchStepSchema)
@blp.response(200, MatchSchema)
@blp.alt_response(409, response="CONFLICT")
def start_trial(data, match_id):
    """The trial period (proefperiode) starts; the referrer is told when consent allows."""
    return _step(match_id, V.TRIAL, data)


@blp.post("/matches/<int:match_id>/activate")
@requires(*STAFF)
@versioned
@blp.arguments(S.MatchActivateSchema)
@blp.response(200, MatchSchema)
@blp.alt_response(409, response="CONFLICT")
def activate(data, match_id):
    """The match becomes active; the families' agreement and its terms (duration, frequency, hours, overnight
    stays) are recorded now. The policy is asked again (409 as for a proposal, e.g. a VOG that expired during
    the trial; ``override_reason`` as there) and terms outside the policy's match terms are refused (422)."""
    override_reason = data.pop("override_reason", None)
    match = matches.activate(match_id, data, require_if_match, override_reason)
    db.session.commit()
    return with_etag(match, match)


@blp.post("/matches/<int:match_id>/end")
@requires(*STAFF)
@versioned
@blp.arguments(S.MatchEndSchema)
@blp.response(200, MatchSchema)
@blp.alt_response(409, response="CONFLICT")
def end(data, match_id):
    """End a match in its trial or active phase, with reason and outcome."""
    return _step(match_id, V.ENDED, data)


@blp.post("/matches/<int:match_id>/cancel")
@requires(*STAFF)
@versioned
@blp.arguments(S.MatchStepSchema)
@blp.response(200, MatchSchema)
@blp.alt_response(409, response="CONFLICT")
def cancel(data, match_id):
    """Cancel a match before its trial started."""
    return _step(match_id, V.CANCELLED, data)


@blp.post("/matches/<int:match_id>/extend")
@requires(*STAFF)
@versioned
@blp.arguments(S.MatchExtendSchema)
@blp.response(200, MatchSchema)
@blp.alt_response(409, response="CONFLICT")
def extend(data, match_id):
    """Extend an active match to a later end, when both families want it."""
    match = matches.extend(match_id, data, require_if_match)
    db.session.commit()
    return with_etag(match, match)


@blp.get("/matches/<int:match_id>/evaluations")
@requires(*STAFF)
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, page_of(EvaluationSchema))
def list_match_evaluations(query, match_id):
    """The match's evaluations by due date."""
    match = get_or_404(Match, match_id)
    return page(select(Evaluation).where(Evaluation.match_id == match.id), query, Evaluation.id, Evaluation.due_on)


@blp.get("/matches/<int:match_id>/contacts")
@requires(*STAFF)
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, page_of(ContactOutSchema))
def list_match_contacts(query, match_id):
    """The contacts about the match, oldest first."""
    match = get_or_404(Match, match_id)
    return page(select(Contact).where(Contact.match_id == match.id), query, Contact.id, Contact.occurred_on)


@blp.post("/matches/<int:match_id>/contacts")
@requires(*STAFF)
@blp.arguments(S.ContactSchema)
@blp.response(201, ContactOutSchema)
def log_match_contact(data, match_id):
    """Log a contact about the match; ``support_session`` minutes count as volunteer hours."""
    contact = matches.log_contact(match_id, data)
    db.session.commit()
    return contact
