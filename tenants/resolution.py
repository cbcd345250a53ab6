"""Finding the tenant from the URL.

Pages live under ``/<municipality>/...`` and the API under
``/api/v1/<municipality>/...``; consortium routes use ``<consortium>``.
The slug is taken out of the view arguments and the tenant put on ``g``
(``g.tenant``, a :class:`TenantRef`, or ``g.consortium``). The tenant is
never taken from a request body. Access checks follow in
:mod:`core.auth.access`.

An unknown slug gives an :class:`Unknown` place, not an error here: the
access check answers it as it answers a known place to the same caller
(401, or the login page, without credentials; 404 with credentials but no
role there, as for another municipality), so an anonymous request cannot
tell which municipalities exist. Unknown slugs are cached like known ones,
so both cost the same. The public pages of a municipality (the
registration form) answer 404 for an unknown one: which municipalities
take part is public anyway.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g
from sqlalchemy import select

from core import cache
from core.extensions import db
from tenants.models import SUSPENDED, Consortium, Municipality


@dataclass(frozen=True)
class TenantRef:
    """What a request needs to know of its municipality (cached briefly, see :mod:`core.cache`).

    Load the :class:`Municipality` row with ``db.session.get(Municipality, ref.id)`` for more.
    """

    id: int
    slug: str
    name: str
    consortium_id: int
    status: str

    @property
    def is_suspended(self) -> bool:
        return self.status == SUSPENDED


@dataclass(frozen=True)
class Unknown:
    """A slug that names no municipality or consortium: it has no id, so no membership or grant matches it."""

    slug: str
    id: None = None
    name: str = ""
    consortium_id: None = None
    status: str = "unknown"
    is_suspended: bool = False


def known(place) -> bool:
    """Whether *place* (``g.tenant`` or ``g.consortium``) exists."""
    return place is not None and not isinstance(place, Unknown)


def _load_tenant(slug: str) -> TenantRef | Unknown:
    row = db.session.execute(select(Municipality.id, Municipality.slug, Municipality.name, Municipality.consortium_id,
                                    Municipality.status).where(Municipality.slug == slug)).first()
    return TenantRef(*row) if row else Unknown(slug)


def forget(slug: str) -> None:
    """Drop a municipality from this process's cache (after its status changed)."""
    cache.get("tenants").discard(slug)


def _pull_slugs(endpoint, values):
    if not values:
        return
    if "municipality" in values:
        slug = values.pop("municipality")
        g.tenant = cache.get("tenants").get_or_load(slug, lambda: _load_tenant(slug))
    if "consortium" in values:
        slug = values.pop("consortium")
        g.consortium = db.session.scalar(select(Consortium).where(Consortium.slug == slug)) or Unknown(slug)


def _fill_slugs(endpoint, values):
    arguments = set().union(*(rule.arguments for rule in current_app.url_map.iter_rules(endpoint)))
    if "municipality" in arguments and "municipality" not in values and g.get("tenant") is not None:
        values["municipality"] = g.tenant.slug
    if "consortium" in arguments and "consortium" not in values and g.get("consortium") is not None:
        values["consortium"] = g.consortium.slug


def init_app(app) -> None:
    app.url_value_preprocessor(_pull_slugs)
    app.url_defaults(_fill_slugs)
