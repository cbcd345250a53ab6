import pytest
from marshmallow import ValidationError

from core.policy.manager import build_manager
from core.policy.types import PersonFacts
from tests.plugins.conftest import TODAY, en, family, nl

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
    assert en(finding.explanation) == "One adult lives with 2 children; the rule needs at least 2."
    assert nl(finding.explanation) == "Eén volwassene woont met 2 kinderen; de regel vraagt er ten minste 2."


@pytest.mark.parametrize("members, english, dutch", [
    ((ADULT, CHILD), "One adult with 1 child is recorded; the rule needs at least 2.",
     "Er is één volwassene met 1 kind vastgelegd; de regel vraagt er ten minste 2."),
    ((ADULT, ADULT, CHILD, CHILD, CHILD), "2 adults are recorded; the rule needs a single adult.",
     "Er zijn 2 volwassenen vastgelegd; de regel vraagt één volwassene in het huishouden."),
    ((CHILD, CHILD), "No adult is recorded; the rule needs one adult with at least 2 children.",
     "Er is geen volwassene vastgelegd; de regel vraagt één volwassene met ten minste 2 kinderen."),
])
def test_not_met_for_one_child_or_two_adults(hook, members, english, dutch):
    finding = judge(hook, members=members)
    assert finding.result == "not_met"
    assert (en(finding.explanation), nl(finding.explanation)) == (english, dutch)  # no "adult(s)"


def test_the_problem_area_counts_unless_switched_off(hook):
    area = frozenset({"single_parent_several_children"})
    finding = judge(hook, members=(ADULT, CHILD), problem_areas=area)
    assert finding.result == "met"
    assert en(finding.explanation) == "Recorded problem area: single parent with several children."
    assert judge(hook, {"count_problem_area": False}, members=(ADULT, CHILD), problem_areas=area).result == "not_met"


def test_missing_without_members(hook):
    finding = judge(hook, members=())
    assert finding.result == "missing"
    assert en(finding.explanation) == "No household members are recorded."


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
