import pytest
from marshmallow import ValidationError

from core.policy.manager import build_manager
from tests.plugins.conftest import TODAY, en, family

NAME = "eligibility.kopp_kov"


def judge(hook, config=None, **facts):
    (finding,) = hook({NAME: config or {}}).koppel_eligibility(family=family(**facts), today=TODAY)
    assert finding.rule == NAME and finding.effect == "include" and finding.explanation
    return finding


@pytest.mark.parametrize("areas", [{"kopp"}, {"kov"}, {"kopp", "kov", "poverty"}])
def test_met_when_kopp_or_kov_is_recorded(hook, areas):
    finding = judge(hook, problem_areas=frozenset(areas))
    assert finding.result == "met"
    assert finding.facts["counted_areas"] == ["kopp", "kov"]
    assert finding.facts["problem_areas"] == sorted(areas)


def test_not_met_without_either(hook):
    finding = judge(hook, problem_areas=frozenset({"poverty"}))
    assert finding.result == "not_met"
    assert en(finding.explanation) == ("None of these problem areas is recorded: a parent with a mental illness "
                                       "(KOPP) and a parent with an addiction (KOV).")


def test_both_recorded_are_named(hook):
    finding = judge(hook, problem_areas=frozenset({"kopp", "kov"}))
    assert en(finding.explanation) == ("Recorded problem areas: a parent with a mental illness (KOPP) and a parent "
                                       "with an addiction (KOV).")


def test_configuration_chooses_which_areas_count(hook):
    assert judge(hook, {"areas": ["kopp"]}, problem_areas=frozenset({"kov"})).result == "not_met"
    assert judge(hook, {"areas": ["kov"]}, problem_areas=frozenset({"kov"})).result == "met"


@pytest.mark.parametrize("config", [{"areas": []}, {"areas": ["poverty"]}, {"areas": "kopp"}])
def test_invalid_configuration_names_the_field(config):
    with pytest.raises(ValidationError) as raised:
        build_manager({NAME: config})
    assert "areas" in raised.value.messages
