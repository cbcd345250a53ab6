import pytest
from marshmallow import ValidationError

from core.policy.manager import build_manager
from core.policy.types import PersonFacts
from tests.plugins.conftest import TODAY, family

NAME = "eligibility.single_parent"
ADULT, CHILD = PersonFacts("adult", 33), PersonFacts("child", 4)


def judge(hook, config=None, **facts):
    (finding,) = hook({NAME: config or {}}).koppel_eligibility(family=family(**facts), today=TODAY)
    assert finding.rule == NAME and finding.effect == "include" and finding.explanation
    return finding


def test_met_for_one_adult_with_two_children(hook):
    finding = judge(hook, members=(ADULT, CHILD, CHILD))
    assert finding.result == "met"
    assert finding.facts == {"adults": 1, "children": 2, "min_children": 2, "problem_area_recorded": False}


@pytest.mark.parametrize("members", [(ADULT, CHILD), (ADULT, ADULT, CHILD, CHILD, CHILD)])
def test_not_met_for_one_child_or_two_adults(hook, members):
    assert judge(hook, members=members).result == "not_met"


def test_the_problem_area_counts_unless_switched_off(hook):
    area = frozenset({"single_parent_several_children"})
    assert judge(hook, members=(ADULT, CHILD), problem_areas=area).result == "met"
    assert judge(hook, {"count_problem_area": False}, members=(ADULT, CHILD), problem_areas=area).result == "not_met"


def test_missing_without_members(hook):
    assert judge(hook, members=()).result == "missing"


def test_the_number_of_children_is_configurable(hook):
    assert judge(hook, {"min_children": 1}, members=(ADULT, CHILD)).result == "met"
    assert judge(hook, {"min_children": 3}, members=(ADULT, CHILD, CHILD)).result == "not_met"


@pytest.mark.parametrize("config, field", [({"min_children": 0}, "min_children"),
                                           ({"min_children": 11}, "min_children"),
                                           ({"count_problem_area": "perhaps"}, "count_problem_area")])
def test_invalid_configuration_names_the_field(config, field):
    with pytest.raises(ValidationError) as raised:
        build_manager({NAME: config})
    assert field in raised.value.messages
