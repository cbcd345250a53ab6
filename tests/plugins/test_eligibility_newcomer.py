import pytest
from marshmallow import ValidationError

from core.policy.manager import build_manager
from tests.plugins.conftest import TODAY, en, family, nl

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
    assert en(finding.explanation) == f"Arrived in {year}; arrivals in 2021 or later count."
    assert nl(finding.explanation) == f"Aangekomen in {year}; aankomst in 2021 of later telt mee."  # 2021, not 2.021


def test_not_met_when_arrived_longer_ago(hook):
    finding = judge(hook, arrival_year=TODAY.year - 6, problem_areas=frozenset({"newcomer"}))
    assert finding.result == "not_met"
    assert en(finding.explanation) == "Arrived in 2020; only arrivals in 2021 or later count."


def test_missing_arrival_year(hook):
    finding = judge(hook, problem_areas=frozenset({"newcomer"}))
    assert finding.result == "missing"
    assert en(finding.explanation) == "Recorded problem area: newcomer, but no year of arrival."
    finding = judge(hook)
    assert finding.result == "not_met"
    assert en(finding.explanation) == "Neither a year of arrival nor the problem area 'newcomer' is recorded."


def test_an_arrival_year_in_the_future_is_missing(hook):
    finding = judge(hook, arrival_year=TODAY.year + 1)
    assert finding.result == "missing"
    assert en(finding.explanation) == "The year of arrival, 2027, lies in the future; please correct it."
    assert nl(finding.explanation) == "Het jaar van aankomst, 2027, ligt in de toekomst; corrigeer het alstublieft."


def test_the_number_of_years_is_configurable(hook):
    assert judge(hook, {"max_years": 10}, arrival_year=TODAY.year - 8).result == "met"
    assert judge(hook, {"max_years": 2}, arrival_year=TODAY.year - 3).result == "not_met"


@pytest.mark.parametrize("value", [0, 51, None])
def test_invalid_configuration_names_the_field(value):
    with pytest.raises(ValidationError) as raised:
        build_manager({NAME: {"max_years": value}})
    assert "max_years" in raised.value.messages
