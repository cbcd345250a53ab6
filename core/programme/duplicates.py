"""Possible duplicates: same name and birth date, or same address. Flagged, never merged."""
from __future__ import annotations

from sqlalchemy import and_, func, or_, select

from core import audit
from core.extensions import db
from core.programme.models import DuplicateFlag, Family, Member
from core.types import utcnow


def flag(family: Family) -> list[DuplicateFlag]:
    """Flag every other family of the tenant that may be *family*; returns the new flags."""
    found: dict[int, str] = {}
    if family.postcode and family.house_number:
        same_address = select(Family.id).where(
            Family.id != family.id,
            func.replace(Family.postcode, " ", "") == family.postcode.replace(" ", ""),
            func.lower(Family.house_number) == family.house_number.lower(),
        )
        found.update((fid, "same_address") for fid in db.session.scalars(same_address))
    people = [(m.first_name.lower(), (m.last_name or "").lower(), m.date_of_birth)
              for m in family.members if m.date_of_birth]
    if people:
        same_person = select(Member.family_id).where(
            Member.family_id != family.id,
            or_(*(and_(func.lower(Member.first_name) == first, func.lower(func.coalesce(Member.last_name, "")) == last,
                       Member.date_of_birth == born) for first, last, born in people)),
        )
        found.update((fid, "same_name_and_birth_date") for fid in db.session.scalars(same_person))
    if not found:
        return []
    known = set(db.session.execute(select(DuplicateFlag.family_id, DuplicateFlag.other_family_id).where(or_(
        DuplicateFlag.family_id == family.id, DuplicateFlag.other_family_id == family.id))).all())
    flags = []
    for other, reason in sorted(found.items()):
        if (family.id, other) in known or (other, family.id) in known:
            continue
        flags.append(DuplicateFlag(family_id=family.id, other_family_id=other, reason=reason))
    db.session.add_all(flags)
    db.session.flush()
    return flags


def resolve(flag_: DuplicateFlag, resolution: str) -> DuplicateFlag:
    """A coordinator says whether the two are the same family or distinct ones (no merge happens)."""
    flag_.resolution, flag_.resolved_at, flag_.resolved_by_user_id = resolution, utcnow(), audit.actor_user_id()
    db.session.flush()
    audit.record("duplicate.resolve", object_type="family", object_id=flag_.family_id,
                 detail={"other": flag_.other_family_id, "resolution": resolution})
    return flag_
