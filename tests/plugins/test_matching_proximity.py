import math

import pytest
from marshmallow import ValidationError

from core.policy.types import PersonFacts, ScoreComponent
from tests.plugins.conftest import TODAY, family, in_english, nl

EARTH_RADIUS_KM = 6371.0088


def supporting(**facts):
    return family(id=2, kind="supporting", status="available", members=(PersonFacts("adult", 40),), **facts)


def north_of(km, lat=52.0, lon=5.0):
    """Coordinates *km* due north of (lat, lon): the great-circle distance is exactly *km*."""
    return {"latitude": lat + math.degrees(km / EARTH_RADIUS_KM), "longitude": lon}


def score(hook, requesting, other, **config):
    return in_english(hook({"matching.proximity": config}).koppel_match_score(
        requesting=requesting, supporting=other, today=TODAY))


def test_same_neighbourhood_scores_1(hook):
    assert score(hook, family(neighbourhood_code="BU02220101"), supporting(neighbourhood_code="BU02220101")) == [
        ScoreComponent("matching.proximity", 1.0, 1.0, "Both families live in neighbourhood BU02220101.")]


def test_same_district_scores_the_configured_share(hook):
    requesting = family(district_code="WK022201", neighbourhood_code="BU02220101")
    other = supporting(district_code="WK022201", neighbourhood_code="BU02220102")
    reason = "Both families live in district WK022201, in different neighbourhoods."
    assert score(hook, requesting, other) == [ScoreComponent("matching.proximity", 0.7, 1.0, reason)]
    assert score(hook, requesting, other, same_district_score=0.4, weight=2) == [
        ScoreComponent("matching.proximity", 0.4, 2.0, reason)]


def test_the_district_follows_from_a_neighbourhood_code(hook):
    (component,) = score(hook, family(neighbourhood_code="BU02220101"), supporting(district_code="WK022201"))
    assert (component.score, component.reason) == (
        0.7, "Both families live in district WK022201, in different neighbourhoods.")


def test_different_districts_score_0(hook):
    (component,) = score(hook, family(district_code="WK022201"), supporting(neighbourhood_code="BU02220301"))
    assert (component.score, component.veto, component.reason) == (
        0.0, False, "The families live in different districts (WK022201 and WK022203).")


@pytest.mark.parametrize(("km", "expected", "reason"), [
    (0, 1.0, "The families live 0 km apart as the crow flies, within 2 km."),
    (1.5, 1.0, "The families live 1.5 km apart as the crow flies, within 2 km."),
    (2, 1.0, "The families live 2 km apart as the crow flies, within 2 km."),
    (4, 0.75, "The families live 4 km apart as the crow flies, between 2 and 10 km."),
    (6, 0.5, "The families live 6 km apart as the crow flies, between 2 and 10 km."),
    (10, 0.0, "The families live 10 km apart as the crow flies: 10 km or more."),
    (25, 0.0, "The families live 25 km apart as the crow flies: 10 km or more."),
])
def test_distance_falls_linearly_from_near_to_far(hook, km, expected, reason):
    assert score(hook, family(**north_of(0)), supporting(**north_of(km))) == [
        ScoreComponent("matching.proximity", expected, 1.0, reason)]


def test_distance_along_a_parallel_is_great_circle(hook):
    # 0.1 degree of longitude at 52 degrees north is about 6.85 km
    (component,) = score(hook, family(latitude=52.0, longitude=5.0), supporting(latitude=52.0, longitude=5.1))
    assert component.reason == "The families live 6.8 km apart as the crow flies, between 2 and 10 km."
    assert component.score == 0.394
    (component,) = hook({"matching.proximity": {}}).koppel_match_score(
        requesting=family(latitude=52.0, longitude=5.0), supporting=supporting(latitude=52.0, longitude=5.1),
        today=TODAY)
    assert nl(component.reason) == "De gezinnen wonen hemelsbreed 6,8 km van elkaar, tussen 2 en 10 km."


def test_coordinates_win_over_area_codes(hook):
    requesting = family(neighbourhood_code="BU02220101", **north_of(0))
    other = supporting(neighbourhood_code="BU02220101", **north_of(12))
    (component,) = score(hook, requesting, other)
    assert (component.score, component.reason) == (
        0.0, "The families live 12 km apart as the crow flies: 10 km or more.")


def test_configured_distances_and_veto(hook):
    requesting = family(**north_of(0))
    assert score(hook, requesting, supporting(**north_of(2)), near_km=1, far_km=3) == [
        ScoreComponent("matching.proximity", 0.5, 1.0,
                       "The families live 2 km apart as the crow flies, between 1 and 3 km.")]
    assert score(hook, requesting, supporting(**north_of(6)), veto_beyond_km=5) == [
        ScoreComponent("matching.proximity", 0.5, 1.0, "The families live 6 km apart as the crow flies, "
                       "between 2 and 10 km.", veto=True)]
    (within,) = score(hook, requesting, supporting(**north_of(4.5)), veto_beyond_km=5)
    assert (within.score, within.veto) == (0.688, False)


def test_the_veto_needs_coordinates(hook):
    (component,) = score(hook, family(district_code="WK022201"), supporting(district_code="WK022299"),
                         veto_beyond_km=1)
    assert (component.score, component.veto) == (0.0, False)


@pytest.mark.parametrize(("requesting", "other"), [
    (family(), supporting()),
    (family(neighbourhood_code="BU02220101"), supporting()),
    (family(latitude=52.0, longitude=5.0), supporting(latitude=52.0)),
    (family(latitude=52.0, longitude=5.0), supporting()),
])
def test_not_judged_without_comparable_locations(hook, requesting, other):
    assert score(hook, requesting, other) == []


@pytest.mark.parametrize(("config", "field"), [
    ({"near_km": -1}, "near_km"),
    ({"far_km": 0}, "far_km"),
    ({"near_km": 5, "far_km": 5}, "far_km"),
    ({"near_km": 5, "far_km": 3}, "far_km"),
    ({"veto_beyond_km": 0}, "veto_beyond_km"),
    ({"same_district_score": 1.2}, "same_district_score"),
    ({"weight": -1}, "weight"),
    ({"weight": "heavy"}, "weight"),
])
def test_invalid_configuration_names_the_field(hook, config, field):
    with pytest.raises(ValidationError) as raised:
        hook({"matching.proximity": config})
    assert field in raised.value.messages
