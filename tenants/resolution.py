"""Finding the tenant from the URL.

Pages live under ``/<municipality>/...`` and the API under
``/api/v1/<municipality>/...``; consortium routes use ``<consortium>``.
The slug is taken out of the view arguments and the row put on ``g``
(``g.tenant`` or ``g.consortium``); an unknown slug answers 404. The tenant
is never taken from a request body. Access checks follow in
:mod:`core.auth.access`.
"""
from __future__ import annotations

from flask import g
from sqlalchemy import select

from core.errors import NotFound
from core.extensions import db
from tenants.models import Consortium, Municipality


def _pull_slugs(endpoint, values):
    if not values:
        return
    if "municipality" in values:
        slug = values.pop("municipality")
        g.tenant = db.session.scalar(select(Municipality).where(Municipality.slug == slug))
        if g.tenant is None:
            raise NotFound(f"No municipality '{slug}'")
    if "consortium" in values:
        slug = values.pop("consortium")
        g.consortium = db.session.scalar(select(Consortium).where(Consortium.slug == slug))
        if g.consortium is None:
            raise NotFound(f"No consortium '{slug}'")


def _fill_slugs(endpoint, values):
    from flask import current_app

    arguments = set().union(*(rule.arguments for rule in current_app.url_map.iter_rules(endpoint)))
    if "municipality" in arguments and "municipality" not in values and g.get("tenant") is not None:
        values["municipality"] = g.tenant.slug
    if "consortium" in arguments and "consortium" not in values and g.get("consortium") is not None:
        values["consortium"] = g.consortium.slug


def init_app(app) -> None:
    app.url_value_preprocessor(_pull_slugs)
    app.url_defaults(_fill_slugs)
