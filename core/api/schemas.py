"""Marshmallow schemas shared by the API modules."""
from marshmallow import Schema, fields


class MunicipalitySchema(Schema):
    name = fields.String()
    cbs_code = fields.String()
    slug = fields.String()
    inhabitants = fields.Integer()
    status = fields.String()
    consortium = fields.Function(lambda m: m.consortium.slug)
