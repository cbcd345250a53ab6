import pytest
from marshmallow import ValidationError

from core.policy.types import PersonFacts, ScoreComponent
from tests.plugins.conftest import TODAY, family, in_english


def supporting(**facts):
    return family(id=2, kind="supporting", status="available", members=(PersonFacts("adult", 40),), **facts)


def score(hook, requesting, other, **config):
    return in_english(hook({"matching.availability": config}).koppel_match_score(
        requesting=requesting, supporting=other, today=TODAY))


def test_every_asked_day_part_offered_scores_1(hook):
    requesting = family(availability={"wed": ["afternoon"], "mon": ["morning"]})
    other = supporting(availability={"mon": ["morning", "afternoon"], "wed": ["afternoon"], "sat": ["morning"]})
    assert score(hook, requesting, other) == [
        ScoreComponent("matching.availability", 1.0, 1.0,
                       "Offers all 2 moments asked for: Monday morning and Wednesday afternoon.")]


def test_the_share_of_asked_day_parts_offered(hook):
    requesting = family(availability={"mon": ["morning", "afternoon"], "fri": ["morning"], "wed": ["evening"]})
    other = supporting(availability={"mon": ["afternoon", "morning"], "fri": ["afternoon"], "wed": ["evening"]})
    assert score(hook, requesting, other, weight=3) == [
        ScoreComponent("matching.availability", 0.75, 3.0,
                       "Offers 3 of the 4 moments asked for: Monday morning, Monday afternoon, and Wednesday "
                       "evening; not Friday morning.")]


def test_nothing_offered_scores_0(hook):
    (component,) = score(hook, family(availability={"tue": ["morning"], "thu": ["morning"]}), supporting())
    assert (component.score, component.veto, component.reason) == (
        0.0, False, "Offers none of the 2 moments asked for: Tuesday morning and Thursday morning.")


def test_weekends_count_as_one_asked_item(hook):
    requesting = family(availability={"mon": ["morning"]}, weekends=True)
    offered = supporting(availability={"mon": ["morning"]}, weekends=True)
    not_offered = supporting(availability={"mon": ["morning"]})
    assert score(hook, requesting, offered) == [ScoreComponent(
        "matching.availability", 1.0, 1.0, "Offers all 2 moments asked for: Monday morning and weekends.")]
    reason = "Offers 1 of the 2 moments asked for: Monday morning; not weekends."
    assert score(hook, requesting, not_offered) == [ScoreComponent("matching.availability", 0.5, 1.0, reason)]
    assert score(hook, requesting, not_offered, veto_weekends_not_offered=True) == [
        ScoreComponent("matching.availability", 0.5, 1.0, reason, veto=True)]


def test_an_overnight_stay_asked_but_not_offered_vetoes(hook):
    requesting = family(weekends=True, overnight=True)
    reason = "Offers 1 of the 2 moments asked for: weekends; not an overnight stay."
    assert score(hook, requesting, supporting(weekends=True)) == [
        ScoreComponent("matching.availability", 0.5, 1.0, reason, veto=True)]
    assert score(hook, requesting, supporting(weekends=True), veto_overnight_not_offered=False) == [
        ScoreComponent("matching.availability", 0.5, 1.0, reason)]
    assert score(hook, requesting, supporting(weekends=True, overnight=True)) == [ScoreComponent(
        "matching.availability", 1.0, 1.0, "Offers all 2 moments asked for: weekends and an overnight stay.")]


def test_a_single_day_part_not_offered(hook):
    (component,) = score(hook, family(availability={"tue": ["morning"]}), supporting(availability={"tue": ["evening"]}))
    assert (component.score, component.reason) == (0.0, "Does not offer the moment asked for: Tuesday morning.")


def test_what_is_offered_but_not_asked_does_not_count(hook):
    (component,) = score(hook, family(availability={"sun": ["evening"]}),
                         supporting(availability={"sun": ["evening"], "sat": ["morning"]}, weekends=True,
                                    overnight=True))
    assert (component.score, component.reason) == (1.0, "Offers the moment asked for: Sunday evening.")


def test_not_judged_when_nothing_is_asked(hook):
    assert score(hook, family(availability={"mon": []}), supporting(availability={"mon": ["morning"]})) == []
    assert score(hook, family(), supporting(weekends=True, overnight=True)) == []


@pytest.mark.parametrize(("config", "field"), [
    ({"weight": 11}, "weight"),
    ({"veto_overnight_not_offered": "maybe"}, "veto_overnight_not_offered"),
    ({"veto_weekends_not_offered": "maybe"}, "veto_weekends_not_offered"),
    ({"unknown": 1}, "unknown"),
])
def test_invalid_configuration_names_the_field(hook, config, field):
    with pytest.raises(ValidationError) as raised:
        hook({"matching.availability": config})
    assert field in raised.value.messages
