"""A consortium's member municipalities, and onboarding new ones."""
from flask import g
from sqlalchemy import select

from core.api.common import Blueprint, PageQuerySchema, page, page_of
from core.usecases import onboarding as onboarding_cases
from core.api.schemas import MunicipalitySchema
from core.auth import roles as R
from core.auth.access import CONSORTIUM, requires
from core.extensions import db
from tenants import onboarding
from tenants.models import Municipality

blp = Blueprint("consortia", __name__, url_prefix="/api/v1/consortia", description="Consortia (regions)")


@blp.get("/<consortium>/municipalities")
@requires(R.CONSORTIUM_ADMIN, R.PLATFORM_ADMIN, scope=CONSORTIUM)
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, page_of(MunicipalitySchema))
def list_members(query):
    """The consortium's municipalities, by name."""
    statement = select(Municipality).where(Municipality.consortium_id == g.consortium.id)
    return page(statement, query, Municipality.id, Municipality.name)


@blp.post("/<consortium>/municipalities")
@requires(R.CONSORTIUM_ADMIN, R.PLATFORM_ADMIN, scope=CONSORTIUM)
@blp.arguments(onboarding.OnboardMunicipalitySchema)
@blp.response(201, MunicipalitySchema)
def onboard(data):
    """Onboard a municipality into the consortium (CBS code GM + 4 digits, unique slug)."""
    municipality = onboarding_cases.onboard(g.consortium, data)
    db.session.commit()
    return municipality
