"""Errors that views raise and the app renders: JSON under /api/, a page elsewhere.

An error carries a stable ``code`` and a message; the message may be a
:class:`~core.messages.Message`, whose parameters travel beside the text
(``params``) and which is rendered in the reader's language. ``details`` is
more structured data for the body (e.g. the findings a refusal rests on).
"""
from __future__ import annotations

from core.messages import Message, render


class KoppelHTTPError(Exception):
    status = 500
    code = "error"
    message = "Something went wrong"

    def __init__(self, message: Message | str | None = None, *, code: str | None = None, **details):
        message = message or self.message
        super().__init__(render(message, "en"))
        self.message = message
        if code or (isinstance(message, Message) and message.code):
            self.code = code or message.code
        self.details = details

    @property
    def params(self) -> dict:
        return self.message.as_dict()["params"] if isinstance(self.message, Message) else {}

    def text(self, language: str | None = None) -> str:
        """The message in *language* (default: the request's)."""
        return render(self.message, language)


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
