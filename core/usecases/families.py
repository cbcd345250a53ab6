"""What people do with a family: register, read, change facts and status, intake, triage, approve, consent.

Whichever way a family comes in (the API, the public form, the spreadsheet
import), :func:`register` is where it does: a requesting family gets the
policy's eligibility decision when it is registered, and every family gets
the decision its status calls for (eligibility when it starts waiting,
screening when a supporting family becomes available).
"""
from __future__ import annotations

from datetime import date

from core import audit
from core.lookup import get_child_or_404, get_or_404
from core.programme import consent, contacts, families
from core.programme import vocabulary as V
from core.programme.models import Consent, Family, Member
from core.usecases import decisions

#: The decision a family gets when it reaches a status.
DECIDE_ON = {V.WAITING: "eligibility", V.AVAILABLE: "screening"}


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
    return family


def read(family_id: int, part: str | None = None) -> Family:
    """A family of this municipality (404 otherwise); the read is audited."""
    family = get_or_404(Family, family_id)
    audit.record("family.read", object_type="family", object_id=family.id, detail={"part": part} if part else None)
    return family


def update(family_id: int, data: dict, check_version) -> Family:
    family = get_or_404(Family, family_id)
    check_version(family)
    return families.update(family, data)


def change_status(family_id: int, status: str, reason: str | None) -> Family:
    """Move a family to another status its kind allows; the policy decides where the status calls for it."""
    family = get_or_404(Family, family_id)
    families.change_status(family, status, reason)
    _decide_for_status(family)
    return family


def record_intake(family_id: int, held_on: date, notes: str | None) -> Family:
    family = get_or_404(Family, family_id)
    families.record_intake(family, held_on, notes)
    return family


def record_triage(family_id: int, outcome: str, on: date) -> Family:
    """Record the triage; the policy decides eligibility on it (too heavy or declined: off the waiting list)."""
    family = get_or_404(Family, family_id)
    families.record_triage(family, outcome, on)
    decisions.decide("eligibility", family, on)
    return family


def approve(family_id: int, note: str | None) -> Family:
    family = get_or_404(Family, family_id)
    families.approve(family, note)
    return family


def add_member(family_id: int, data: dict) -> Family:
    family = get_or_404(Family, family_id)
    families.add_member(family, data)
    return family


def update_member(family_id: int, member_id: int, data: dict) -> Family:
    member = get_child_or_404(Member, member_id, family_id=family_id)
    families.update_member(member, data)
    return member.family


def remove_member(family_id: int, member_id: int) -> Family:
    member = get_child_or_404(Member, member_id, family_id=family_id)
    family = member.family
    families.remove_member(member)
    return family


def give_consent(family_id: int, data: dict) -> Consent:
    family = get_or_404(Family, family_id)
    return consent.give(family, data["purpose"], data["wording_version"], data["given_on"])


def withdraw_consent(family_id: int, consent_id: int, on: date) -> Consent:
    found = get_child_or_404(Consent, consent_id, family_id=family_id)
    return consent.withdraw(found, on)


def log_contact(family_id: int, data: dict):
    family = get_or_404(Family, family_id)
    return contacts.log(data, family_id=family.id)
