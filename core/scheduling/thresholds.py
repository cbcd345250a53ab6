"""The programme-review thresholds of every municipality, read in one query for the dispatcher.

A municipality's policy may enable a ``programme_review`` plugin (hook
``koppel_review_thresholds``); otherwise, or when the plugin fails, the
platform's defaults apply (:class:`core.policy.types.ReviewThresholds`).
"""
from __future__ import annotations

from sqlalchemy import func, select

from core.extensions import db
from core.policy import service
from core.policy.models import PolicyVersion
from core.policy.types import ReviewThresholds

KIND = "programme_review"
HOOK = "koppel_review_thresholds"


def of(policy: service.ActivePolicy) -> ReviewThresholds:
    """The thresholds of one policy: its programme-review plugin's, else the defaults."""
    if KIND in policy.kinds():
        for result in policy.call(HOOK):
            if result.error is None and isinstance(result.value, ReviewThresholds):
                return result.value
    return ReviewThresholds()


def by_tenant() -> dict[int, ReviewThresholds]:
    """Every municipality whose policy sets thresholds, with them (in a cross-tenant scope); the others
    use ``ReviewThresholds()``."""
    newest = (select(PolicyVersion.tenant_id, func.max(PolicyVersion.version).label("version"))
              .group_by(PolicyVersion.tenant_id).subquery())
    rows = db.session.execute(select(PolicyVersion.tenant_id, PolicyVersion.version, PolicyVersion.plugins)
                              .join(newest, (newest.c.tenant_id == PolicyVersion.tenant_id)
                                    & (newest.c.version == PolicyVersion.version)))
    out = {}
    for row in rows:
        policy = service.ActivePolicy(row.tenant_id, row.version, row.plugins)
        if KIND in policy.kinds():
            out[row.tenant_id] = of(policy)
    return out


def reminder_days_by_tenant() -> dict[int, int]:
    return {tenant: t.evaluation_reminder_days for tenant, t in by_tenant().items()}
