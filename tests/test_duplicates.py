"""Possible duplicates: near-identical names and addresses are flagged (never merged), different families
are not, and a registration reads only a few candidate rows however many families the municipality has."""
import random
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text

from core.extensions import db
from core.programme import duplicates, families
from core.programme.duplicates import (SIMILAR_NAME_THRESHOLD, normalise_family_name, normalise_house_number,
                                       normalise_name, normalise_postcode)
from core.programme.models import DuplicateFlag, Family, Member
from tenants import onboarding
from tenants.context import cross_tenant_scope, tenant_scope

BORN = date(1988, 4, 1)


@pytest.fixture
def tenants(app):
    """Two municipalities: Aalten and Winterswijk."""
    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        achterhoek = onboarding.add_consortium("Achterhoek", "achterhoek")
        aalten = onboarding.add_municipality(achterhoek, name="Aalten", cbs_code="GM0197", slug="aalten",
                                             inhabitants=27500)
        winterswijk = onboarding.add_municipality(achterhoek, name="Winterswijk", cbs_code="GM0294",
                                                  slug="winterswijk", inhabitants=29500)
        db.session.commit()
        return SimpleNamespace(aalten=aalten.id, winterswijk=winterswijk.id)


@pytest.fixture
def aalten(app, tenants):
    with app.app_context(), tenant_scope(tenants.aalten):
        yield tenants.aalten
        db.session.rollback()


def register(display_name, postcode=None, house_number=None, *people, kind="requesting") -> Family:
    """Register a family through the service (which flags); *people* are (first, last, birth date)."""
    family = families.create({
        "kind": kind, "display_name": display_name, "postcode": postcode, "house_number": house_number,
        "members": [{"role": "adult", "first_name": first, "last_name": last, "date_of_birth": born}
                    for first, last, born in people]})
    db.session.commit()
    return family


def flags_of(family: Family) -> dict[int, str]:
    return dict(db.session.execute(select(DuplicateFlag.other_family_id, DuplicateFlag.reason).where(
        DuplicateFlag.family_id == family.id)).all())


def score(reason: str) -> int:
    kind, _, value = reason.partition(":")
    assert kind == "similar_name", reason
    return int(value)


# --- normalising --------------------------------------------------------------------------------------

@pytest.mark.parametrize("written, normal", [
    ("vd Meer", "van der meer"), ("v.d. Meer", "van der meer"), ("v/d Meer", "van der meer"),
    ("V.D.Meer", "van der meer"), ("van den Meer", "van der meer"), ("Van Der Meer", "van der meer"),
    ("Müller", "muller"), ("Yılmaz", "yilmaz"), ("El-Amrani", "el amrani"), ("'t Hart", "t hart"),
    ("  Zoë   de  Vries ", "zoe de vries"), ("Vries, de", "vries de"), ("Advd", "advd"),
])
def test_names_are_normalised(written, normal):
    assert normalise_name(written) == normal


def test_family_names_lose_the_word_family():
    assert normalise_family_name("Familie vd Meer") == normalise_family_name("Fam. Van der Meer") == "van der meer"
    assert normalise_family_name("Gezin Jansen") == "jansen"


@pytest.mark.parametrize("written", ["12a", "12 A", "12-a", "12A", " 12 - a "])
def test_house_numbers_are_normalised(written):
    assert normalise_house_number(written) == "12-a"


def test_house_number_additions_stay_apart():
    assert normalise_house_number("12-1") != normalise_house_number("121")
    assert normalise_house_number("12") != normalise_house_number("12a")


@pytest.mark.parametrize("written", ["7001 AB", "7001ab", "7001AB", "7001 ab", "7001-AB"])
def test_postcodes_are_normalised(written):
    assert normalise_postcode(written) == "7001AB"


# --- flagged ------------------------------------------------------------------------------------------

def test_jansen_and_janssen_born_the_same_day_are_flagged(aalten):
    first = register("Familie Jansen", "7001 AB", "3", ("Anna", "Jansen", BORN))
    second = register("Familie Janssen", "7131 CD", "8", ("Anna", "Janssen", BORN))
    [(other, reason)] = flags_of(second).items()
    assert other == first.id and SIMILAR_NAME_THRESHOLD <= score(reason) < 100


def test_jansen_and_janssen_at_one_postcode_are_flagged(aalten):
    first = register("Familie Jansen", "7001 AB", "3")
    second = register("Familie Janssen", "7001AB", "5")
    [(other, reason)] = flags_of(second).items()
    assert other == first.id and SIMILAR_NAME_THRESHOLD <= score(reason) < 100


@pytest.mark.parametrize("ours, theirs", [
    ("vd Meer", "Van der Meer"), ("v.d. Meer", "van der Meer"), ("v/d Meer", "Van Der Meer"),
    ("van den Meer", "vd Meer"), ("V.D. MEER", "van der meer"),
])
def test_abbreviated_van_der_is_the_same_name(aalten, ours, theirs):
    first = register(f"Familie {theirs}", "7001 AB", "3", ("Piet", theirs, BORN))
    second = register(f"Familie {ours}", "7131 CD", "8", ("piet", ours, BORN))
    assert flags_of(second) == {first.id: "same_name_and_birth_date"}


def test_abbreviated_van_der_at_one_postcode_is_flagged(aalten):
    first = register("Familie Van der Meer", "7001 AB", "3")
    second = register("Fam. vd Meer", "7001 AB", "5")
    assert flags_of(second) == {first.id: "similar_name:100"}


@pytest.mark.parametrize("ours, theirs", [
    (("Müller", "Zoë"), ("MULLER", "Zoe")), (("Yılmaz", "Elif"), ("Yilmaz", "elif")),
    (("El-Amrani", "Samira"), ("el amrani", "Samira")), (("'t Hart", "Joost"), ("T Hart", "joost")),
])
def test_case_punctuation_and_diacritics_do_not_count(aalten, ours, theirs):
    first = register("Familie A", None, None, (theirs[1], theirs[0], BORN))
    second = register("Familie B", None, None, (ours[1], ours[0], BORN))
    assert flags_of(second) == {first.id: "same_name_and_birth_date"}


@pytest.mark.parametrize("theirs, ours", [
    (("7001 AB", "12a"), ("7001ab", "12 A")),
    (("7001 AB", "12a"), ("7001 AB", "12-a")),
    (("7001AB", "12 A"), ("7001 ab", "12A")),
    (("7001 AB", "12"), ("7001AB", "12")),
])
def test_one_address_written_differently_is_the_same_address(aalten, theirs, ours):
    first = register("Familie Smit", *theirs)
    second = register("Familie Yilmaz", *ours)
    assert flags_of(second) == {first.id: "same_address"}


def test_the_strongest_reason_is_kept(aalten):
    first = register("Familie Jansen", "7001 AB", "3", ("Anna", "Jansen", BORN))
    second = register("Familie Janssen", "7001AB", "3", ("Anna", "Jansen", BORN))
    assert flags_of(second) == {first.id: "same_name_and_birth_date"}


def test_flagged_on_a_new_name_and_on_a_new_member_once(aalten):
    first = register("Familie Janssen", "7001 AB", "3", ("Anna", "Janssen", BORN))
    second = register("Familie Bakker", "7001 AB", "9")
    assert flags_of(second) == {}
    families.update(second, {"display_name": "Familie Jansen"})
    db.session.commit()
    assert score(flags_of(second)[first.id]) >= SIMILAR_NAME_THRESHOLD
    third = register("Familie de Boer", "7131 CD", "1")
    families.add_member(third, {"role": "adult", "first_name": "Anna", "last_name": "Jansen", "date_of_birth": BORN})
    db.session.commit()
    assert score(flags_of(third)[first.id]) >= SIMILAR_NAME_THRESHOLD
    families.update(third, {"display_name": "Familie de Boer-Jansen"})  # again: no second flag of the pair
    families.add_member(third, {"role": "child", "first_name": "Bo", "last_name": "Jansen"})
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(DuplicateFlag).where(
        DuplicateFlag.family_id == third.id)) == 1


# --- not flagged --------------------------------------------------------------------------------------

@pytest.mark.parametrize("theirs, ours", [
    # the same postcode, another house number and another name
    (("Familie Smit", "7001 AB", "12"), ("Familie Yilmaz", "7001 AB", "14")),
    (("Familie Smit", "7001 AB", "12-1"), ("Familie de Vries", "7001 AB", "121")),
    (("Familie Jansen", "7001 AB", "3"), ("Familie Hansen", "7001 AB", "5")),
    (("Familie Bakker", "7001 AB", "3"), ("Familie Backer", "7001 AB", "5")),
    # the same house number at another postcode
    (("Familie Smit", "7001 AB", "12"), ("Familie Yilmaz", "7001 AC", "12")),
])
def test_different_families_at_one_postcode_are_not_flagged(aalten, theirs, ours):
    register(*theirs)
    assert flags_of(register(*ours)) == {}


@pytest.mark.parametrize("theirs, ours", [
    (("Anna", "Jansen", BORN), ("Fatima", "El Amrani", BORN)),  # born the same day, other names
    (("Anna", "Jansen", BORN), ("Anna", "Janssen", BORN + timedelta(days=1))),  # similar names, other days
    (("Anna", "Jansen", BORN), ("Anna", "Jansen", BORN + timedelta(days=365))),
    (("Tim", "Jansen", BORN), ("Tom", "Janssen", BORN)),
])
def test_different_people_are_not_flagged(aalten, theirs, ours):
    register("Familie Jansen", "7001 AB", "3", theirs)
    assert flags_of(register("Familie Janssen", "7131 CD", "8", ours)) == {}


def test_similar_names_alone_are_not_flagged(aalten):
    """Jansen is the commonest surname: without the same postcode or birth date it says nothing."""
    register("Familie Jansen", "7001 AB", "3", ("Anna", "Jansen", BORN))
    assert flags_of(register("Familie Janssen", "7131 CD", "8", ("Piet", "Janssen", date(1970, 1, 1)))) == {}


def test_another_municipality_is_not_compared(app, tenants):
    with app.app_context():
        with tenant_scope(tenants.winterswijk):
            register("Familie Jansen", "7001 AB", "3", ("Anna", "Jansen", BORN))
        with tenant_scope(tenants.aalten):
            assert flags_of(register("Familie Jansen", "7001 AB", "3", ("Anna", "Jansen", BORN))) == {}


# --- never merged -------------------------------------------------------------------------------------

def _rows(owner_engine) -> dict:
    with owner_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in ("family", "member")}


def test_nothing_is_merged(app, aalten, owner_engine):
    first = register("Familie van der Meer", "7001 AB", "12a", ("Piet", "van der Meer", BORN))
    second = register("Fam. vd Meer", "7001ab", "12 A", ("Piet", "vd Meer", BORN), ("Bo", "vd Meer", None))
    third = register("Familie Janssen", "7001 AB", "14", ("Piet", "v.d. Meer", BORN))
    assert _rows(owner_engine) == {"family": 3, "member": 4}
    assert flags_of(second) == {first.id: "same_name_and_birth_date"}
    assert flags_of(third) == {first.id: "same_name_and_birth_date", second.id: "same_name_and_birth_date"}
    for flag in db.session.scalars(select(DuplicateFlag)):
        duplicates.resolve(flag, "same")
    db.session.commit()
    assert _rows(owner_engine) == {"family": 3, "member": 4}
    for family, name, members in ((first, "Familie van der Meer", 1), (second, "Fam. vd Meer", 2),
                                  (third, "Familie Janssen", 1)):
        db.session.expire_all()
        kept = db.session.get(Family, family.id)
        assert kept.display_name == name and len(kept.members) == members


# --- cost ---------------------------------------------------------------------------------------------

class _Rows(list):
    def all(self):
        return list(self)


class _CountingSession:
    """``db.session`` for duplicates.py, counting the rows its queries return."""

    def __init__(self, session):
        self._session, self.rows, self.queries = session, 0, 0

    def execute(self, statement, *args, **kwargs):
        rows = self._session.execute(statement, *args, **kwargs).all()
        self.rows, self.queries = self.rows + len(rows), self.queries + 1
        return _Rows(rows)

    def __getattr__(self, name):
        return getattr(self._session, name)


def test_a_registration_reads_a_few_candidates_not_the_municipality(aalten, monkeypatch):
    rng = random.Random(7)
    surnames = ("Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder")
    postcodes = [f"{7000 + i} AB" for i in range(40)]
    people = []
    for i in range(400):
        surname = rng.choice(surnames)
        family = Family(kind="requesting", display_name=f"Familie {surname}", postcode=postcodes[i % 40],
                        house_number=str(i // 40 + 1))
        family.members = [Member(role="adult", first_name=rng.choice(("Anna", "Piet", "Sanne", "Mohamed")),
                                 last_name=surname, date_of_birth=date(1960, 1, 1) + timedelta(days=rng.randrange(12000)))]
        people.append(family)
    people[0].display_name, people[0].members[0].first_name, people[0].members[0].last_name = \
        "Familie Jansen", "Anna", "Jansen"
    db.session.add_all(people)
    db.session.commit()
    counting = _CountingSession(db.session)
    monkeypatch.setattr(duplicates, "db", SimpleNamespace(session=counting))
    new = register("Familie Janssen", "7000 AB", "99", ("Anna", "Janssen", people[0].members[0].date_of_birth))
    assert counting.queries <= 3  # same postcode, same birth date, pairs already flagged
    assert counting.rows <= 10 + 5, counting.rows  # the 10 families at 7000 AB and a few born that day
    assert people[0].id in flags_of(new)
