"""Errors that views raise and the app renders: JSON under /api/, a page elsewhere."""
from __future__ import annotations


class KoppelHTTPError(Exception):
    status = 500
    code = "error"
    message = "Something went wrong"

    def __init__(self, message: str | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message


class Unauthenticated(KoppelHTTPError):
    status = 401
    code = "unauthenticated"
    message = "Authentication required"


class NotFound(KoppelHTTPError):
    status = 404
    code = "not_found"
    message = "Not found"


class Forbidden(KoppelHTTPError):
    status = 403
    code = "forbidden"
    message = "Your role does not allow this"


class TenantSuspended(KoppelHTTPError):
    status = 403
    code = "tenant_suspended"
    message = "This municipality is suspended. Its data is kept, but nobody can use it until it is reactivated."


class TooManyAttempts(KoppelHTTPError):
    status = 429
    code = "too_many_attempts"
    message = "Too many failed attempts; try again later"


class Conflict(KoppelHTTPError):
    """The request is valid but the current state forbids it (a refused transition, no capacity left)."""

    status = 409
    code = "conflict"
    message = "The current state does not allow this"


class PreconditionRequired(KoppelHTTPError):
    status = 428
    code = "precondition_required"
    message = "Send If-Match with the ETag of the version you changed"


class PreconditionFailed(KoppelHTTPError):
    status = 412
    code = "precondition_failed"
    message = "The record changed since you read it; read it again and repeat your change"
