import pytest
from marshmallow import ValidationError

from core.policy.types import PersonFacts, ScoreComponent
from tests.plugins.conftest import TODAY, family, in_english, nl


def supporting(**facts):
    return family(id=2, kind="supporting", status="available", members=(PersonFacts("adult", 40),), **facts)


def with_children(count):
    return family(members=(PersonFacts("adult", 35), *(PersonFacts("child", 5) for _ in range(count))))


def score(hook, requesting, other, **config):
    return in_english(hook({"matching.capacity": config}).koppel_match_score(
        requesting=requesting, supporting=other, today=TODAY))


def test_room_for_every_child_scores_1(hook):
    assert score(hook, with_children(2), supporting(capacity_children=3, children_placed=1)) == [ScoreComponent(
        "matching.capacity", 1.0, 1.0,
        "Room enough: the requesting family has 2 children, the supporting family has room for 2 more.")]
    assert score(hook, with_children(1), supporting(capacity_children=1), weight=4) == [ScoreComponent(
        "matching.capacity", 1.0, 4.0,
        "Room enough: the requesting family has 1 child, the supporting family has room for 1 more.")]
    (component,) = hook({"matching.capacity": {}}).koppel_match_score(
        requesting=with_children(2), supporting=supporting(capacity_children=3, children_placed=1), today=TODAY)
    assert nl(component.reason) == ("Plaats genoeg: het vraaggezin heeft 2 kinderen, het steungezin heeft nog plaats "
                                    "voor 2.")


def test_room_for_some_children_scores_the_share(hook):
    requesting, other = with_children(3), supporting(capacity_children=2, children_placed=1)
    reason = "Room for only 1 more: the requesting family has 3 children."
    assert score(hook, requesting, other) == [ScoreComponent("matching.capacity", 0.333, 1.0, reason)]
    assert score(hook, requesting, other, veto_when_short=True) == [
        ScoreComponent("matching.capacity", 0.333, 1.0, reason, veto=True)]


@pytest.mark.parametrize(("capacity", "placed", "has"), [
    (2, 2, "takes 2 children and already has 2 placed"),
    (1, 2, "takes 1 child and already has 2 placed"),
    (0, 0, "takes 0 children and already has 0 placed"),
])
def test_no_room_left_vetoes(hook, capacity, placed, has):
    assert score(hook, with_children(1), supporting(capacity_children=capacity, children_placed=placed)) == [
        ScoreComponent("matching.capacity", 0.0, 1.0,
                       f"No room left: the supporting family {has}.", veto=True)]


def test_no_room_left_vetoes_even_without_recorded_children(hook):
    (component,) = score(hook, with_children(0), supporting(capacity_children=1, children_placed=1))
    assert component.veto


@pytest.mark.parametrize(("requesting", "other"), [
    (with_children(2), supporting()),
    (with_children(2), supporting(children_placed=1)),
    (with_children(0), supporting(capacity_children=2)),
])
def test_not_judged_without_capacity_or_children(hook, requesting, other):
    assert score(hook, requesting, other) == []


@pytest.mark.parametrize(("config", "field"), [
    ({"weight": 100}, "weight"),
    ({"veto_when_short": None}, "veto_when_short"),
])
def test_invalid_configuration_names_the_field(hook, config, field):
    with pytest.raises(ValidationError) as raised:
        hook({"matching.capacity": config})
    assert field in raised.value.messages
