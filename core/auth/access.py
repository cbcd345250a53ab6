"""The one permission check that every view goes through.

A view declares who may call it with :func:`requires` (or :func:`public`);
the declaration is kept on the view as ``view.access`` so that the test
suite can check every route in Flask's URL map against it.

Order of checks for a tenant route ``/<municipality>/...``:

1. no valid login or token: 401 (the web redirects to the login page), for an unknown slug too, so an
   anonymous request cannot tell which municipalities exist (see :mod:`tenants.resolution`);
2. an unknown slug, or no relation at all to this municipality: 404, so ids and tenants cannot be probed;
3. the municipality is suspended: 403 with an explanation;
4. a relation, but not one of the view's roles: 403;
5. otherwise the tenant context is entered for the rest of the request;
6. every ``<table>_id`` in the URL must name an object of this tenant: 404
   otherwise, before the request body is even read (object-level check).

Every refusal is audited.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import wraps

from flask import g, request
from flask_login import current_user

from core import audit, cache
from core.auth import roles as R
from core.auth import tokens
from core.errors import Forbidden, NotFound, TenantSuspended, Unauthenticated
from core.types import utcnow
from tenants import context, resolution

PUBLIC, USER, TENANT, CONSORTIUM, PLATFORM = "public", "user", "tenant", "consortium", "platform"
#: No login, but inside an active municipality (the public registration form).
PUBLIC_TENANT = "public-tenant"


@dataclass(frozen=True)
class Access:
    """Who may call a view: a scope and, for scoped views, the roles."""

    scope: str
    roles: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Principal:
    """Whoever makes the request: a logged-in user or an API token."""

    label: str
    grants: tuple[tuple[str, int | None, int | None], ...]  # (role, municipality_id, consortium_id)
    user_id: int | None = None
    token_id: int | None = None
    expires_at: datetime | None = None  # tokens only

    def roles_for_municipality(self, municipality) -> frozenset[str]:
        return frozenset(
            role for role, m_id, c_id in self.grants
            if m_id == municipality.id
            or (c_id is not None and c_id == municipality.consortium_id)
            or role in R.GLOBAL_ROLES
        )

    def roles_for_consortium(self, consortium) -> frozenset[str]:
        return frozenset(
            role for role, m_id, c_id in self.grants if c_id == consortium.id or role in R.GLOBAL_ROLES
        )

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(role for role, _, _ in self.grants)


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def _principal_of(token) -> Principal:
    grants = tuple((role, token.municipality_id, token.consortium_id) for role in sorted(token.role_set))
    return Principal(label=f"token:{token.name}", grants=grants, token_id=token.id, user_id=token.created_by_id,
                     expires_at=token.expires_at)


def _principal_from_token() -> Principal | None:
    """The principal of the bearer token; verified tokens are cached briefly (see core.cache)."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, raw = header.partition(" ")
    raw = raw.strip()
    try:
        if scheme.lower() != "bearer":
            raise tokens.TokenRejected("not a bearer token")
        principal = cache.get("tokens").get_or_load(tokens.digest(raw), lambda: _principal_of(tokens.authenticate(raw)))
        if principal.expires_at <= utcnow():
            cache.get("tokens").discard(tokens.digest(raw))
            raise tokens.TokenRejected("expired")
        return principal
    except tokens.TokenRejected as exc:
        audit.record("auth.token", outcome=audit.DENIED, actor=exc.token.name if exc.token else None,
                     detail={"reason": exc.reason, "path": request.path})
        raise Unauthenticated(f"The API token is {exc.reason}" if exc.reason in ("malformed", "unknown", "expired", "revoked")
                              else "Use an Authorization: Bearer token") from None


def _principal_from_session() -> Principal | None:
    if not current_user.is_authenticated:
        return None
    grants = tuple((m.role, m.municipality_id, m.consortium_id) for m in current_user.memberships)
    return Principal(label=current_user.email, grants=grants, user_id=current_user.id)


def current_principal() -> Principal | None:
    """The request's principal: a bearer token under /api/, the session elsewhere."""
    if "principal" not in g:
        g.principal = _principal_from_token() if is_api_request() else _principal_from_session()
    return g.principal


def _refuse(error, reason: str, tenant_id: int | None = None):
    audit.record("access", outcome=audit.DENIED, tenant_id=tenant_id,
                 detail={"reason": reason, "method": request.method, "path": request.path})
    raise error


def authorize(access: Access) -> Principal | None:
    """Apply *access* to the current request; raises when refused."""
    if access.scope == PUBLIC:
        return None
    if access.scope == PUBLIC_TENANT:
        if not resolution.known(g.tenant):  # public pages: which municipalities take part is public anyway
            g.pop("tenant")
            raise NotFound()
        if g.tenant.is_suspended:
            raise TenantSuspended()
        g.tenant_token = context.enter(context.Scope(tenant_id=g.tenant.id))
        return None
    principal = current_principal()
    if principal is None:
        tenant = g.get("tenant")
        _refuse(Unauthenticated(), "not authenticated", tenant.id if tenant is not None else None)
    for place in ("tenant", "consortium"):  # an unknown slug: as a place where the caller has no role
        if place in g and not resolution.known(g.get(place)):
            g.pop(place)
            _refuse(NotFound(), "not a member")
    if access.scope == USER:
        return principal
    if access.scope == PLATFORM:
        if not principal.roles & access.roles:
            _refuse(Forbidden(), "role")
        return principal
    if access.scope == CONSORTIUM:
        held = principal.roles_for_consortium(g.consortium)
        if not held:
            _refuse(NotFound(), "not a member")
        if not held & access.roles:
            _refuse(Forbidden(), "role")
        return principal
    tenant = g.tenant
    held = principal.roles_for_municipality(tenant)
    if not held:
        _refuse(NotFound(), "not a member", tenant.id)
    if tenant.is_suspended:
        _refuse(TenantSuspended(), "suspended", tenant.id)
    if not held & access.roles:
        _refuse(Forbidden(), "role", tenant.id)
    g.roles = held
    g.tenant_token = context.enter(context.Scope(tenant_id=tenant.id))
    _check_objects()
    return principal


def _check_objects() -> None:
    """404 for any object id in the URL that is not this tenant's (loaded into the identity map for the view)."""
    from core.extensions import db
    from tenants.isolation import TENANT_MODELS

    for name, value in (request.view_args or {}).items():
        model = TENANT_MODELS.get(name[:-3]) if name.endswith("_id") else None
        if model is not None and db.session.get(model, value) is None:  # none, or another tenant's: audited
            _refuse(NotFound(f"No {model.__tablename__.replace('_', ' ')} {value}"), "no such object", g.tenant.id)


def requires(*roles: str, scope: str = TENANT):
    """Declare and enforce who may call the decorated view."""
    unknown = set(roles) - set(R.ROLES)
    if unknown or scope not in (USER, TENANT, CONSORTIUM, PLATFORM) or (scope != USER and not roles):
        raise ValueError(f"bad access declaration: scope={scope!r} roles={roles!r}")
    return lambda view: _guarded(view, Access(scope, frozenset(roles)))


def _guarded(view, access: Access):
    """*view*, with *access* checked before it runs and kept on it as ``view.access``."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        authorize(access)
        return view(*args, **kwargs)

    wrapper.access = access
    return wrapper


def public(view):
    """Declare a view open to everyone (health checks, the login page)."""
    view.access = Access(PUBLIC)
    return view


def public_in_tenant(view):
    """Declare a view open to everyone, run inside the municipality of its URL (public registration)."""
    return _guarded(view, Access(PUBLIC_TENANT))


def leave_tenant(exc=None) -> None:
    """Teardown: leave the tenant context the request entered."""
    token = g.pop("tenant_token", None)
    if token is not None:
        context.leave(token)
