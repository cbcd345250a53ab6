"""Onboarding a municipality into a region: the same for the API and the region's wizard."""
from __future__ import annotations

from core import audit
from core.auth import roles as R
from core.usecases import users
from tenants import onboarding
from tenants.models import Consortium, Municipality


def onboard(consortium: Consortium, values: dict, *, admin_email: str | None = None, admin_name: str | None = None,
            invited_by=None) -> Municipality:
    """Add a municipality (validated ``OnboardMunicipalitySchema`` values) to *consortium*, starting from the
    region's policy template, and invite its first tenant admin when one is given; audited. The caller
    commits: all of it or nothing."""
    municipality = onboarding.add_municipality(consortium, **values)
    audit.record("municipality.onboard", object_type="municipality", object_id=municipality.id,
                 tenant_id=municipality.id, detail={"consortium": consortium.slug, "cbs_code": municipality.cbs_code})
    if admin_email is not None:
        users.invite(admin_email, admin_name, R.TENANT_ADMIN, municipality=municipality, invited_by=invited_by)
    return municipality
