"""Every model, imported in one place so that the metadata and migrations see them all."""
from core.audit import AuditEvent
from core.auth.models import ApiToken, Membership, User, UserSession
from core.policy.models import PolicyTemplate, PolicyVersion
from core.programme.models import (
    Approval,
    Consent,
    Contact,
    Decision,
    DuplicateFlag,
    Evaluation,
    Family,
    FamilyStatusChange,
    IntakeMeeting,
    Match,
    MatchExtension,
    MatchOverride,
    MatchTransition,
    Member,
    ProgrammeTarget,
    ReferrerNotification,
)
from tenants.models import Consortium, Municipality

__all__ = [
    "ApiToken", "Approval", "AuditEvent", "Consent", "Consortium", "Contact", "Decision", "DuplicateFlag",
    "Evaluation", "Family", "FamilyStatusChange", "IntakeMeeting", "Match", "MatchExtension", "MatchTransition",
    "Member", "Membership", "Municipality", "PolicyTemplate", "PolicyVersion", "ProgrammeTarget", "ReferrerNotification", "User", "UserSession",
]
