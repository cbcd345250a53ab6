import json

import pytest
from marshmallow import ValidationError

from core.policy.manager import build_manager
from core.policy.types import PersonFacts
from tests.plugins.conftest import TODAY, en, family

NAME = "eligibility.poverty"
ADULT, CHILD = PersonFacts("adult", 38), PersonFacts("child", 7)


def judge(hook, config=None, **facts):
    (finding,) = hook({NAME: config or {}}).koppel_eligibility(family=family(**facts), today=TODAY)
    assert finding.rule == NAME and finding.effect == "include" and finding.explanation
    json.dumps(finding.facts)
    return finding


def test_met_at_or_below_120_percent_of_the_norm(hook):
    finding = judge(hook, household_income=1680, members=(ADULT, CHILD))  # 120% of 1400
    assert finding.result == "met"
    assert {k: finding.facts[k] for k in ("income", "household_type", "norm", "percentage", "threshold")} == {
        "income": 1680, "household_type": "single_parent", "norm": 1400, "percentage": 120, "threshold": 1680}
    assert finding.facts["norms_valid_from"] == "2026-01-01" and finding.facts["norms_source"]
    assert en(finding.explanation) == ("The household income of €1,680.00 is at most the limit of €1,680.00: 120% of "
                                       "the social minimum of €1,400.00 for a single parent.")


def test_not_met_above_it(hook):
    finding = judge(hook, household_income=1681, members=(ADULT, CHILD))
    assert finding.result == "not_met"
    assert en(finding.explanation) == ("The household income of €1,681.00 is above the limit of €1,680.00: 120% of "
                                       "the social minimum of €1,400.00 for a single parent.")


@pytest.mark.parametrize("members, household_type, threshold", [
    ((ADULT,), "single_adult", 1680), ((ADULT, ADULT, CHILD), "couple", 2400), ((ADULT, ADULT), "couple", 2400)])
def test_the_norm_follows_the_household_type(hook, members, household_type, threshold):
    finding = judge(hook, household_income=2000, members=members)
    assert (finding.facts["household_type"], finding.facts["threshold"]) == (household_type, threshold)
    assert finding.result == ("met" if threshold >= 2000 else "not_met")


def test_missing_income_or_household(hook):
    finding = judge(hook, members=(ADULT, ADULT))
    assert finding.result == "missing"
    assert en(finding.explanation) == ("No household income is recorded; the limit is €2,400.00: 120% of the social "
                                       "minimum of €2,000.00 for a household of two or more adults.")
    finding = judge(hook, household_income=900, members=(CHILD,))
    assert finding.result == "missing"
    assert en(finding.explanation) == "No adult member is recorded, so the household type is unknown."


def test_percentage_and_norms_are_configurable(hook):
    assert judge(hook, {"percentage": 100}, household_income=1500, members=(ADULT,)).result == "not_met"
    assert judge(hook, {"percentage": 150}, household_income=2050, members=(ADULT,)).result == "met"
    finding = judge(hook, {"percentage": 115, "norms": {"single_adult": 1401, "source": "Gemeenteblad 2026"}},
                    household_income=1611, members=(ADULT,))
    assert finding.result == "met" and finding.facts["threshold"] == 1611.15
    assert "the limit of €1,611.15: 115% of the social minimum of €1,401.00" in en(finding.explanation)
    assert finding.facts["norms_source"] == "Gemeenteblad 2026"


@pytest.mark.parametrize("config, path", [
    ({"percentage": 20}, ("percentage",)),
    ({"percentage": "a lot"}, ("percentage",)),
    ({"norms": {"couple": 0}}, ("norms", "couple")),
    ({"norms": {"valid_from": "soon"}}, ("norms", "valid_from")),
    ({"norms": {"pensioner": 1500}}, ("norms", "pensioner")),
])
def test_invalid_configuration_names_the_field(config, path):
    with pytest.raises(ValidationError) as raised:
        build_manager({NAME: config})
    messages = raised.value.messages
    for key in path:
        assert key in messages
        messages = messages[key]
