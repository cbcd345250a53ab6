"""The public registration form's endpoint: no login, rate limited per client IP, confirmed by e-mail.

A registration is kept until the link mailed to its address is opened and confirmed (see
:mod:`core.usecases.registrations`); only then do the municipality's coordinators see it. The answer is the
same whether or not a mail went out (an address that got one minutes ago gets none).
"""
from __future__ import annotations

from flask import current_app, g
from marshmallow import Schema, fields

from core.api.common import Blueprint
from core.auth.access import public_in_tenant
from core.extensions import db, limiter
from core.programme import registration
from core.usecases import registrations

blp = Blueprint("registrations", __name__, url_prefix="/api/v1/<municipality>", description="Public registration")


class ReceiptSchema(Schema):
    received = fields.Boolean()
    municipality = fields.String()
    confirm_within_hours = fields.Integer(metadata={
        "description": "the registration reaches the municipality once the link mailed to its address is opened "
                       "within this many hours"})


@blp.post("/registrations")
@limiter.limit(lambda: current_app.config["REGISTRATION_LIMIT_PER_IP"])
@public_in_tenant
@blp.arguments(registration.RegistrationSchema)
@blp.response(202, ReceiptSchema)
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
def register(data):
    """Register a family with the municipality (no login). A mail asks to confirm; then a coordinator will
    get in touch."""
    registrations.submit(data)
    db.session.commit()
    return {"received": True, "municipality": g.tenant.name,
            "confirm_within_hours": current_app.config["REGISTRATION_CONFIRM_HOURS"]}
