"""Public, login-free registration of a family with a municipality.

The submission becomes a family in status ``registered`` that only that
municipality's coordinators see, with consent for processing recorded with
the wording version the form showed (see
:func:`core.usecases.families.register_from_form`). This module holds the
form's schema.
"""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.programme import schemas as S
from core.programme import vocabulary as V


class RegistrationMemberSchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(V.MEMBER_ROLES))
    first_name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    date_of_birth = fields.Date(allow_none=True)


class RegistrationSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(V.FAMILY_KINDS))
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    email = fields.Email(allow_none=True)
    phone = fields.String(allow_none=True, validate=validate.Length(max=32))
    postcode = fields.String(required=True, validate=validate.Regexp(S.POSTCODE, error="a Dutch postcode, e.g. 7001 AB"))
    house_number = fields.String(required=True, validate=validate.Length(min=1, max=16))
    members = fields.List(fields.Nested(RegistrationMemberSchema), load_default=list,
                          validate=validate.Length(max=12))
    support_kinds = fields.List(fields.String(validate=validate.OneOf(V.SUPPORT_KINDS)), load_default=list)
    message = fields.String(allow_none=True, validate=validate.Length(max=4000))
    referral_source = fields.String(load_default="self", validate=validate.OneOf(V.REFERRAL_SOURCES))
    consent_processing = fields.Boolean(required=True)
    consent_wording_version = fields.String(required=True, validate=validate.Length(min=1, max=32))

    @validates_schema
    def _reachable_and_consenting(self, data, **kwargs):
        errors = {}
        if not data.get("email") and not data.get("phone"):
            errors["email"] = ["give an e-mail address or a phone number so the coordinator can reach you"]
        if data.get("consent_processing") is not True:
            errors["consent_processing"] = ["we can only handle your registration with your consent"]
        if errors:
            raise ValidationError(errors)

