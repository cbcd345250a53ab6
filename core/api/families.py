"""Families, their members, status, intake, triage, approvals, decisions, consent and contacts.

Every read and write of a family record is audited.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import func, or_, select

from core import audit
from core.api.common import (Blueprint, PageQuerySchema, get_child_or_404, keyset_page, page, page_of,
                             require_if_match, versioned, with_etag)
from core.auth import roles as R
from core.auth.access import requires
from core.extensions import db
from core.messages import explanation
from core.programme import schemas as S
from core.programme import vocabulary as V
from core.programme.models import Approval, Consent, Contact, Decision, DuplicateFlag, Family, Match
from core.usecases import decisions as decision_cases
from core.usecases import families

blp = Blueprint("families", __name__, url_prefix="/api/v1/<municipality>", description="Families")

STAFF = (R.COORDINATOR, R.TENANT_ADMIN)
SORTS = {"id": Family.id, "display_name": Family.display_name, "registered_on": Family.registered_on,
         "status_changed_at": Family.status_changed_at}


class FamilyQuerySchema(PageQuerySchema):
    kind = fields.String(validate=validate.OneOf(V.FAMILY_KINDS))
    status = fields.List(fields.String(validate=validate.OneOf(V.FAMILY_STATUSES)),
                         validate=validate.Length(max=len(V.FAMILY_STATUSES)))
    district_code = fields.String(validate=validate.Regexp(S.DISTRICT, error="a CBS district code, e.g. WK022201"))
    referral_source = fields.String(validate=validate.OneOf(V.REFERRAL_SOURCES))
    registered_from = fields.Date()
    registered_to = fields.Date()
    sort = fields.String(load_default="id", validate=validate.OneOf(tuple(SORTS)))
    order = fields.String(load_default="asc", validate=validate.OneOf(("asc", "desc")))


class FamilySearchSchema(FamilyQuerySchema):
    q = fields.String(required=True, validate=validate.Length(min=2, max=80),
                      metadata={"description": "part of the name"})


class FamilySummarySchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    display_name = fields.String()
    status = fields.String()
    district_code = fields.String(allow_none=True)
    registered_on = fields.Date()
    referral_source = fields.String()
    status_changed_at = fields.DateTime()


class StatusChangeOutSchema(Schema):
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    reason = fields.String(allow_none=True)
    at = fields.DateTime()


class FindingOutSchema(Schema):
    rule = fields.String(allow_none=True)
    plugin = fields.String(allow_none=True)
    plugin_version = fields.String(allow_none=True)
    result = fields.String()
    effect = fields.String(allow_none=True)
    facts = fields.Dict()
    explanation = fields.Method("_explanation", metadata={"description": "in the language of the request"})
    message = fields.Dict(allow_none=True, metadata={"description": "the message id and parameters, to translate"})

    def _explanation(self, finding):
        return explanation(finding)


class DecisionOutSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    outcome = fields.String()
    source = fields.String(metadata={"description": "policy, override (a coordinator's, with a reason) or historical "
                                                    "(recorded from outside Koppel; never satisfies a rule)"})
    findings = fields.List(fields.Nested(FindingOutSchema))
    policy_version = fields.Integer(allow_none=True)
    decided_at = fields.DateTime()
    decided_by_user_id = fields.Integer(allow_none=True)
    overrides_id = fields.Integer(allow_none=True)
    override_reason = fields.String(allow_none=True)
    confirmed_by_user_id = fields.Integer(allow_none=True)
    confirmed_at = fields.DateTime(allow_none=True)


class ConsentOutSchema(S.ConsentSchema):
    id = fields.Integer()
    withdrawn_on = fields.Date(allow_none=True)


class ContactOutSchema(S.ContactSchema):
    id = fields.Integer()
    family_id = fields.Integer(allow_none=True)
    match_id = fields.Integer(allow_none=True)


class MatchRefSchema(Schema):
    id = fields.Integer()
    state = fields.String()
    requesting_family_id = fields.Integer()
    supporting_family_id = fields.Integer()
    proposed_on = fields.Date()
    trial_on = fields.Date(allow_none=True)
    ended_on = fields.Date(allow_none=True)


class DuplicateOutSchema(Schema):
    id = fields.Integer()
    family_id = fields.Integer()
    other_family_id = fields.Integer()
    reason = fields.String()
    resolution = fields.String(allow_none=True)


class FamilyDetailSchema(S.FamilyFieldsSchema):
    id = fields.Integer()
    version = fields.Integer()
    kind = fields.String()
    status = fields.String()
    status_changed_at = fields.DateTime()
    triage_outcome = fields.String(allow_none=True)
    triage_on = fields.Date(allow_none=True)
    members = fields.List(fields.Nested(S.MemberSchema))
    status_changes = fields.List(fields.Nested(StatusChangeOutSchema))
    decisions = fields.List(fields.Nested(DecisionOutSchema))
    matches = fields.List(fields.Nested(MatchRefSchema))
    consents = fields.List(fields.Nested(ConsentOutSchema))
    duplicates = fields.List(fields.Nested(DuplicateOutSchema))
    approvals = fields.Integer()


def _detail(family: Family) -> dict:
    """The family with everything a coordinator needs on one screen (one query per part)."""
    out = {name: getattr(family, name) for name in FamilyDetailSchema().fields if hasattr(family, name)}
    out["decisions"] = db.session.scalars(select(Decision).where(Decision.family_id == family.id)
                                          .order_by(Decision.id.desc())).all()
    out["matches"] = db.session.scalars(select(Match).where(
        or_(Match.requesting_family_id == family.id, Match.supporting_family_id == family.id)).order_by(Match.id)).all()
    out["consents"] = db.session.scalars(select(Consent).where(Consent.family_id == family.id).order_by(Consent.id)).all()
    out["duplicates"] = db.session.scalars(select(DuplicateFlag).where(
        or_(DuplicateFlag.family_id == family.id, DuplicateFlag.other_family_id == family.id))).all()
    out["approvals"] = db.session.scalar(select(func.count()).select_from(Approval).where(Approval.family_id == family.id))
    return out


def _show(family: Family, status: int = 200):
    return with_etag(family, _detail(family), status)


@blp.get("/families")
@requires(*STAFF)
@blp.arguments(FamilyQuerySchema, location="query")
@blp.response(200, page_of(FamilySummarySchema))
def list_families(query):
    """Families, filtered and sorted, a page at a time (keyset: pass ``next_cursor`` back as ``cursor``).
    To find a family by name, use ``POST .../families/search``: a name is not put in a URL."""
    return _family_page(query)


@blp.post("/families/search")
@requires(*STAFF)
@blp.arguments(FamilySearchSchema)
@blp.response(200, page_of(FamilySummarySchema))
def search_families(query):
    """Families whose name contains ``q``, with the list's filters, sorting and pages, in the body (so that
    the name stays out of URLs and access logs)."""
    return _family_page(query)


def _family_page(query: dict) -> dict:
    statement = select(Family)
    if "kind" in query:
        statement = statement.where(Family.kind == query["kind"])
    if query.get("status"):
        statement = statement.where(Family.status.in_(query["status"]))
    if "district_code" in query:
        statement = statement.where(Family.district_code == query["district_code"])
    if "referral_source" in query:
        statement = statement.where(Family.referral_source == query["referral_source"])
    if "q" in query:
        statement = statement.where(func.lower(Family.display_name).contains(query["q"].lower(), autoescape=True))
    if "registered_from" in query:
        statement = statement.where(Family.registered_on >= query["registered_from"])
    if "registered_to" in query:
        statement = statement.where(Family.registered_on <= query["registered_to"])
    items, next_cursor = keyset_page(statement, query, Family.id, SORTS[query["sort"]],
                                     descending=query["order"] == "desc")
    audit.record("family.list", object_type="family", detail={"ids": [f.id for f in items]})
    for family in items:  # keep them as read: the commit would expire them (a query per row to dump them)
        db.session.expunge(family)
    db.session.commit()
    return {"items": items, "next_cursor": next_cursor}


@blp.post("/families")
@requires(*STAFF)
@blp.arguments(S.FamilyCreateSchema)
@blp.response(201, FamilyDetailSchema)
def create_family(data):
    """Register a requesting or supporting family (with its household members); the policy decides."""
    family = families.register(data)
    db.session.commit()
    return _show(family, 201)


@blp.get("/families/<int:family_id>")
@requires(*STAFF)
@blp.response(200, FamilyDetailSchema)
def get_family(family_id):
    """A family with its members, status history, decisions, matches, consents and duplicate flags."""
    family = families.read(family_id)
    db.session.commit()
    return _show(family)


@blp.patch("/families/<int:family_id>")
@requires(*STAFF)
@versioned
@blp.arguments(S.FamilyFieldsSchema(partial=True))
@blp.response(200, FamilyDetailSchema)
def update_family(data, family_id):
    """Change facts of a family; send ``If-Match`` with the ETag you read."""
    family = families.update(family_id, data, require_if_match)
    db.session.commit()
    return _show(family)


@blp.post("/families/<int:family_id>/status")
@requires(*STAFF)
@versioned
@blp.arguments(S.StatusChangeSchema)
@blp.response(200, FamilyDetailSchema)
@blp.alt_response(409, response="CONFLICT")
def change_status(data, family_id):
    """Move the family to another status (409 when its kind does not allow that from where it is).

    A requesting family that starts waiting gets an eligibility decision, a supporting family that
    becomes available a screening decision, from the municipality's plugins.
    """
    family = families.change_status(family_id, data["status"], data.get("reason"), require_if_match)
    db.session.commit()
    return _show(family)


@blp.post("/families/<int:family_id>/intakes")
@requires(*STAFF)
@versioned
@blp.arguments(S.IntakeSchema)
@blp.response(201, FamilyDetailSchema)
@blp.alt_response(409, response="CONFLICT")
def record_intake(data, family_id):
    family = families.record_intake(family_id, data["held_on"], data.get("notes"), require_if_match)
    db.session.commit()
    return _show(family, 201)


@blp.post("/families/<int:family_id>/triage")
@requires(*STAFF)
@versioned
@blp.arguments(S.TriageSchema)
@blp.response(200, FamilyDetailSchema)
@blp.alt_response(409, response="CONFLICT")
def record_triage(data, family_id):
    """Record the triage; the eligibility plugins then decide. Too heavy or declined: off the waiting list."""
    family = families.record_triage(family_id, data["outcome"], data["on"], require_if_match)
    db.session.commit()
    return _show(family)


@blp.post("/families/<int:family_id>/approvals")
@requires(*STAFF)
@versioned
@blp.arguments(S.ApprovalSchema)
@blp.response(201, FamilyDetailSchema)
@blp.alt_response(409, response="CONFLICT")
def approve(data, family_id):
    """Approve a supporting family as the logged-in coordinator (four eyes: two different coordinators)."""
    family = families.approve(family_id, data.get("note"), require_if_match)
    db.session.commit()
    return _show(family, 201)


@blp.post("/families/<int:family_id>/members")
@requires(*STAFF)
@versioned
@blp.arguments(S.MemberSchema)
@blp.response(201, FamilyDetailSchema)
@blp.alt_response(409, response="CONFLICT")
def add_member(data, family_id):
    """Add a household member (409 beyond the most a family has)."""
    family = families.add_member(family_id, data, require_if_match)
    db.session.commit()
    return _show(family, 201)


@blp.patch("/families/<int:family_id>/members/<int:member_id>")
@requires(*STAFF)
@versioned
@blp.arguments(S.MemberSchema(partial=True))
@blp.response(200, FamilyDetailSchema)
def update_member(data, family_id, member_id):
    family = families.update_member(family_id, member_id, data, require_if_match)
    db.session.commit()
    return _show(family)


@blp.delete("/families/<int:family_id>/members/<int:member_id>")
@requires(*STAFF)
@versioned
@blp.response(200, FamilyDetailSchema)
def remove_member(family_id, member_id):
    family = families.remove_member(family_id, member_id, require_if_match)
    db.session.commit()
    return _show(family)


@blp.get("/families/<int:family_id>/decisions")
@requires(*STAFF)
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, page_of(DecisionOutSchema))
def list_decisions(query, family_id):
    """Every decision about the family, newest first, overrides included."""
    family = families.read(family_id, "decisions")
    db.session.commit()
    return page(select(Decision).where(Decision.family_id == family.id), query, Decision.id, descending=True)


@blp.post("/families/<int:family_id>/decisions")
@requires(*STAFF)
@blp.arguments(S.DecisionSchema)
@blp.response(201, DecisionOutSchema)
def record_decision(data, family_id):
    """Record a decision made outside Koppel (e.g. before it was used), for the history.

    It is stored as *historical* and never satisfies a rule: the policy's plugins decide
    (``eligibility-decision``, ``screening-decision``), and a coordinator may override them.
    """
    decision = decision_cases.record_historical(family_id, data)
    db.session.commit()
    return decision


@blp.post("/families/<int:family_id>/decisions/<int:decision_id>/override")
@requires(*STAFF)
@blp.arguments(S.OverrideSchema)
@blp.response(201, DecisionOutSchema)
@blp.alt_response(409, response="CONFLICT")
def override_decision(data, family_id, decision_id):
    """Overrule the policy's decision; the reason (at least a sentence) is required and audited.

    Where the policy wants four eyes on screening, an override of a screening decision counts only once
    a second coordinator confirmed it (``.../confirm``).
    """
    decision = get_child_or_404(Decision, decision_id, family_id=family_id)
    new = decision_cases.override(decision, data["outcome"], data["reason"])
    db.session.commit()
    return new


@blp.post("/families/<int:family_id>/decisions/<int:decision_id>/confirm")
@requires(*STAFF)
@blp.response(200, DecisionOutSchema)
@blp.alt_response(409, response="CONFLICT")
def confirm_override(family_id, decision_id):
    """A second coordinator confirms an override (four eyes); not the coordinator who made it."""
    decision = get_child_or_404(Decision, decision_id, family_id=family_id)
    confirmed = decision_cases.confirm(decision)
    db.session.commit()
    return confirmed


@blp.post("/families/<int:family_id>/consents")
@requires(*STAFF)
@versioned
@blp.arguments(S.ConsentSchema)
@blp.response(201, ConsentOutSchema)
@blp.alt_response(409, response="CONFLICT")
def give_consent(data, family_id):
    """Record consent for a purpose, with the version of the wording the family saw; the ETag is the family's."""
    consent, family = families.give_consent(family_id, data, require_if_match)
    db.session.commit()
    return with_etag(family, consent, 201)


@blp.post("/families/<int:family_id>/consents/<int:consent_id>/withdraw")
@requires(*STAFF)
@versioned
@blp.arguments(S.WithdrawSchema)
@blp.response(200, ConsentOutSchema)
@blp.alt_response(409, response="CONFLICT")
def withdraw_consent(data, family_id, consent_id):
    """Withdraw consent; what it covered stops (see the consent service). The ETag is the family's."""
    consent, family = families.withdraw_consent(family_id, consent_id, data["on"], require_if_match)
    db.session.commit()
    return with_etag(family, consent)


@blp.get("/families/<int:family_id>/contacts")
@requires(*STAFF)
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, page_of(ContactOutSchema))
def list_family_contacts(query, family_id):
    """The family's contacts, oldest first."""
    family = families.read(family_id, "contacts")
    db.session.commit()
    return page(select(Contact).where(Contact.family_id == family.id), query, Contact.id, Contact.occurred_on)


@blp.post("/families/<int:family_id>/contacts")
@requires(*STAFF)
@blp.arguments(S.ContactSchema)
@blp.response(201, ContactOutSchema)
def log_family_contact(data, family_id):
    contact = families.log_contact(family_id, data)
    db.session.commit()
    return contact
