"""Roles and where each one applies."""

COORDINATOR = "coordinator"
TENANT_ADMIN = "tenant_admin"
CONSORTIUM_ADMIN = "consortium_admin"
FUNDER = "funder"
PLATFORM_ADMIN = "platform_admin"

ROLES = (COORDINATOR, TENANT_ADMIN, CONSORTIUM_ADMIN, FUNDER, PLATFORM_ADMIN)

#: What a membership of each role is attached to.
MUNICIPALITY_ROLES = frozenset({COORDINATOR, TENANT_ADMIN, FUNDER})
CONSORTIUM_ROLES = frozenset({CONSORTIUM_ADMIN, FUNDER})
GLOBAL_ROLES = frozenset({PLATFORM_ADMIN})
