"""Every model, imported in one place so that the metadata and migrations see them all."""
from core.audit import AuditEvent
from core.auth.models import ApiToken, Membership, User, UserSession
from tenants.models import Consortium, Municipality

__all__ = ["ApiToken", "AuditEvent", "Consortium", "Membership", "Municipality", "User", "UserSession"]
