import pytest
from marshmallow import ValidationError

from core.policy.manager import build_manager
from tests.plugins.conftest import TODAY, family

NAME = "eligibility.newcomer"


def judge(hook, config=None, **facts):
    (finding,) = hook({NAME: config or {}}).koppel_eligibility(family=family(**facts), today=TODAY)
    assert finding.rule == NAME and finding.effect == "include" and finding.explanation
    return finding


@pytest.mark.parametrize("year", [TODAY.year, TODAY.year - 5])
def test_met_when_arrived_in_the_last_five_years(hook, year):
    finding = judge(hook, arrival_year=year)
    assert finding.result == "met"
    assert finding.facts["arrival_year"] == year and finding.facts["max_years"] == 5


def test_not_met_when_arrived_longer_ago(hook):
    assert judge(hook, arrival_year=TODAY.year - 6, problem_areas=frozenset({"newcomer"})).result == "not_met"


def test_missing_arrival_year(hook):
    assert judge(hook, problem_areas=frozenset({"newcomer"})).result == "missing"
    assert judge(hook).result == "not_met"


def test_an_arrival_year_in_the_future_is_missing(hook):
    assert judge(hook, arrival_year=TODAY.year + 1).result == "missing"


def test_the_number_of_years_is_configurable(hook):
    assert judge(hook, {"max_years": 10}, arrival_year=TODAY.year - 8).result == "met"
    assert judge(hook, {"max_years": 2}, arrival_year=TODAY.year - 3).result == "not_met"


@pytest.mark.parametrize("value", [0, 51, None])
def test_invalid_configuration_names_the_field(value):
    with pytest.raises(ValidationError) as raised:
        build_manager({NAME: {"max_years": value}})
    assert "max_years" in raised.value.messages
