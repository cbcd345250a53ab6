"""The REST API under /api/v1 (flask-smorest): one module per resource."""


def blueprints():
    from core.api import (
        account,
        audit_events,
        consortia,
        duplicates,
        evaluations,
        families,
        imports,
        kpis,
        matches,
        municipalities,
        policy,
        registrations,
        targets,
    )

    return [account.blp, municipalities.blp, audit_events.blp, consortia.blp, families.blp, matches.blp,
            evaluations.blp, duplicates.blp, targets.blp, registrations.blp, imports.blp, kpis.blp, policy.blp]
