"""Possible duplicates: two families of a municipality that may be the same. Flagged, never merged.

:func:`flag` runs when a family is registered, when its name, postcode or
house number changes, and when a member is added. It compares the family
with the others of the same municipality and stores one
:class:`DuplicateFlag` per pair, with the strongest reason found:

``same_name_and_birth_date``
    A member of each has the same birth date and the same first and last
    name, written the same once normalised (see :func:`normalise_name`).
``same_address``
    The same postcode and house number, however written: ``7001 AB`` =
    ``7001ab``, ``12a`` = ``12 A`` = ``12-a`` (see :func:`normalise_postcode`,
    :func:`normalise_house_number`).
``similar_name:<score>``
    Names nearly the same ("Jansen" / "Janssen"): either a member of each
    with the same birth date whose full names are similar, or two families
    with the same postcode (another house number) whose family names are
    similar. *score* is the :data:`scorer`'s 0-100 score of the normalised
    names, at least :data:`SIMILAR_NAME_THRESHOLD`.

A coordinator resolves a flag (:func:`resolve`) as ``same`` or ``distinct``;
nothing is ever merged. A pair already flagged (either way round) is not
flagged again.

Cost: the candidates are narrowed in SQL first and only their few columns are
read: families whose postcode is one of the spellings of this postcode (the
postcode index), and members with one of this family's birth dates. Only those
rows are scored in Python, so a registration reads a handful of rows, not the
municipality's thousands of families.
"""
from __future__ import annotations

import re
import unicodedata

from rapidfuzz import fuzz
from sqlalchemy import or_, select

from core import audit
from core.extensions import db
from core.programme.models import DuplicateFlag, Family, Member
from core.types import utcnow

SAME_NAME_AND_BIRTH_DATE = "same_name_and_birth_date"
SAME_ADDRESS = "same_address"
SIMILAR_NAME = "similar_name"

#: Two normalised names at least this similar (``scorer``, 0-100) are "similar". 88 takes one letter
#: more or less in a surname ("jansen" / "janssen" 92, "smit" / "smits" 89, "de jong" / "de jongh" 93)
#: and leaves different names apart ("jansen" / "hansen" 83, "bakker" / "backer" 83, "smit" / "smid" 75).
SIMILAR_NAME_THRESHOLD = 88

#: The similarity of two normalised names: rapidfuzz's normalised Indel similarity of their words sorted
#: (so "meer van der" = "van der meer").
scorer = fuzz.token_sort_ratio

#: Stronger reasons win when a pair has several.
_STRENGTH = {SAME_NAME_AND_BIRTH_DATE: 3, SAME_ADDRESS: 2, SIMILAR_NAME: 1}

# "v.d.", "v. d.", "v/d", "vd", "vd.", "van den", "van der": one spelling, "van der" ("vd" is either).
_VAN_DER = re.compile(r"(?<![a-z0-9])(?:v\s*[./]\s*d\b\.?|vd\b\.?|van\s+de[nr]\b)")
_FAMILY_WORD = re.compile(r"^(?:de\s+)?(?:familie|fam|gezin|family)\s+")
# Letters NFKD does not take apart into a base letter and a mark.
_LETTERS = str.maketrans({"ı": "i", "ß": "ss", "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th"})
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_HOUSE_NUMBER = re.compile(r"^\s*0*(\d+)\s*(.*)$")
_POSTCODE = re.compile(r"^([1-9][0-9]{3})([A-Z]{2})$")


def normalise_name(name: str | None) -> str:
    """Lower case, without diacritics or punctuation, "vd"/"v.d."/"v/d"/"van den" as "van der"."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).lower().translate(_LETTERS)
    text = _VAN_DER.sub(" van der ", text)
    return " ".join(_NOT_ALNUM.sub(" ", text).split())


def normalise_family_name(display_name: str | None) -> str:
    """A family's display name normalised, without a leading "Familie"/"Fam."/"Gezin"."""
    return _FAMILY_WORD.sub("", normalise_name(display_name))


def normalise_postcode(postcode: str | None) -> str:
    """``7001 ab`` -> ``7001AB``: upper case, without spaces or punctuation."""
    return re.sub(r"[^0-9A-Z]", "", (postcode or "").upper())


def normalise_house_number(house_number: str | None) -> str:
    """``12a``, ``12 A``, ``12-a`` -> ``12-a``; ``12-1`` -> ``12-1`` (not ``121``); ``012`` -> ``12-``."""
    text = normalise_name(house_number)
    match = _HOUSE_NUMBER.match(text)
    if not match:
        return text.replace(" ", "")
    return f"{match.group(1)}-{match.group(2).replace(' ', '')}"


def similarity(a: str, b: str) -> int:
    """The 0-100 :data:`scorer` score of two already normalised names (0 when either is empty)."""
    return int(scorer(a, b)) if a and b else 0


def _postcode_spellings(postcode: str) -> list[str]:
    """The ways one postcode is stored ("7001AB", "7001 AB", and in lower case), for an indexed IN."""
    normal = normalise_postcode(postcode)
    match = _POSTCODE.match(normal)
    if not match:
        return sorted({postcode, normal})
    digits, letters = match.groups()
    return [f"{digits}{sep}{case}" for sep in ("", " ") for case in (letters, letters.lower())]


def candidates(family: Family) -> dict[int, str]:
    """Other families of the tenant that may be *family*: ``{family id: reason}``."""
    found: dict[int, str] = {}

    def add(other: int, reason: str) -> None:
        old = found.get(other)
        if old is None or _rank(reason) > _rank(old):
            found[other] = reason

    if family.postcode:
        own_number = normalise_house_number(family.house_number) if family.house_number else None
        own_name = normalise_family_name(family.display_name)
        same_postcode = select(Family.id, Family.house_number, Family.display_name).where(
            Family.id != family.id, Family.postcode.in_(_postcode_spellings(family.postcode)))
        for other, number, name in db.session.execute(same_postcode):
            if own_number and number and normalise_house_number(number) == own_number:
                add(other, SAME_ADDRESS)
            else:
                score = similarity(own_name, normalise_family_name(name))
                if score >= SIMILAR_NAME_THRESHOLD:
                    add(other, f"{SIMILAR_NAME}:{score}")
    people: dict = {}
    for m in family.members:
        if m.date_of_birth:
            people.setdefault(m.date_of_birth, []).append(_full_name(m.first_name, m.last_name))
    if people:
        same_birth_date = select(Member.family_id, Member.first_name, Member.last_name, Member.date_of_birth).where(
            Member.family_id != family.id, Member.date_of_birth.in_(list(people)))
        for other, first, last, born in db.session.execute(same_birth_date):
            theirs = _full_name(first, last)
            for ours in people[born]:
                if ours == theirs:
                    add(other, SAME_NAME_AND_BIRTH_DATE)
                else:
                    score = similarity(ours, theirs)
                    if score >= SIMILAR_NAME_THRESHOLD:
                        add(other, f"{SIMILAR_NAME}:{score}")
    return found


def _full_name(first: str | None, last: str | None) -> str:
    return normalise_name(f"{first or ''} {last or ''}")


def _rank(reason: str) -> tuple[int, int]:
    kind, _, score = reason.partition(":")
    return _STRENGTH.get(kind, 0), int(score or 0)


def flag(family: Family) -> list[DuplicateFlag]:
    """Flag every other family of the tenant that may be *family*; returns the new flags."""
    found = candidates(family)
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
