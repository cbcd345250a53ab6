"""Input validation for the programme, shared by the API, the public registration and bulk import.

Each schema names every wrong field; the services trust what comes out.
"""
from __future__ import annotations

import json
import re
from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.inputs import MAX_ID
from core.programme import vocabulary as V

POSTCODE = re.compile(r"^[1-9][0-9]{3} ?[A-Z]{2}$")
DISTRICT = re.compile(r"^WK[0-9]{6}$")
NEIGHBOURHOOD = re.compile(r"^BU[0-9]{8}$")
LANGUAGE = re.compile(r"^[a-z]{2}$")

#: The most household members a family has (at registration and by adding one).
MAX_MEMBERS = 20
#: Free-form JSON (a finding's facts): at most this many bytes serialised, and this deep.
MAX_JSON_BYTES = 16 * 1024
MAX_JSON_DEPTH = 8


class Id(fields.Integer):
    """The id of a row: 1 to 2147483647 (a PostgreSQL ``integer``), checked before any query."""

    def __init__(self, **kwargs):
        super().__init__(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def _depth(value) -> int:
    """How deep *value* nests (a scalar: 0), without recursion."""
    deepest, todo = 0, [(value, 0)]
    while todo:
        item, level = todo.pop()
        deepest = max(deepest, level)
        if level <= MAX_JSON_DEPTH:
            children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
            todo.extend((child, level + 1) for child in children)
    return deepest


def bounded_json(value) -> None:
    """Free-form JSON: at most MAX_JSON_BYTES serialised and MAX_JSON_DEPTH deep."""
    if _depth(value) > MAX_JSON_DEPTH:
        raise ValidationError(f"nested too deep: at most {MAX_JSON_DEPTH} levels")
    if len(json.dumps(value, default=str).encode()) > MAX_JSON_BYTES:
        raise ValidationError(f"too large: at most {MAX_JSON_BYTES // 1024} KB as JSON")


def _not_future(value: date) -> None:
    if value > date.today():
        raise ValidationError("may not lie in the future")


def _availability(value: dict) -> None:
    if len(value) > len(V.WEEKDAYS):
        raise ValidationError(f"at most {len(V.WEEKDAYS)} days, one per weekday")
    errors = {}
    for day, parts in value.items():
        if day not in V.WEEKDAYS:
            errors[day] = [f"not a weekday; use {', '.join(V.WEEKDAYS)}"]
        elif (not isinstance(parts, list) or len(parts) > len(V.DAY_PARTS)
              or any(not isinstance(p, str) or p not in V.DAY_PARTS for p in parts)):
            errors[day] = [f"give a list of day parts from {', '.join(V.DAY_PARTS)}"]
    if errors:
        raise ValidationError(errors)


def _codes(choices):
    """A list of codes from *choices*, at most as many as there are choices."""
    return fields.List(fields.String(validate=validate.OneOf(choices)), load_default=list,
                       validate=validate.Length(max=len(choices)))


class MemberSchema(Schema):
    id = fields.Integer(dump_only=True)
    role = fields.String(required=True, validate=validate.OneOf(V.MEMBER_ROLES))
    first_name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    last_name = fields.String(allow_none=True, validate=validate.Length(max=80))
    date_of_birth = fields.Date(allow_none=True, validate=_not_future)
    vog_issued_on = fields.Date(allow_none=True, validate=_not_future)
    external_ref = fields.String(allow_none=True, validate=validate.Length(max=64))

    @validates_schema
    def _vog_for_adults(self, data, **kwargs):
        if data.get("vog_issued_on") and data.get("role") == "child":
            raise ValidationError({"vog_issued_on": ["only adults have a certificate of conduct (VOG)"]})


class FamilyFieldsSchema(Schema):
    """The facts of a family that a coordinator may set or change."""

    display_name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    street = fields.String(allow_none=True, validate=validate.Length(max=120))
    house_number = fields.String(allow_none=True, validate=validate.Length(max=16))
    postcode = fields.String(allow_none=True, validate=validate.Regexp(POSTCODE, error="a Dutch postcode, e.g. 7001 AB"))
    city = fields.String(allow_none=True, validate=validate.Length(max=80))
    district_code = fields.String(allow_none=True, validate=validate.Regexp(DISTRICT, error="a CBS district code, e.g. WK022201"))
    neighbourhood_code = fields.String(
        allow_none=True, validate=validate.Regexp(NEIGHBOURHOOD, error="a CBS neighbourhood code, e.g. BU02220101"))
    latitude = fields.Float(allow_none=True, validate=validate.Range(min=50.5, max=53.7))
    longitude = fields.Float(allow_none=True, validate=validate.Range(min=3.2, max=7.3))
    phone = fields.String(allow_none=True, validate=validate.Length(max=32))
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    languages = fields.List(fields.String(validate=validate.Regexp(LANGUAGE, error="an ISO 639-1 code such as nl")),
                            load_default=list, validate=validate.Length(max=10))
    support_kinds = _codes(V.SUPPORT_KINDS)
    availability = fields.Dict(load_default=dict, validate=_availability)
    weekends = fields.Boolean(load_default=False)
    overnight = fields.Boolean(load_default=False)
    capacity_children = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=10))
    capacity_age_min = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=17))
    capacity_age_max = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=17))
    wishes = fields.String(allow_none=True, validate=validate.Length(max=4000))
    preferences = fields.String(allow_none=True, validate=validate.Length(max=4000))
    registered_on = fields.Date(validate=_not_future)
    referral_source = fields.String(validate=validate.OneOf(V.REFERRAL_SOURCES))
    referrer_name = fields.String(allow_none=True, validate=validate.Length(max=120))
    referrer_organisation = fields.String(allow_none=True, validate=validate.Length(max=120))
    referrer_email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    referrer_phone = fields.String(allow_none=True, validate=validate.Length(max=32))
    problem_areas = _codes(V.PROBLEM_AREAS)
    household_income = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=100_000))
    arrival_year = fields.Integer(allow_none=True, validate=validate.Range(min=1950, max=2100))
    in_professional_care = fields.Boolean(load_default=False)
    references_checked = fields.Integer(validate=validate.Range(min=0, max=20))
    training_attended_on = fields.Date(allow_none=True, validate=_not_future)
    home_visit_on = fields.Date(allow_none=True, validate=_not_future)
    agreement_signed_on = fields.Date(allow_none=True, validate=_not_future)
    external_ref = fields.String(allow_none=True, validate=validate.Length(max=64))
    former_family_id = Id(allow_none=True, metadata={
        "description": "reciprocity: the requesting family this supporting family once was"})

    @validates_schema
    def _consistent(self, data, **kwargs):
        errors = {}
        low, high = data.get("capacity_age_min"), data.get("capacity_age_max")
        if low is not None and high is not None and low > high:
            errors["capacity_age_max"] = ["must not be below capacity_age_min"]
        if data.get("arrival_year") and data["arrival_year"] > date.today().year:
            errors["arrival_year"] = ["may not lie in the future"]
        if errors:
            raise ValidationError(errors)


class FamilyCreateSchema(FamilyFieldsSchema):
    kind = fields.String(required=True, validate=validate.OneOf(V.FAMILY_KINDS))
    members = fields.List(fields.Nested(MemberSchema), load_default=list, validate=validate.Length(max=MAX_MEMBERS))

    @validates_schema
    def _kind_fields(self, data, **kwargs):
        errors = {}
        if data.get("kind") == V.REQUESTING:
            for name in ("capacity_children", "capacity_age_min", "capacity_age_max", "training_attended_on",
                         "home_visit_on", "agreement_signed_on"):
                if data.get(name) is not None:
                    errors[name] = ["applies to supporting families only"]
        elif data.get("kind") == V.SUPPORTING:
            for name in ("household_income", "arrival_year"):
                if data.get(name) is not None:
                    errors[name] = ["applies to requesting families only"]
            if data.get("problem_areas"):
                errors["problem_areas"] = ["applies to requesting families only"]
        if errors:
            raise ValidationError(errors)


class StatusChangeSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(V.FAMILY_STATUSES))
    reason = fields.String(allow_none=True, validate=validate.Length(max=2000))


class IntakeSchema(Schema):
    held_on = fields.Date(required=True, validate=_not_future)
    notes = fields.String(allow_none=True, validate=validate.Length(max=8000))


class TriageSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(V.TRIAGE_OUTCOMES))
    on = fields.Date(load_default=date.today, validate=_not_future)


class ApprovalSchema(Schema):
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))


class FindingSchema(Schema):
    rule = fields.String(required=True, validate=validate.Length(min=1, max=120))
    result = fields.String(required=True, validate=validate.OneOf(V.FINDING_RESULTS))
    facts = fields.Dict(load_default=dict, validate=bounded_json)
    explanation = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class DecisionSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(V.DECISION_KINDS))
    outcome = fields.String(required=True, validate=validate.OneOf(V.DECISION_OUTCOMES))
    findings = fields.List(fields.Nested(FindingSchema), required=True,
                           validate=[validate.Length(max=50), bounded_json])
    policy_version = Id(allow_none=True)


class OverrideSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(V.DECISION_OUTCOMES))
    reason = fields.String(required=True, validate=validate.Length(max=2000),
                           metadata={"description": "why the coordinator decides otherwise: at least a sentence"})


_OVERRIDE_REASON = fields.String(allow_none=True, validate=validate.Length(max=2000), metadata={
    "description": "when the policy refuses: the coordinator's reason to go ahead all the same (at least a "
                   "sentence); stored on the match and audited"})


class ConsentSchema(Schema):
    purpose = fields.String(required=True, validate=validate.OneOf(V.CONSENT_PURPOSES))
    wording_version = fields.String(required=True, validate=validate.Length(min=1, max=32))
    given_on = fields.Date(load_default=date.today, validate=_not_future)


class WithdrawSchema(Schema):
    on = fields.Date(load_default=date.today, validate=_not_future)


class ContactSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(V.CONTACT_KINDS))
    occurred_on = fields.Date(required=True, validate=_not_future)
    duration_minutes = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1440))
    note = fields.String(allow_none=True, validate=validate.Length(max=8000))


class MatchProposeSchema(Schema):
    requesting_family_id = Id(required=True)
    supporting_family_id = Id(required=True)
    proposed_on = fields.Date(load_default=date.today, validate=_not_future)
    children = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10))
    support_kinds = _codes(V.SUPPORT_KINDS)
    note = fields.String(allow_none=True, validate=validate.Length(max=4000))
    external_ref = fields.String(allow_none=True, validate=validate.Length(max=64))
    override_reason = _OVERRIDE_REASON


class MatchStepSchema(Schema):
    """A step of a match: introduction, trial, activation."""

    on = fields.Date(load_default=date.today, validate=_not_future)
    reason = fields.String(allow_none=True, validate=validate.Length(max=2000))


class MatchActivateSchema(MatchStepSchema):
    """The agreement the families made; terms left out take the policy's defaults."""

    agreement = fields.String(required=True, validate=validate.Length(min=1, max=8000))
    planned_end_on = fields.Date(allow_none=True)
    frequency = fields.String(allow_none=True, validate=validate.OneOf(V.FREQUENCIES))
    hours_per_session = fields.Float(allow_none=True, validate=validate.Range(min=0.5, max=48))
    overnight_stays = fields.Boolean(allow_none=True)
    override_reason = _OVERRIDE_REASON


class MatchEndSchema(MatchStepSchema):
    end_reason = fields.String(required=True, validate=validate.OneOf(V.END_REASONS))
    outcome = fields.String(load_default="unknown", validate=validate.OneOf(V.OUTCOMES))


class MatchExtendSchema(Schema):
    new_end_on = fields.Date(required=True)
    both_families_agree = fields.Boolean(required=True)
    decided_on = fields.Date(load_default=date.today, validate=_not_future)
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))


class EvaluationCompleteSchema(Schema):
    completed_on = fields.Date(load_default=date.today, validate=_not_future)
    moment = fields.String(validate=validate.OneOf(V.EVALUATION_MOMENTS))
    satisfaction_requesting = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=5))
    satisfaction_supporting = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=5))
    goal_progress = fields.String(allow_none=True, validate=validate.Length(max=8000))
    parenting = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=5))
    parent_wellbeing = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=5))
    children_wellbeing = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=5))
    family_management = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=5))
    decision = fields.String(required=True, validate=validate.OneOf(V.EVALUATION_DECISIONS))
    notes = fields.String(allow_none=True, validate=validate.Length(max=8000))


class TargetSchema(Schema):
    new_matches_min = fields.Integer(required=True, validate=validate.Range(min=0, max=10_000))
    new_matches_max = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=10_000))
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))

    @validates_schema
    def _range(self, data, **kwargs):
        if data.get("new_matches_max") is not None and data["new_matches_max"] < data["new_matches_min"]:
            raise ValidationError({"new_matches_max": ["must not be below new_matches_min"]})
