import pytest
from marshmallow import ValidationError

from core.policy.types import PersonFacts, ScoreComponent
from tests.plugins.conftest import TODAY, family, in_english, nl


def supporting(**facts):
    return family(id=2, kind="supporting", status="available", members=(PersonFacts("adult", 40),), **facts)


def with_children(*ages):
    return family(members=(PersonFacts("adult", 35), *(PersonFacts("child", age) for age in ages)))


def score(hook, requesting, other, **config):
    return in_english(hook({"matching.ages": config}).koppel_match_score(
        requesting=requesting, supporting=other, today=TODAY))


def test_every_child_inside_the_ages_scores_1(hook):
    assert score(hook, with_children(8, 4), supporting(capacity_age_min=4, capacity_age_max=8)) == [
        ScoreComponent("matching.ages", 1.0, 1.0,
                       "All 2 children, aged 4 and 8, fit: the supporting family takes ages 4–8.")]
    assert score(hook, family(), supporting(capacity_age_min=2, capacity_age_max=12), weight=0.5) == [
        ScoreComponent("matching.ages", 1.0, 0.5,
                       "The child, aged 6, fits: the supporting family takes ages 2–12.")]
    (component,) = hook({"matching.ages": {}}).koppel_match_score(
        requesting=family(), supporting=supporting(capacity_age_min=2, capacity_age_max=12), today=TODAY)
    assert nl(component.reason) == "Het kind, van 6 jaar, past: het steungezin vangt kinderen van 2–12 jaar op."


def test_the_share_of_children_inside(hook):
    assert score(hook, with_children(3, 7, 13), supporting(capacity_age_min=4, capacity_age_max=12)) == [
        ScoreComponent("matching.ages", 0.333, 1.0,
                       "1 of the 3 children fits (aged 7; not 3 and 13): the supporting family takes ages 4–12.")]
    (component,) = score(hook, with_children(3, 7, 13), supporting(capacity_age_min=6, capacity_age_max=14))
    assert component.reason == ("2 of the 3 children fit (aged 7 and 13; not 3): the supporting family takes ages "
                                "6–14.")


def test_no_child_inside_vetoes_unless_configured_otherwise(hook):
    requesting, other = with_children(14, 16), supporting(capacity_age_min=0, capacity_age_max=12)
    reason = "None of the 2 children, aged 14 and 16, fits: the supporting family takes ages 0–12."
    assert score(hook, requesting, other) == [ScoreComponent("matching.ages", 0.0, 1.0, reason, veto=True)]
    assert score(hook, requesting, other, veto_when_none_fits=False) == [
        ScoreComponent("matching.ages", 0.0, 1.0, reason)]


def test_a_missing_bound_is_open(hook):
    (component,) = score(hook, with_children(1, 15), supporting(capacity_age_min=4))
    assert (component.score, component.reason) == (
        0.5, "1 of the 2 children fits (aged 15; not 1): the supporting family takes ages 4+.")
    (component,) = score(hook, with_children(1, 15), supporting(capacity_age_max=4))
    assert (component.score, component.reason) == (
        0.5, "1 of the 2 children fits (aged 1; not 15): the supporting family takes ages 0–4.")


def test_children_of_unknown_age_are_left_out(hook):
    (component,) = score(hook, with_children(None, 5, None), supporting(capacity_age_min=4, capacity_age_max=8))
    assert (component.score, component.veto, component.reason) == (
        1.0, False, "The child, aged 5, fits: the supporting family takes ages 4–8. "
                    "Children of unknown age, not counted: 2.")
    (component,) = score(hook, with_children(None, 10), supporting(capacity_age_min=4, capacity_age_max=8))
    assert (component.score, component.veto, component.reason) == (
        0.0, True, "The child, aged 10, does not fit: the supporting family takes ages 4–8. "
                   "Children of unknown age, not counted: 1.")


@pytest.mark.parametrize(("requesting", "other"), [
    (with_children(5), supporting()),
    (with_children(None), supporting(capacity_age_min=0, capacity_age_max=12)),
    (with_children(), supporting(capacity_age_min=0, capacity_age_max=12)),
])
def test_not_judged_without_ages_or_bounds(hook, requesting, other):
    assert score(hook, requesting, other) == []


@pytest.mark.parametrize(("config", "field"), [
    ({"weight": -0.1}, "weight"),
    ({"veto_when_none_fits": "sometimes"}, "veto_when_none_fits"),
])
def test_invalid_configuration_names_the_field(hook, config, field):
    with pytest.raises(ValidationError) as raised:
        hook({"matching.ages": config})
    assert field in raised.value.messages
