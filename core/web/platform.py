"""The platform admin's pages: consortia, municipalities (suspend, reactivate), installed plugins.

Each page reads a fixed number of statements, however many consortia, municipalities and policies there
are. Suspending and reactivating go through :func:`tenants.onboarding.set_status` and are audited as the
API's (:mod:`core.api.municipalities`).
"""
from __future__ import annotations

from collections import defaultdict
from importlib.metadata import entry_points

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import case, func, select
from wtforms import HiddenField, StringField
from wtforms.validators import Length

from core import audit
from core.auth import roles as R
from core.auth.access import PLATFORM, requires
from core.extensions import db
from core.policy import manager
from core.policy.models import PolicyVersion
from core.web import bp
from core.web.forms import Refused, attempt
from tenants import onboarding
from tenants.context import cross_tenant_scope
from tenants.models import ACTIVE, SUSPENDED, Consortium, Municipality

#: The kinds of policy plugins, as people read them.
PLUGIN_KINDS = {
    "eligibility": _l("eligibility"), "screening": _l("screening"), "funding": _l("funding"),
    "report_format": _l("report format"), "matching": _l("matching"), "evaluation_plan": _l("evaluation plan"),
    "outcome_instrument": _l("outcome instrument"), "match_terms": _l("match terms"),
    "programme_review": _l("programme review"),
}
STATUS_LABELS = {ACTIVE: _l("active"), SUSPENDED: _l("suspended")}


def plugin_kind_label(kind: str) -> str:
    return str(PLUGIN_KINDS.get(kind, kind))


class ConsortiumForm(FlaskForm):
    name = StringField(_l("Name of the region"), validators=[Length(max=120)])
    slug = StringField(_l("Web address"), validators=[Length(max=63)])


class StatusForm(FlaskForm):
    status = HiddenField()


# ----------------------------------------------------------------------------- consortia

def _consortia():
    counts = (select(Municipality.consortium_id, func.count(Municipality.id).label("members"),
                     func.sum(case((Municipality.status == SUSPENDED, 1), else_=0)).label("suspended"))
              .group_by(Municipality.consortium_id).subquery())
    return db.session.execute(
        select(Consortium, func.coalesce(counts.c.members, 0), func.coalesce(counts.c.suspended, 0))
        .outerjoin(counts, counts.c.consortium_id == Consortium.id).order_by(Consortium.name)).all()


def _add_consortium(name: str, slug: str) -> Consortium:
    consortium = onboarding.add_consortium(name, slug)
    audit.record("consortium.create", object_type="consortium", object_id=consortium.id,
                 detail={"slug": consortium.slug})
    return consortium


@bp.route("/platform/", methods=["GET", "POST"])
@requires(R.PLATFORM_ADMIN, scope=PLATFORM)
def platform():
    """The consortia (regions) with their member counts; add a consortium."""
    form = ConsortiumForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            name, slug = (form.name.data or "").strip(), (form.slug.data or "").strip().lower()
            if not slug:
                from core.web.region import slug_of

                slug = slug_of(name)
            try:
                consortium = attempt(form, _add_consortium, name, slug)
                flash(_("Region %(name)s was added. Its administrator can now onboard municipalities.",
                        name=consortium.name), "success")
                return redirect(url_for("web.platform"))
            except Refused:
                pass
        status = 422
    return render_template("platform/consortia.html", consortia=_consortia(), form=form), status


# ----------------------------------------------------------------------------- municipalities

@bp.get("/platform/municipalities")
@requires(R.PLATFORM_ADMIN, scope=PLATFORM)
def platform_municipalities():
    """Every municipality with its region and status; suspend or reactivate."""
    rows = db.session.execute(select(Municipality, Consortium.name, Consortium.slug)
                              .join(Consortium, Consortium.id == Municipality.consortium_id)
                              .order_by(Municipality.name)).all()
    return render_template("platform/municipalities.html", rows=rows, status_labels=STATUS_LABELS)


def _set_status(municipality: Municipality, status: str) -> Municipality:
    old = municipality.status
    onboarding.set_status(municipality, status)
    audit.record("municipality.status", object_type="municipality", object_id=municipality.id,
                 tenant_id=municipality.id, detail={"from": old, "to": status})
    return municipality


@bp.post("/platform/municipalities/<municipality>/status")
@requires(R.PLATFORM_ADMIN, scope=PLATFORM)
def platform_municipality_status():
    """Suspend (its data is kept, its users are refused) or reactivate a municipality; audited."""
    municipality = db.session.get(Municipality, g.tenant.id)
    form = StatusForm()
    if not form.validate_on_submit() or form.status.data not in (ACTIVE, SUSPENDED):
        flash(_("Choose to suspend or to reactivate."), "error")
        return redirect(url_for("web.platform_municipalities")), 303
    try:
        attempt(form, _set_status, municipality, form.status.data)
    except Refused:
        flash(" ".join(form.form_errors) or _("The status could not be changed."), "error")
        return redirect(url_for("web.platform_municipalities")), 303
    if form.status.data == SUSPENDED:
        flash(_("%(name)s is suspended. Its data is kept; nobody can use it until it is reactivated.",
                name=municipality.name), "success")
    else:
        flash(_("%(name)s is active again.", name=municipality.name), "success")
    return redirect(url_for("web.platform_municipalities"))


# ----------------------------------------------------------------------------- plugins

def _packages() -> dict[str, tuple[str, str]]:
    """Each plugin's package and the package's version, from its entry point."""
    found = {}
    for entry_point in entry_points(group=manager.ENTRY_POINT_GROUP):
        dist = entry_point.dist
        found[entry_point.name] = (dist.name if dist else "", dist.version if dist else "")
    return found


def _enabled_where() -> dict[str, list[str]]:
    """For each plugin, the municipalities whose current policy enables it (one statement for all)."""
    newest = (select(PolicyVersion.tenant_id, func.max(PolicyVersion.version).label("version"))
              .group_by(PolicyVersion.tenant_id).subquery())
    with cross_tenant_scope("platform-maintenance"):
        rows = db.session.execute(
            select(Municipality.name, PolicyVersion.plugins)
            .join(newest, (newest.c.tenant_id == PolicyVersion.tenant_id) & (newest.c.version == PolicyVersion.version))
            .join(Municipality, Municipality.id == PolicyVersion.tenant_id).order_by(Municipality.name)).all()
    where = defaultdict(list)
    for name, plugins in rows:
        for plugin in plugins or {}:
            where[plugin].append(name)
    return where


@bp.get("/platform/plugins")
@requires(R.PLATFORM_ADMIN, scope=PLATFORM)
def platform_plugins():
    """The installed policy plugins: kind, version, package, and the municipalities that enable each."""
    language = get_locale().language
    packages = _packages()
    where = _enabled_where()
    plugins = [{"name": name, "kind": plugin_kind_label(cls.kind), "kind_code": cls.kind, "version": cls.version,
                "title": cls.title.get(language) or cls.title.get("nl") or name,
                "package": packages.get(name, ("", ""))[0], "package_version": packages.get(name, ("", ""))[1],
                "enabled_in": where.get(name, [])}
               for name, cls in manager.installed().items()]
    plugins.sort(key=lambda p: (list(PLUGIN_KINDS).index(p["kind_code"]) if p["kind_code"] in PLUGIN_KINDS else 99,
                                p["name"]))
    return render_template("platform/plugins.html", plugins=plugins)

