"""Families: registration, facts, members, status with history, intake, triage, approvals."""
from __future__ import annotations

from datetime import date

from marshmallow import ValidationError
from sqlalchemy import select

from core import audit
from core.errors import Conflict
from core.extensions import db
from core.messages import Label, Labels, Message
from core.programme import duplicates
from core.programme import vocabulary as V
from core.programme.models import Approval, Family, FamilyStatusChange, IntakeMeeting, Member
from core.programme.schemas import MAX_MEMBERS
from core.types import utcnow

#: Allowed status changes per kind. Matching moves families to and from ``matched`` itself.
TRANSITIONS = {
    V.REQUESTING: {
        V.REGISTERED: {V.INTAKE, V.WAITING, V.CLOSED},
        V.INTAKE: {V.WAITING, V.CLOSED},
        V.WAITING: {V.INTAKE, V.CLOSED},
        V.MATCHED: {V.CLOSED},
        V.CLOSED: {V.REGISTERED},
    },
    V.SUPPORTING: {
        V.REGISTERED: {V.INTAKE, V.SCREENING, V.CLOSED},
        V.INTAKE: {V.SCREENING, V.CLOSED},
        V.SCREENING: {V.AVAILABLE, V.CLOSED},
        V.AVAILABLE: {V.PAUSED, V.SCREENING, V.CLOSED},
        V.PAUSED: {V.AVAILABLE, V.CLOSED},
        V.MATCHED: {V.CLOSED},
        V.CLOSED: {V.REGISTERED},
    },
}

#: Fields written in the audit log by name only: the values are special-category data.
_AUDIT_VALUES = frozenset({"status", "kind"})


def create(data: dict) -> Family:
    """Register a family from validated ``FamilyCreateSchema`` data; flags possible duplicates."""
    members = data.pop("members", [])
    family = Family(**data)
    _check_former(family)
    family.members = [Member(**m) for m in members]
    db.session.add(family)
    db.session.flush()
    _history(family, None, family.status, "registered")
    flags = duplicates.flag(family)
    audit.record("family.create", object_type="family", object_id=family.id,
                 detail={"kind": family.kind, "duplicates_flagged": len(flags)})
    return family


def update(family: Family, data: dict) -> Family:
    """Change facts of a family (validated ``FamilyFieldsSchema`` data, partial)."""
    if family.kind == V.REQUESTING and any(data.get(f) is not None for f in ("capacity_children", "training_attended_on")):
        raise ValidationError({"capacity_children": [Message("Applies to supporting families only.", code="supporting_only")]})
    changed = sorted(name for name, value in data.items() if getattr(family, name) != value)
    for name in changed:
        setattr(family, name, data[name])
    _check_former(family)
    db.session.flush()
    if {"display_name", "postcode", "house_number"} & set(changed):
        duplicates.flag(family)
    audit.record("family.update", object_type="family", object_id=family.id, detail={"fields": changed})
    return family


def _check_former(family: Family) -> None:
    """Reciprocity: only a supporting family can have been a requesting family, of this municipality."""
    if family.former_family_id is None:
        return
    former = db.session.get(Family, family.former_family_id)
    if family.kind != V.SUPPORTING:
        raise ValidationError({"former_family_id": [Message("Only a supporting family can have been a requesting family.", code="former_family_not_allowed")]})
    if former is None or former.kind != V.REQUESTING or former.id == family.id:
        raise ValidationError({"former_family_id": [Message("No requesting family %(id)s here.", {"id": family.former_family_id}, code="no_such_family")]})


def change_status(family: Family, status: str, reason: str | None = None) -> Family:
    """Move a family to *status* if its kind allows that from where it is (409 otherwise)."""
    allowed = tuple(sorted(TRANSITIONS[family.kind].get(family.status, set())))
    if status not in allowed:
        params = {"kind": Label("family_kind", family.kind), "status": Label("family_status", family.status),
                  "to": Label("family_status", status), "allowed": Labels("family_status", allowed, "or")}
        if not allowed:
            raise Conflict(Message("A %(kind)s cannot go from %(status)s to %(to)s.", params,
                                   code="status_not_allowed"))
        raise Conflict(Message("A %(kind)s cannot go from %(status)s to %(to)s; it can go to %(allowed)s.", params,
                               code="status_not_allowed"))
    set_status(family, status, reason)
    return family


def set_status(family: Family, status: str, reason: str | None) -> None:
    """Record a status change with its history (the caller has checked it is allowed)."""
    if family.status == status:
        return
    old = family.status
    family.status, family.status_changed_at = status, utcnow()
    _history(family, old, status, reason)
    audit.record("family.status", object_type="family", object_id=family.id, detail={"from": old, "to": status})


def _history(family: Family, old: str | None, new: str, reason: str | None) -> None:
    family.status_changes.append(FamilyStatusChange(
        family_id=family.id, from_status=old, to_status=new, reason=reason, by_user_id=audit.actor_user_id()))


def add_member(family: Family, data: dict) -> Member:
    """Add a household member; a family has at most MAX_MEMBERS (Conflict beyond)."""
    if len(family.members) >= MAX_MEMBERS:
        raise Conflict(Message("A family has at most %(limit)s members.", {"limit": MAX_MEMBERS},
                               code="too_many_members"))
    if data.get("vog_issued_on") and family.kind != V.SUPPORTING:
        raise ValidationError({"vog_issued_on": [Message("A certificate of conduct (VOG) is recorded for supporting families.", code="vog_supporting_only")]})
    member = Member(**data)
    family.members.append(member)
    family.updated_at = utcnow()  # a new version of the family: its facts changed
    db.session.flush()
    duplicates.flag(family)
    audit.record("member.create", object_type="family", object_id=family.id, detail={"member": member.id})
    return member


def update_member(member: Member, data: dict) -> Member:
    for name, value in data.items():
        setattr(member, name, value)
    member.family.updated_at = utcnow()
    db.session.flush()
    audit.record("member.update", object_type="family", object_id=member.family_id,
                 detail={"member": member.id, "fields": sorted(data)})
    return member


def remove_member(member: Member) -> None:
    family_id, member_id = member.family_id, member.id
    member.family.updated_at = utcnow()
    db.session.delete(member)
    db.session.flush()
    audit.record("member.delete", object_type="family", object_id=family_id, detail={"member": member_id})


def record_intake(family: Family, held_on: date, notes: str | None) -> IntakeMeeting:
    """Record an intake meeting; a registered family moves to intake."""
    meeting = IntakeMeeting(family_id=family.id, held_on=held_on, notes=notes,
                            coordinator_user_id=audit.actor_user_id())
    db.session.add(meeting)
    if family.status == V.REGISTERED:
        set_status(family, V.INTAKE, "intake meeting")
    db.session.flush()
    audit.record("family.intake", object_type="family", object_id=family.id, detail={"intake": meeting.id})
    return meeting


#: Triage outcomes that take a requesting family out of the programme (off the waiting list).
TRIAGE_LEAVES = ("too_heavy_referred", "declined_by_family")


def record_triage(family: Family, outcome: str, on: date) -> Family:
    """The triage of a requesting family: it fits, is too heavy (referred), or the family declined.

    Too heavy or declined takes the family off the waiting list (closed, with the triage as the reason).
    """
    if family.kind != V.REQUESTING:
        raise Conflict(Message("Triage applies to requesting families.", code="triage_requesting_only"))
    family.triage_outcome, family.triage_on = outcome, on
    if outcome == "too_heavy_referred":
        family.in_professional_care = True
    if outcome in TRIAGE_LEAVES and family.status in (V.REGISTERED, V.INTAKE, V.WAITING):
        set_status(family, V.CLOSED, f"triage: {outcome}")
    db.session.flush()
    audit.record("family.triage", object_type="family", object_id=family.id, detail={"outcome": outcome})
    return family


def approve(family: Family, note: str | None = None) -> Approval:
    """A coordinator approves a supporting family; each coordinator once (four eyes need two)."""
    user_id = audit.actor_user_id()
    if family.kind != V.SUPPORTING:
        raise Conflict(Message("Approvals apply to supporting families.", code="approval_supporting_only"))
    if user_id is None:
        raise Conflict(Message("An approval is given by a person, not by a machine token.", code="approval_needs_person"))
    if db.session.scalar(select(Approval.id).where(Approval.family_id == family.id, Approval.user_id == user_id)):
        raise Conflict(Message("You have already approved this family; a second approval must come from another "
                               "coordinator.", code="approved_already"))
    approval = Approval(family_id=family.id, user_id=user_id, note=note)
    db.session.add(approval)
    db.session.flush()
    audit.record("family.approve", object_type="family", object_id=family.id)
    return approval
