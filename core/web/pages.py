"""The start page and a municipality's dashboard."""
from datetime import date

from flask import g, render_template
from flask_login import current_user

from core.auth import roles as R
from core.auth.access import USER, requires
from core.extensions import db
from core.usecases import dashboard as read_model
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
    """The coordinator's overview: the waiting list, evaluations due, early warnings, trends and targets."""
    tenant = db.session.get(Municipality, g.tenant.id)
    overview = read_model.overview(date.today())
    return render_template("dashboard.html", tenant=tenant, consortium=tenant.consortium, roles=sorted(g.roles),
                           overview=overview)
