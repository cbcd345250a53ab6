"""Every model, imported in one place so that the metadata and migrations see them all."""
from core.audit import AuditEvent
from core.auth.models import ApiToken, Membership, User, UserSession
from core.exports.models import ExportDelivery, ExportRun, ExportSchedule, FunderSecret
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
from core.scheduling.models import (
    ConsortiumKpiSnapshot,
    EarlyWarning,
    ImportJob,
    KpiSnapshot,
    Notification,
    ScheduledItem,
    WorkItem,
)
from tenants.models import Consortium, Municipality

__all__ = [
    "ApiToken", "Approval", "AuditEvent", "Consent", "Consortium", "ConsortiumKpiSnapshot", "Contact", "Decision", "DuplicateFlag",
    "EarlyWarning", "ExportDelivery", "ExportRun", "ExportSchedule", "FunderSecret", "Evaluation", "Family", "FamilyStatusChange", "ImportJob", "IntakeMeeting", "KpiSnapshot", "Match", "MatchExtension", "MatchTransition",
    "Member", "Membership", "Municipality", "Notification", "PolicyTemplate", "PolicyVersion", "ProgrammeTarget", "ReferrerNotification", "ScheduledItem", "User",
    "UserSession", "WorkItem",
]
