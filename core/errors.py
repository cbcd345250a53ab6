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
