"""The public registration form's endpoint: no login, rate limited per IP and per municipality."""
from __future__ import annotations

from datetime import date

from flask import current_app, g
from marshmallow import Schema, fields

from core.api.common import Blueprint
from core.auth.access import public_in_tenant
from core.extensions import db, limiter
from core.programme import registration
from core.usecases import families

blp = Blueprint("registrations", __name__, url_prefix="/api/v1/<municipality>", description="Public registration")


class ReceiptSchema(Schema):
    received = fields.Boolean()
    municipality = fields.String()
    registered_on = fields.Date()


@blp.post("/registrations")
@limiter.limit(lambda: current_app.config["REGISTRATION_LIMIT_PER_IP"])
@limiter.limit(lambda: current_app.config["REGISTRATION_LIMIT_PER_MUNICIPALITY"],
               key_func=lambda: f"municipality:{g.tenant.id}", scope="registrations-per-municipality")
@public_in_tenant
@blp.arguments(registration.RegistrationSchema)
@blp.response(201, ReceiptSchema)
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
def register(data):
    """Register a family with the municipality (no login). A coordinator will get in touch."""
    families.register_from_form(data)
    db.session.commit()
    return {"received": True, "municipality": g.tenant.name, "registered_on": date.today()}
