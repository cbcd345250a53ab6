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

#: Who may read a municipality's policy and its versions (the coordinators too: it decides their work),
#: and who may preview a change (saving it is the tenant admin's alone).
POLICY_READERS = (TENANT_ADMIN, CONSORTIUM_ADMIN, COORDINATOR)
POLICY_PREVIEWERS = (TENANT_ADMIN, CONSORTIUM_ADMIN)
