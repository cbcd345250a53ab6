"""Marshmallow schemas shared by the API modules."""
from marshmallow import Schema, fields, validate


class MunicipalitySchema(Schema):
    name = fields.String()
    cbs_code = fields.String()
    slug = fields.String()
    inhabitants = fields.Integer()
    status = fields.String()
    consortium = fields.Function(lambda m: m.consortium.slug)


class PageQuerySchema(Schema):
    """Keyset pagination: pass the last id seen as ``before``."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    before = fields.Integer(validate=validate.Range(min=1))
