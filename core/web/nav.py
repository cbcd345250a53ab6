"""The main menu: the pages the user's roles open where they are (a municipality, a region, the platform).

A page appears once its view exists, so the menu grows with the application without templates
that name endpoints which are not there.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from core.auth import roles as R
from core.web import bp


@dataclass(frozen=True)
class Item:
    label: str
    url: str
    current: bool


#: (endpoint, label, roles that see it) per place; the first whose endpoint exists and whose roles match shows.
TENANT_MENU = (
    ("web.dashboard", _l("Dashboard"), {R.COORDINATOR, R.TENANT_ADMIN}),
    ("web.families", _l("Families"), {R.COORDINATOR, R.TENANT_ADMIN}),
    ("web.matches", _l("Matches"), {R.COORDINATOR, R.TENANT_ADMIN}),
    ("web.notifications", _l("Notifications"), {R.COORDINATOR, R.TENANT_ADMIN}),
    ("web.import_upload", _l("Import"), {R.COORDINATOR, R.TENANT_ADMIN}),
    ("web.retention_overview", _l("Retention"), {R.COORDINATOR, R.TENANT_ADMIN}),
    ("web.admin_users", _l("Users"), {R.TENANT_ADMIN}),
    ("web.admin_policy", _l("Policy"), {R.TENANT_ADMIN}),
    ("web.admin_targets", _l("Targets"), {R.TENANT_ADMIN}),
    ("web.admin_scheduled_work", _l("Scheduled work"), {R.TENANT_ADMIN}),
    ("web.admin_tokens", _l("API tokens"), {R.TENANT_ADMIN}),
    ("web.admin_audit", _l("Audit log"), {R.TENANT_ADMIN}),
    ("web.funder_home", _l("Exports"), {R.FUNDER}),
)
CONSORTIUM_MENU = (
    ("web.region", _l("Members"), {R.CONSORTIUM_ADMIN, R.PLATFORM_ADMIN}),
    ("web.region_onboard", _l("New municipality"), {R.CONSORTIUM_ADMIN}),
    ("web.region_template", _l("Policy template"), {R.CONSORTIUM_ADMIN, R.PLATFORM_ADMIN}),
    ("web.funder_home", _l("Exports"), {R.FUNDER}),
)
PLATFORM_MENU = (
    ("web.platform", _l("Consortia"), {R.PLATFORM_ADMIN}),
    ("web.platform_municipalities", _l("Municipalities"), {R.PLATFORM_ADMIN}),
    ("web.platform_plugins", _l("Plugins"), {R.PLATFORM_ADMIN}),
    ("web.platform_audit", _l("Audit log"), {R.PLATFORM_ADMIN}),
)


def _roles_here() -> tuple[tuple, frozenset[str]]:
    from core.auth.access import current_principal

    principal = current_principal()
    if principal is None:
        return (), frozenset()
    if g.get("tenant") is not None:
        return TENANT_MENU, principal.roles_for_municipality(g.tenant)
    if g.get("consortium") is not None:
        return CONSORTIUM_MENU, principal.roles_for_consortium(g.consortium)
    if request.blueprint == "web" and request.path.startswith("/platform"):
        return PLATFORM_MENU, principal.roles & R.GLOBAL_ROLES
    return (), frozenset()


@bp.app_template_global()
def nav_items() -> list[Item]:
    """The menu for this page: empty outside a municipality, region or the platform pages."""
    if not current_user.is_authenticated:
        return []
    menu, held = _roles_here()
    views = current_app.view_functions
    items = []
    for endpoint, label, roles in menu:
        if endpoint in views and held & roles:
            url = url_for(endpoint)
            current = request.path == url or (not url.endswith("/") and request.path.startswith(url + "/"))
            items.append(Item(str(label), url, current))
    return items


#: Where a membership's link on the start page leads, by role.
START = {R.COORDINATOR: "web.dashboard", R.TENANT_ADMIN: "web.dashboard", R.CONSORTIUM_ADMIN: "web.region",
         R.FUNDER: "web.funder_home", R.PLATFORM_ADMIN: "web.platform"}


@bp.app_template_global()
def membership_url(membership) -> str | None:
    """The page a membership opens (None while that page does not exist)."""
    endpoint = START[membership.role]
    if endpoint == "web.dashboard":
        return page_url(endpoint, municipality=membership.municipality.slug)
    if endpoint == "web.region":
        return page_url(endpoint, consortium=membership.consortium.slug)
    return page_url(endpoint)


@bp.app_template_global()
def page_url(endpoint: str, **values) -> str | None:
    """``url_for``, or None where the page does not exist (a page that the application may not have)."""
    return url_for(endpoint, **values) if endpoint in current_app.view_functions else None
