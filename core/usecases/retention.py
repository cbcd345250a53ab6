"""Retention and erasure: the destruction list, its four-eyes approval, and the destruction it starts.

* Each month the scheduled task (:mod:`core.scheduling.retention`) proposes a
  list of the families whose file closed longer than the municipality's
  ``retention_months`` ago (:func:`propose_due`); it is ``open``.
* A coordinator or tenant admin reviews it, may keep families off with a
  reason (a legal hold), and submits it (:func:`submit`).
* A *second* person approves it (:func:`approve`): not the one who submitted
  it. The approval destroys every family on it in the same transaction, so
  either all of the list is destroyed and recorded, or nothing is.
* An erasure on request (AVG art. 17) is the same list with one family, made
  submitted by the coordinator who records the request and its reason
  (:func:`request_erasure`); a running match must be ended first.

Every step is audited with ids and counts only.
"""
from __future__ import annotations

from datetime import datetime

from dateutil.relativedelta import relativedelta
from marshmallow import ValidationError
from sqlalchemy import exists, or_, select

from core import audit, notifications
from core.auth import roles as R
from core.errors import Conflict
from core.extensions import db
from core.labels import N_
from core.lookup import get_or_404
from core.messages import Message
from core.programme import families as family_service
from core.programme import retention as R_
from core.programme import vocabulary as V
from core.programme.kpis import AMSTERDAM
from core.programme.models import Family, Match
from core.programme.retention import DestructionItem, DestructionList
from core.types import utcnow
from tenants.context import current_tenant_id
from tenants.models import Municipality

#: Longest reason, note or exclusion text.
MAX_TEXT = 2000


def _municipality() -> Municipality:
    return db.session.get(Municipality, current_tenant_id())


def _person() -> int:
    user_id = audit.actor_user_id()
    if user_id is None:
        raise Conflict(Message("This step is taken by a person: use your own login or token.", code="needs_a_person"))
    return user_id


def _text(field: str, value: str | None, *, required: bool) -> str | None:
    value = (value or "").strip() or None
    if required and value is None:
        raise ValidationError({field: [Message("Give the reason.", code="required")]})
    if value is not None and len(value) > MAX_TEXT:
        raise ValidationError({field: [Message("At most %(n)s characters.", {"n": MAX_TEXT}, code="too_long")]})
    return value


# ----------------------------------------------------------------------------- the period

def set_retention_months(months) -> Municipality:
    """The tenant admin sets how many months after closing a file its personal data is kept."""
    if isinstance(months, bool) or not isinstance(months, int) or not R_.MIN_MONTHS <= months <= R_.MAX_MONTHS:
        raise ValidationError({"retention_months": [Message(
            "Give a whole number of months from %(min)s to %(max)s.", {"min": R_.MIN_MONTHS, "max": R_.MAX_MONTHS},
            code="retention_months_range")]})
    municipality = _municipality()
    old, municipality.retention_months = municipality.retention_months, months
    audit.record("retention.period", object_type="municipality", object_id=municipality.id,
                 detail={"from": old, "to": months})
    return municipality


# ----------------------------------------------------------------------------- what is due

def _destroyed(family_id_column):
    return exists(select(DestructionItem.id).where(DestructionItem.family_id == family_id_column,
                                                   DestructionItem.destroyed_at.is_not(None)))


def _on_pending_list(family_id_column):
    return exists(select(DestructionItem.id).join(DestructionList, DestructionList.id == DestructionItem.list_id)
                  .where(DestructionItem.family_id == family_id_column,
                         DestructionList.state.in_((R_.OPEN, R_.SUBMITTED))))


def _open_match(family_id_column):
    return exists(select(Match.id).where(
        or_(Match.requesting_family_id == family_id_column, Match.supporting_family_id == family_id_column),
        Match.state.in_(V.OPEN_MATCH_STATES)))


def due(now: datetime | None = None) -> list[Family]:
    """The families of this municipality whose file closed more than its retention period ago, not destroyed
    and not on a list under way."""
    now = now or utcnow()
    cutoff = now - relativedelta(months=_municipality().retention_months)
    return list(db.session.scalars(
        select(Family).where(Family.status == V.CLOSED, Family.status_changed_at <= cutoff, ~_destroyed(Family.id),
                             ~_on_pending_list(Family.id), ~_open_match(Family.id)).order_by(Family.id)))


def is_destroyed(family_id: int) -> bool:
    return bool(db.session.scalar(select(_destroyed(family_id))))


def _closed_on(family: Family):
    return family.status_changed_at.astimezone(AMSTERDAM).date() if family.status_changed_at else None


PROPOSED = N_("A destruction list of %(n)s families whose retention period has passed waits for review (list "
              "%(id)s).")


def propose_due(now: datetime | None = None) -> DestructionList | None:
    """The scheduled task: a list of what is due (None when nothing is); coordinators and admins are told."""
    found = due(now)
    if not found:
        return None
    municipality = _municipality()
    proposal = DestructionList(kind=R_.RETENTION, state=R_.OPEN, retention_months=municipality.retention_months,
                               items=[DestructionItem(family_id=f.id, closed_on=_closed_on(f)) for f in found])
    db.session.add(proposal)
    db.session.flush()
    audit.record("retention.list.proposed", object_type="destruction_list", object_id=proposal.id,
                 actor="scheduler", detail={"families": [f.id for f in found]})
    notifications.notify(notifications.staff(municipality.id, R.COORDINATOR, R.TENANT_ADMIN), "retention",
                         f"retention:{proposal.id}", Message(PROPOSED, {"n": len(found), "id": proposal.id},
                                                             code="retention_list"),
                         subject_type="destruction_list", subject_id=proposal.id)
    return proposal


# ----------------------------------------------------------------------------- review, approval, rejection

def get(list_id: int) -> DestructionList:
    return get_or_404(DestructionList, list_id)


def submit(list_id: int, exclusions: dict[int, str] | None = None) -> DestructionList:
    """A person reviews an open list: the items in *exclusions* (item id -> reason) stay off; the rest goes
    to a second person for approval."""
    user_id = _person()
    found = get(list_id)
    if found.state != R_.OPEN:
        raise Conflict(Message("Only an open list can be submitted; this one is %(state)s.", {"state": found.state},
                               code="destruction_list_not_open"))
    exclusions = exclusions or {}
    items = {item.id: item for item in found.items}
    unknown = sorted(set(exclusions) - set(items))
    if unknown:
        raise ValidationError({"exclusions": [Message("No item %(id)s on this list.", {"id": unknown[0]},
                                                      code="not_on_list")]})
    for item_id, reason in exclusions.items():
        items[item_id].excluded = True
        items[item_id].exclusion_reason = _text("exclusions", reason, required=True)
    found.state, found.submitted_at, found.submitted_by_user_id = R_.SUBMITTED, utcnow(), user_id
    audit.record("retention.list.submitted", object_type="destruction_list", object_id=found.id,
                 detail={"excluded": sorted(exclusions)})
    return found


def _pending_approval(list_id: int) -> DestructionList:
    found = get(list_id)
    if found.state != R_.SUBMITTED:
        raise Conflict(Message("Only a submitted list can be approved or rejected; this one is %(state)s.",
                               {"state": found.state}, code="destruction_list_not_submitted"))
    return found


def approve(list_id: int, note: str | None = None) -> DestructionList:
    """The second person approves: every family on the list that is not kept off is destroyed, now, in this
    transaction (the caller commits; any error rolls all of it back)."""
    user_id = _person()
    found = _pending_approval(list_id)
    if user_id in (found.submitted_by_user_id, found.created_by_user_id):
        audit.record("retention.list.approve", outcome=audit.DENIED, object_type="destruction_list",
                     object_id=found.id, detail={"reason": "four_eyes"})
        raise Conflict(Message("A destruction list is approved by a second person, not by the one who submitted it.",
                               code="destruction_needs_second_person"))
    destroyed = {}
    for item in found.items:
        if item.excluded:
            continue
        family = get_or_404(Family, item.family_id)
        if db.session.scalar(select(_open_match(family.id))):
            raise Conflict(Message("Family %(id)s has a match that is not ended; end it first.", {"id": family.id},
                                   code="erasure_running_match"))
        if found.kind == R_.RETENTION and family.status != V.CLOSED:
            item.excluded, item.exclusion_reason = True, "reopened"  # the file was opened again since the proposal
            continue
        if family.status != V.CLOSED:
            family_service.set_status(family, V.CLOSED, "erasure")
        counts = R_.destroy(family.id)
        item.destroyed_at, item.destroyed = utcnow(), counts
        destroyed[family.id] = counts
        audit.record("family.destroyed", object_type="family", object_id=family.id,
                     detail={"list": found.id, "kind": found.kind, "rows": counts})
    found.state, found.decided_at, found.decided_by_user_id = R_.DESTROYED, utcnow(), user_id
    found.decision_note = _text("note", note, required=False)
    audit.record("retention.list.approved", object_type="destruction_list", object_id=found.id,
                 detail={"families": sorted(destroyed), "excluded": [i.family_id for i in found.items if i.excluded]})
    return found


def reject(list_id: int, note: str | None = None) -> DestructionList:
    """Nothing on the list is destroyed; a retention list's families come up again next month."""
    user_id = _person()
    found = _pending_approval(list_id)
    found.state, found.decided_at, found.decided_by_user_id = R_.REJECTED, utcnow(), user_id
    found.decision_note = _text("note", note, required=True)
    audit.record("retention.list.rejected", object_type="destruction_list", object_id=found.id)
    return found


# ----------------------------------------------------------------------------- erasure on request

def request_erasure(family_id: int, reason: str | None, legal_basis: str | None) -> DestructionList:
    """A family asks to be erased (AVG art. 17): a list of one, submitted by the coordinator who records the
    request; *legal_basis* says which exceptions of art. 17(3) were weighed and why none applies."""
    user_id = _person()
    reason = _text("reason", reason, required=True)
    legal_basis = _text("legal_basis", legal_basis, required=True)
    family = get_or_404(Family, family_id)
    if is_destroyed(family.id):
        raise Conflict(Message("The personal data of this family has been destroyed already.",
                               code="family_destroyed"))
    if db.session.scalar(select(_on_pending_list(family.id))):
        raise Conflict(Message("This family is on a destruction list under way already.",
                               code="destruction_under_way"))
    if db.session.scalar(select(_open_match(family.id))):
        raise Conflict(Message("Family %(id)s has a match that is not ended; end it first.", {"id": family.id},
                               code="erasure_running_match"))
    request = DestructionList(kind=R_.ERASURE, state=R_.SUBMITTED, reason=reason, legal_basis=legal_basis,
                              created_by_user_id=user_id, submitted_by_user_id=user_id, submitted_at=utcnow(),
                              items=[DestructionItem(family_id=family.id,
                                                     closed_on=_closed_on(family) if family.status == V.CLOSED
                                                     else None)])
    db.session.add(request)
    db.session.flush()
    audit.record("family.erasure_requested", object_type="family", object_id=family.id,
                 detail={"list": request.id})
    return request


def lists(states: tuple[str, ...] | None = None) -> list[DestructionList]:
    statement = select(DestructionList).order_by(DestructionList.id.desc())
    if states:
        statement = statement.where(DestructionList.state.in_(states))
    return list(db.session.scalars(statement))
