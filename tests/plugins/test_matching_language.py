import pytest
from marshmallow import ValidationError

from core.policy.types import PersonFacts, ScoreComponent
from tests.plugins.conftest import TODAY, family, in_english, nl


def supporting(**facts):
    return family(id=2, kind="supporting", status="available", members=(PersonFacts("adult", 40),), **facts)


def score(hook, requesting, other, **config):
    return in_english(hook({"matching.language": config}).koppel_match_score(
        requesting=requesting, supporting=other, today=TODAY))


def test_a_shared_language_scores_1(hook):
    requesting = family(languages=frozenset({"ar", "nl"}))
    other = supporting(languages=frozenset({"nl", "ar", "en"}))
    assert score(hook, requesting, other) == [
        ScoreComponent("matching.language", 1.0, 1.0, "Both families speak Arabic and Dutch.")]


def test_no_shared_language_scores_the_configured_score(hook):
    requesting, other = family(languages=frozenset({"ti", "ar"})), supporting(languages=frozenset({"nl", "en"}))
    reason = ("No shared language: the requesting family speaks Arabic and Tigrinya, "
              "the supporting family English and Dutch.")  # in the order of their codes (en, nl)
    assert score(hook, requesting, other) == [ScoreComponent("matching.language", 0.3, 1.0, reason)]
    assert score(hook, requesting, other, no_shared_score=0, weight=2) == [
        ScoreComponent("matching.language", 0.0, 2.0, reason)]


def test_unknown_codes_are_named_by_their_code(hook):
    (component,) = score(hook, family(languages=frozenset({"xh"})), supporting(languages=frozenset({"nl"})))
    assert component.reason == "No shared language: the requesting family speaks xh, the supporting family Dutch."


def test_dutch_is_assumed_for_a_family_that_lists_no_language(hook):
    assert score(hook, family(), supporting()) == [ScoreComponent(
        "matching.language", 1.0, 1.0,
        "Neither family lists a language; both are taken to speak Dutch.")]
    (component,) = hook({"matching.language": {}}).koppel_match_score(
        requesting=family(), supporting=supporting(), today=TODAY)
    assert nl(component.reason) == ("Geen van beide gezinnen heeft een taal opgegeven; aangenomen wordt dat beide "
                                    "Nederlands spreken.")
    assert score(hook, family(languages=frozenset({"pl", "nl"})), supporting()) == [ScoreComponent(
        "matching.language", 1.0, 1.0,
        "Both families speak Dutch (the supporting family lists no language; Dutch is assumed).")]
    (component,) = score(hook, family(languages=frozenset({"uk"})), supporting())
    assert (component.score, component.reason) == (
        0.3, "No shared language: the requesting family speaks Ukrainian; the supporting family lists no "
             "language (Dutch is assumed).")
    (component,) = score(hook, family(), supporting(languages=frozenset({"uk"})))
    assert component.reason == ("No shared language: the supporting family speaks Ukrainian; the requesting family "
                                "lists no language (Dutch is assumed).")
    (component,) = score(hook, family(), supporting(languages=frozenset({"nl"})))
    assert component.reason == ("Both families speak Dutch (the requesting family lists no language; Dutch is "
                                "assumed).")


def test_without_assuming_dutch_a_family_without_languages_is_not_judged(hook):
    assert score(hook, family(), supporting(), assume_dutch=False) == []
    assert score(hook, family(languages=frozenset({"nl"})), supporting(), assume_dutch=False) == []
    (component,) = score(hook, family(languages=frozenset({"nl"})), supporting(languages=frozenset({"nl"})),
                         assume_dutch=False)
    assert (component.score, component.reason) == (1.0, "Both families speak Dutch.")


@pytest.mark.parametrize(("config", "field"), [
    ({"no_shared_score": -0.5}, "no_shared_score"),
    ({"no_shared_score": 2}, "no_shared_score"),
    ({"assume_dutch": "ja"}, "assume_dutch"),
    ({"weight": None}, "weight"),
])
def test_invalid_configuration_names_the_field(hook, config, field):
    with pytest.raises(ValidationError) as raised:
        hook({"matching.language": config})
    assert field in raised.value.messages
