"""A changed policy decides again on the families still waiting for a match.

A requesting family that is registered, in intake, in screening or waiting,
whose latest decision of the policy (of a kind) was made under another
version than the municipality's current one, is decided again through the
use case (:func:`core.usecases.decisions.decide`) for each such kind: the new
decision is stored beside the old one, which stays as it was. The
coordinators are notified only when an outcome changed. A municipality
without a policy version has nothing to decide again under.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from core import notifications
from core.extensions import db
from core.messages import Label, Message
from core.policy import facts as facts_module
from core.policy import service
from core.policy.models import PolicyVersion
from core.programme import decisions
from core.programme import vocabulary as V
from core.programme.models import Decision, Family
from core.scheduling.registry import Due, Kind, local_today, register
from core.types import utcnow
from core.usecases import decisions as decide_usecase

#: The statuses of a requesting family that still waits for a match.
WAITING = (V.REGISTERED, V.INTAKE, V.SCREENING, V.WAITING)


def _newest_versions() -> dict[int, tuple[int, datetime]]:
    """Each municipality's newest policy version and when it was made (one query)."""
    newest = (select(PolicyVersion.tenant_id, func.max(PolicyVersion.version).label("version"))
              .group_by(PolicyVersion.tenant_id).subquery())
    rows = db.session.execute(select(PolicyVersion.tenant_id, PolicyVersion.version, PolicyVersion.created_at)
                              .join(newest, (newest.c.tenant_id == PolicyVersion.tenant_id)
                                    & (newest.c.version == PolicyVersion.version)))
    return {row.tenant_id: (row.version, row.created_at) for row in rows}


def _stale(decision_version: int | None, current: int) -> bool:
    return (decision_version or 0) != current


def find(now: datetime) -> list[Due]:
    versions = _newest_versions()
    if not versions:
        return []
    latest = (select(func.max(Decision.id).label("id")).where(Decision.source == V.POLICY)
              .group_by(Decision.family_id, Decision.kind).subquery())
    rows = db.session.execute(
        select(Decision.family_id, Decision.tenant_id, Decision.policy_version)
        .join(latest, latest.c.id == Decision.id).join(Family, Family.id == Decision.family_id)
        .where(Family.kind == V.REQUESTING, Family.status.in_(WAITING), Family.tenant_id.in_(list(versions))))
    found = {}
    for r in rows:
        version, made_at = versions[r.tenant_id]
        if _stale(r.policy_version, version):
            key = f"redecide:{r.family_id}:{version}"
            found[key] = Due(r.tenant_id, key, made_at, r.family_id)
    return list(found.values())


def run(item) -> None:
    family = db.session.get(Family, item.subject_id)
    if family is None or family.kind != V.REQUESTING or family.status not in WAITING:
        return  # matched or closed since: nothing to decide
    policy = service.current(family.tenant_id)
    if policy.version == 0:
        return
    today = local_today(utcnow())
    facts = facts_module.family(family, today)
    for kind in V.DECISION_KINDS:
        old = decisions.latest(family, kind)
        if old is None or not _stale(old.policy_version, policy.version):
            continue
        new = decide_usecase.decide(kind, family, today, policy=policy, facts=facts)
        if new.outcome != old.outcome:
            message = Message('Under policy version %(version)s the %(kind)s decision on family %(family)s changed '
                              'from "%(old)s" to "%(new)s".',
                              {"version": policy.version, "kind": Label("decision_kind", kind), "family": family.id,
                               "old": Label("decision_outcome", old.outcome),
                               "new": Label("decision_outcome", new.outcome)}, code="decision_changed")
            notifications.notify(notifications.staff(family.tenant_id), "redecide",
                                 f"redecide:{family.id}:{policy.version}:{kind}", message,
                                 subject_type="family", subject_id=family.id)


register(Kind("redecide", {"nl": "Opnieuw beslissen na een beleidswijziging",
                           "en": "Deciding again after a change of policy"}, run, find))
