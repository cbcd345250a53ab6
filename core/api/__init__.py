"""The REST API under /api/v1 (flask-smorest): one module per resource."""


def blueprints():
    from core.api import (
        account,
        audit_events,
        consortia,
        duplicates,
        evaluations,
        exports,
        families,
        imports,
        kpis,
        matches,
        municipalities,
        notifications,
        policy,
        privacy,
        registrations,
        reports,
        review,
        scheduled_work,
        targets,
        work_items,
    )

    return [account.blp, municipalities.blp, audit_events.blp, consortia.blp, families.blp, matches.blp,
            evaluations.blp, duplicates.blp, targets.blp, registrations.blp, imports.blp, kpis.blp, policy.blp,
            scheduled_work.blp, notifications.blp, work_items.blp, review.blp, exports.blp, reports.blp,
            privacy.blp]
