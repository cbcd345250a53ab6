from datetime import date

import pytest
from marshmallow import ValidationError

from core.policy.manager import build_manager
from core.policy.types import PersonFacts
from tests.plugins.conftest import TODAY, family

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


def test_fail_when_a_vog_is_too_old(hook):
    members = (PersonFacts("adult", 44, vog_issued_on=RECENT), PersonFacts("adult", 41, vog_issued_on=OLD),
               PersonFacts("child", None))
    finding = screen(hook, members=members)
    assert finding.result == "fail"
    assert finding.explanation == "VOG older than 3 years: member 2 (age 41), issued 2023-11-22."
    assert finding.facts["adults"][1] == {"member": 2, "age": 41, "vog_issued_on": "2023-11-22", "status": "too old"}


def test_missing_when_an_adult_has_none_including_older_children_and_adults_of_unknown_age(hook):
    members = (PersonFacts("adult", 50, vog_issued_on=RECENT), PersonFacts("child", 19),
               PersonFacts("adult", None), PersonFacts("child", 17))
    finding = screen(hook, members=members)
    assert finding.result == "missing"
    assert "No VOG recorded: member 2 (age 19), member 3." in finding.explanation
    assert [a["member"] for a in finding.facts["adults"]] == [1, 2, 3]


def test_a_too_old_vog_outweighs_a_missing_one(hook):
    members = (PersonFacts("adult", 50, vog_issued_on=OLD), PersonFacts("adult", 48))
    finding = screen(hook, members=members)
    assert finding.result == "fail"
    assert "member 1" in finding.explanation and "member 2" in finding.explanation


def test_missing_without_adults(hook):
    assert screen(hook, members=(PersonFacts("child", 8),)).result == "missing"


def test_does_not_apply_to_requesting_families(hook):
    assert hook({NAME: {}}).koppel_screening(family=family(), today=TODAY) == []


def test_the_validity_is_configurable_in_years_and_months(hook):
    members = (PersonFacts("adult", 44, vog_issued_on=date(2025, 3, 1)),)
    assert screen(hook, {"max_age_years": 1}, members=members).result == "fail"
    assert screen(hook, {"max_age_years": 1, "max_age_months": 9}, members=members).result == "pass"
    finding = screen(hook, {"max_age_years": 0, "max_age_months": 6}, members=members)
    assert finding.result == "fail" and "6 months" in finding.explanation
    assert screen(hook, {"max_age_years": 4}, members=(PersonFacts("adult", 44, vog_issued_on=OLD),)).result == "pass"


@pytest.mark.parametrize("config, field", [({"max_age_years": -1}, "max_age_years"),
                                           ({"max_age_years": 11}, "max_age_years"),
                                           ({"max_age_months": 121}, "max_age_months"),
                                           ({"max_age_years": 0}, "max_age_months")])
def test_invalid_configuration_names_the_field(config, field):
    with pytest.raises(ValidationError) as raised:
        build_manager({NAME: config})
    assert field in raised.value.messages
