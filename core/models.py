"""Every model, imported in one place so that the metadata and migrations see them all."""
from core.audit import AuditEvent
from core.auth.models import ApiToken, LoginSource, Membership, RecoveryCode, User, UserSession
from core.crypto.models import TenantDataKey
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
from core.programme.retention import DestructionItem, DestructionList
from core.programme.registration import PendingRegistration
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
    "ApiToken", "Approval", "AuditEvent", "Consent", "Consortium", "ConsortiumKpiSnapshot", "Contact", "Decision", "DestructionItem", "DestructionList", "DuplicateFlag",
    "EarlyWarning", "ExportDelivery", "ExportRun", "ExportSchedule", "FunderSecret", "Evaluation", "Family", "FamilyStatusChange", "ImportJob", "IntakeMeeting", "KpiSnapshot", "Match", "MatchExtension", "MatchTransition",
    "Member", "Membership", "Municipality", "Notification", "PendingRegistration", "PolicyTemplate", "PolicyVersion", "ProgrammeTarget", "ReferrerNotification", "ScheduledItem", "TenantDataKey", "User",
    "UserSession", "WorkItem",
]
