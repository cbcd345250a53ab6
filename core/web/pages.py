"""The start page and a municipality's home page."""
from flask import g, render_template
from flask_login import current_user

from core.auth import roles as R
from core.auth.access import USER, requires
from core.extensions import db
from core.web import bp
from tenants.models import Municipality


@bp.get("/")
@requires(scope=USER)
def home():
    """Where the user can go: one link per municipality or consortium membership."""
    return render_template("home.html", memberships=current_user.memberships)


@bp.get("/<municipality>/")
@requires(R.COORDINATOR, R.TENANT_ADMIN)
def dashboard():
    tenant = db.session.get(Municipality, g.tenant.id)
    return render_template("dashboard.html", tenant=tenant, roles=sorted(g.roles))
