"""Impact preview: what a policy change would do to the families waiting now, without writing anything."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from core.extensions import db
from core.policy import decide, service
from core.policy import facts as facts_module
from core.programme import vocabulary as V
from core.programme.models import Family

#: The requesting families a change can still affect.
OPEN_STATUSES = (V.REGISTERED, V.INTAKE, V.WAITING)


def preview(tenant_id: int, plugins: dict, today: date | None = None) -> dict:
    """Eligibility of the municipality's open requesting families under the current and the proposed policy.

    E.g. "with the poverty threshold at 130 %, 14 waiting families become
    eligible, 2 lose eligibility". The proposed plugins are validated first.
    """
    today = today or date.today()
    current = service.current(tenant_id)
    proposed = current.proposal(plugins)
    ids = list(db.session.scalars(select(Family.id).where(Family.kind == V.REQUESTING,
                                                          Family.status.in_(OPEN_STATUSES))))
    facts = facts_module.families(ids, today)
    became, lost, other, unchanged = [], [], [], 0
    for family_id in sorted(facts):
        before, _ = decide.evaluate("eligibility", current, facts[family_id], today)
        after, _ = decide.evaluate("eligibility", proposed, facts[family_id], today)
        if before == after:
            unchanged += 1
        elif after == "eligible":
            became.append(family_id)
        elif before == "eligible":
            lost.append(family_id)
        else:
            other.append({"family_id": family_id, "from": before, "to": after})
    return {
        "current_version": current.version, "families": len(facts), "unchanged": unchanged,
        "become_eligible": became, "lose_eligibility": lost, "other_changes": other,
        "change": service.diff(current.plugins, proposed.plugins),
        "summary": f"{len(became)} of {len(facts)} open requesting families become eligible, "
                   f"{len(lost)} lose eligibility, {len(other)} change otherwise",
    }
