"""Tenancy: consortia and municipalities, the tenant context, and isolation.

Isolation holds in two independent layers (see DESIGN.md):

* the ORM layer (:mod:`tenants.isolation`) filters every SELECT, UPDATE and
  DELETE on tenant-owned models to the current tenant, refuses to flush rows
  of another tenant, and fails closed when no tenant context is set;
* PostgreSQL row-level security (:mod:`tenants.rls`), keyed on a
  transaction-local setting that counts only with its MAC, for everything the
  ORM layer does not reach; cross-tenant scopes run as a database role of
  their own (:mod:`tenants.session`).
"""
