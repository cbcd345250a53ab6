from datetime import date

import pytest
from marshmallow import ValidationError

from core.policy.manager import build_manager
from core.policy.types import PersonFacts
from tests.plugins.conftest import TODAY, en, family, nl

NAME = "screening.vog"
RECENT, OLD = date(2025, 3, 1), date(2023, 11, 22)  # OLD: one day more than 3 years before TODAY


def screen(hook, config=None, **facts):
    (finding,) = hook({NAME: config or {}}).koppel_screening(family=family(kind="supporting", **facts), today=TODAY)
    assert finding.rule == NAME and finding.explanation
    return finding


def test_pass_when_every_adult_has_a_recent_vog(hook):
    members = (PersonFacts("adult", 44, vog_issued_on=RECENT),
               PersonFacts("adult", 41, vog_issued_on=date(2023, 11, 23)), PersonFacts("child", 9))
    finding = screen(hook, members=members)
    assert finding.result == "pass"
    assert finding.facts["not_before"] == "2023-11-23" and finding.facts["max_age_months"] == 36
    assert [a["member"] for a in finding.facts["adults"]] == [1, 2]
    assert en(finding.explanation) == "Every adult has a VOG of at most 3 years old."
    assert nl(finding.explanation) == "Elke volwassene heeft een VOG van hooguit 3 jaar oud."


def test_fail_when_a_vog_is_too_old(hook):
    members = (PersonFacts("adult", 44, vog_issued_on=RECENT), PersonFacts("adult", 41, vog_issued_on=OLD),
               PersonFacts("child", None))
    finding = screen(hook, members=members)
    assert finding.result == "fail"
    assert en(finding.explanation) == "The VOG of member 2 is too old: it was issued before November 23, 2023."
    assert nl(finding.explanation) == "De VOG van lid 2 is te oud: die is afgegeven vóór 23 november 2023."
    assert finding.facts["adults"][1] == {"member": 2, "age": 41, "vog_issued_on": "2023-11-22", "status": "too old"}


def test_missing_when_an_adult_has_none_including_older_children_and_adults_of_unknown_age(hook):
    members = (PersonFacts("adult", 50, vog_issued_on=RECENT), PersonFacts("child", 19),
               PersonFacts("adult", None), PersonFacts("child", 17))
    finding = screen(hook, members=members)
    assert finding.result == "missing"
    assert en(finding.explanation) == "No VOG is recorded for members 2 and 3."
    assert nl(finding.explanation) == "Geen VOG vastgelegd voor de leden 2 en 3."
    assert [a["member"] for a in finding.facts["adults"]] == [1, 2, 3]


def test_a_too_old_vog_outweighs_a_missing_one(hook):
    members = (PersonFacts("adult", 50, vog_issued_on=OLD), PersonFacts("adult", 48))
    finding = screen(hook, members=members)
    assert finding.result == "fail"
    assert en(finding.explanation) == ("Members with a VOG that is too old (issued before November 23, 2023): 1. "
                                       "Members without a VOG: 2.")
    assert nl(finding.explanation) == ("Leden met een te oude VOG (afgegeven vóór 23 november 2023): 1. "
                                       "Leden zonder VOG: 2.")


def test_missing_without_adults(hook):
    finding = screen(hook, members=(PersonFacts("child", 8),))
    assert finding.result == "missing" and en(finding.explanation) == "No adult members are recorded."
    finding = screen(hook, members=(PersonFacts("adult", 40),))
    assert (en(finding.explanation), nl(finding.explanation)) == (
        "No VOG is recorded for member 1.", "Geen VOG vastgelegd voor lid 1.")


def test_does_not_apply_to_requesting_families(hook):
    assert hook({NAME: {}}).koppel_screening(family=family(), today=TODAY) == []


def test_the_validity_is_configurable_in_years_and_months(hook):
    members = (PersonFacts("adult", 44, vog_issued_on=date(2025, 3, 1)),)
    assert screen(hook, {"max_age_years": 1}, members=members).result == "fail"
    finding = screen(hook, {"max_age_years": 1, "max_age_months": 9}, members=members)
    assert finding.result == "pass"
    assert en(finding.explanation) == "Every adult has a VOG of at most 21 months old."
    finding = screen(hook, {"max_age_years": 0, "max_age_months": 6}, members=members)
    assert finding.result == "fail"
    assert en(finding.explanation) == "The VOG of member 1 is too old: it was issued before May 23, 2026."
    recent = (PersonFacts("adult", 44, vog_issued_on=TODAY),)
    finding = screen(hook, {"max_age_years": 0, "max_age_months": 1}, members=recent)
    assert (en(finding.explanation), nl(finding.explanation)) == (
        "Every adult has a VOG of at most 1 month old.", "Elke volwassene heeft een VOG van hooguit 1 maand oud.")
    assert screen(hook, {"max_age_years": 4}, members=(PersonFacts("adult", 44, vog_issued_on=OLD),)).result == "pass"


@pytest.mark.parametrize("config, field", [({"max_age_years": -1}, "max_age_years"),
                                           ({"max_age_years": 11}, "max_age_years"),
                                           ({"max_age_months": 121}, "max_age_months"),
                                           ({"max_age_years": 0}, "max_age_months")])
def test_invalid_configuration_names_the_field(config, field):
    with pytest.raises(ValidationError) as raised:
        build_manager({NAME: config})
    assert field in raised.value.messages
