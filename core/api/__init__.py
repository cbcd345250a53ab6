"""The REST API under /api/v1 (flask-smorest): one module per resource."""


def blueprints():
    from core.api import account, audit_events, consortia, municipalities

    return [account.blp, municipalities.blp, audit_events.blp, consortia.blp]
