"""What people do with a family: register, read, change facts and status, intake, triage, approve, consent.

Whichever way a family comes in (the API, the public form, the spreadsheet
import), :func:`register` is where it does: a requesting family gets the
policy's eligibility decision when it is registered, and every family gets
the decision its status calls for (eligibility when it starts waiting,
screening when a supporting family becomes available).

A change of a family takes ``check_version``: a callable the API passes to
refuse a change against an old version (``If-Match``), given the family
before anything changes; None where no person edits (an import). Every such
change makes a new version of the family (a new ETag), also when it adds a
record of its own (an intake, an approval, a consent).
"""
from __future__ import annotations

from datetime import date

from core import audit, notifications
from core.labels import N_
from core.lookup import get_child_or_404, get_or_404
from core.messages import Message
from core.programme import consent, contacts, families
from core.programme import vocabulary as V
from core.programme.models import Consent, Family, Member
from core.types import utcnow
from core.usecases import decisions

#: The decision a family gets when it reaches a status.
DECIDE_ON = {V.WAITING: "eligibility", V.AVAILABLE: "screening"}


def _changing(family: Family, check_version) -> Family:
    """Check the version the client read, and make this change a new version of the family."""
    if check_version is not None:
        check_version(family)
    family.updated_at = utcnow()
    return family


def _decide_for_status(family: Family, today: date | None = None) -> None:
    if family.status in DECIDE_ON:
        decisions.decide(DECIDE_ON[family.status], family, today)


def register(data: dict, *, consents: tuple[tuple[str, str, date], ...] = ()) -> Family:
    """Register a family (validated ``FamilyCreateSchema`` data) with its consents, and let the policy decide."""
    family = families.create(data)
    for purpose, wording, given_on in consents:
        consent.give(family, purpose, wording, given_on)
    if family.kind == V.REQUESTING:
        decisions.decide("eligibility", family)
    if family.status == V.AVAILABLE:
        decisions.decide("screening", family)
    return family


def register_from_form(data: dict) -> Family:
    """The public registration form (validated ``RegistrationSchema`` data): no login, status registered."""
    family = register({
        "kind": data["kind"], "display_name": data["display_name"], "email": data.get("email"),
        "phone": data.get("phone"), "postcode": data["postcode"], "house_number": data["house_number"],
        "support_kinds": data["support_kinds"], "wishes": data.get("message"),
        "referral_source": data["referral_source"], "registered_on": date.today(),
        "members": [dict(m) for m in data["members"]],
    }, consents=(("processing", data["consent_wording_version"], date.today()),))
    audit.record("registration.create", object_type="family", object_id=family.id, actor="public form")
    message = Message(REGISTERED_BY_FORM[family.kind], {"id": family.id}, code="registration")
    notifications.notify(notifications.staff(family.tenant_id), "registration", f"registration:{family.id}", message,
                         subject_type="family", subject_id=family.id)
    return family


#: What the coordinators of the municipality read when a family registers through the public form.
REGISTERED_BY_FORM = {
    V.REQUESTING: N_("A family asks for support through the registration form (family %(id)s)."),
    V.SUPPORTING: N_("A family offers support through the registration form (family %(id)s)."),
}


def read(family_id: int, part: str | None = None) -> Family:
    """A family of this municipality (404 otherwise); the read is audited."""
    family = get_or_404(Family, family_id)
    audit.record("family.read", object_type="family", object_id=family.id, detail={"part": part} if part else None)
    return family


def update(family_id: int, data: dict, check_version) -> Family:
    family = _changing(get_or_404(Family, family_id), check_version)
    return families.update(family, data)


def change_status(family_id: int, status: str, reason: str | None, check_version) -> Family:
    """Move a family to another status its kind allows; the policy decides where the status calls for it."""
    family = _changing(get_or_404(Family, family_id), check_version)
    families.change_status(family, status, reason)
    _decide_for_status(family)
    return family


def record_intake(family_id: int, held_on: date, notes: str | None, check_version) -> Family:
    family = _changing(get_or_404(Family, family_id), check_version)
    families.record_intake(family, held_on, notes)
    return family


def record_triage(family_id: int, outcome: str, on: date, check_version) -> Family:
    """Record the triage; the policy decides eligibility on it (too heavy or declined: off the waiting list)."""
    family = _changing(get_or_404(Family, family_id), check_version)
    families.record_triage(family, outcome, on)
    decisions.decide("eligibility", family, on)
    return family


def approve(family_id: int, note: str | None, check_version) -> Family:
    family = _changing(get_or_404(Family, family_id), check_version)
    families.approve(family, note)
    return family


def add_member(family_id: int, data: dict, check_version) -> Family:
    """Add a household member (409 beyond the most a family has)."""
    family = _changing(get_or_404(Family, family_id), check_version)
    families.add_member(family, data)
    return family


def update_member(family_id: int, member_id: int, data: dict, check_version) -> Family:
    member = get_child_or_404(Member, member_id, family_id=family_id)
    _changing(member.family, check_version)
    families.update_member(member, data)
    return member.family


def remove_member(family_id: int, member_id: int, check_version) -> Family:
    member = get_child_or_404(Member, member_id, family_id=family_id)
    family = _changing(member.family, check_version)
    families.remove_member(member)
    return family


def give_consent(family_id: int, data: dict, check_version) -> tuple[Consent, Family]:
    family = _changing(get_or_404(Family, family_id), check_version)
    return consent.give(family, data["purpose"], data["wording_version"], data["given_on"]), family


def withdraw_consent(family_id: int, consent_id: int, on: date, check_version) -> tuple[Consent, Family]:
    found = get_child_or_404(Consent, consent_id, family_id=family_id)
    family = _changing(get_or_404(Family, family_id), check_version)
    return consent.withdraw(found, on), family


def log_contact(family_id: int, data: dict):
    family = get_or_404(Family, family_id)
    return contacts.log(data, family_id=family.id)
