"""A municipality as its own members see it, and its status for the platform admin."""
from flask import g

from core.api.common import Blueprint
from core import audit
from core.api.schemas import MunicipalitySchema
from core.auth import roles as R
from core.auth.access import PLATFORM, requires
from core.extensions import db
from tenants import onboarding
from tenants.models import ACTIVE, SUSPENDED, Municipality

blp = Blueprint("municipalities", __name__, url_prefix="/api/v1", description="Municipalities (tenants)")


@blp.get("/<municipality>")
@requires(*R.ROLES)
@blp.response(200, MunicipalitySchema)
def get_municipality():
    """The municipality in the URL."""
    return db.session.get(Municipality, g.tenant.id)


def _set_status(status: str):
    municipality = db.session.get(Municipality, g.tenant.id)
    old = municipality.status
    onboarding.set_status(municipality, status)
    audit.record("municipality.status", object_type="municipality", object_id=municipality.id,
                 tenant_id=municipality.id, detail={"from": old, "to": status})
    db.session.commit()
    return municipality


@blp.post("/platform/municipalities/<municipality>/suspend")
@requires(R.PLATFORM_ADMIN, scope=PLATFORM)
@blp.response(200, MunicipalitySchema)
def suspend():
    """Suspend a municipality: its data is kept, its users are refused."""
    return _set_status(SUSPENDED)


@blp.post("/platform/municipalities/<municipality>/activate")
@requires(R.PLATFORM_ADMIN, scope=PLATFORM)
@blp.response(200, MunicipalitySchema)
def activate():
    """Reactivate a suspended municipality."""
    return _set_status(ACTIVE)
