import pytest
from marshmallow import ValidationError

from core.policy.manager import build_manager
from core.policy.types import PersonFacts
from tests.plugins.conftest import TODAY, en, family

NAME = "eligibility.child_needs"
AREA = frozenset({"child_adhd_or_disability"})


def judge(hook, config=None, **facts):
    (finding,) = hook({NAME: config or {}}).koppel_eligibility(family=family(**facts), today=TODAY)
    assert finding.rule == NAME and finding.effect == "include" and finding.explanation
    return finding


def test_met_when_the_problem_area_is_recorded(hook):
    finding = judge(hook, problem_areas=AREA)
    assert finding.result == "met"
    assert finding.facts["problem_area_recorded"] is True
    assert en(finding.explanation) == "Recorded problem area: a child with ADHD or a disability."


def test_not_met_without_it(hook):
    finding = judge(hook, problem_areas=frozenset({"overload"}))
    assert finding.result == "not_met"
    assert en(finding.explanation) == "Not recorded as a problem area: a child with ADHD or a disability."


def test_a_maximum_age_changes_the_outcome(hook):
    members = (PersonFacts("adult", 40), PersonFacts("child", 15))
    assert judge(hook, problem_areas=AREA, members=members).result == "met"
    finding = judge(hook, {"max_child_age": 12}, problem_areas=AREA, members=members)
    assert finding.result == "not_met"
    assert finding.facts["children_ages"] == [15] and finding.facts["max_child_age"] == 12
    assert en(finding.explanation) == ("Recorded problem area: a child with ADHD or a disability, but every child is "
                                       "older than 12.")
    assert judge(hook, {"max_child_age": 15}, problem_areas=AREA, members=members).result == "met"


def test_unknown_ages_are_missing_with_a_maximum_age(hook):
    members = (PersonFacts("adult", 40), PersonFacts("child", None))
    finding = judge(hook, {"max_child_age": 12}, problem_areas=AREA, members=members)
    assert finding.result == "missing"
    assert en(finding.explanation).endswith("but no child is known to be 12 or younger (the children or their ages "
                                            "are not recorded).")
    assert judge(hook, {"max_child_age": 12}, problem_areas=AREA, members=()).result == "missing"


@pytest.mark.parametrize("value", [-1, 26, "old"])
def test_invalid_configuration_names_the_field(value):
    with pytest.raises(ValidationError) as raised:
        build_manager({NAME: {"max_child_age": value}})
    assert "max_child_age" in raised.value.messages
