from dataclasses import replace

import pytest
from marshmallow import ValidationError

from core.policy.manager import build_manager
from core.policy.types import PersonFacts, ScoreComponent
from plugins._matching import component
from plugins.matching_wishes import Wishes
from tests.plugins.conftest import TODAY, family, in_english, nl


def supporting(**facts):
    return family(id=2, kind="supporting", status="available", members=(PersonFacts("adult", 40),), **facts)


def score(hook, requesting, other, **config):
    return in_english(hook({"matching.wishes": config}).koppel_match_score(
        requesting=requesting, supporting=other, today=TODAY))


def test_support_kinds_all_offered(hook):
    requesting = family(support_kinds=frozenset({"weekend_stay", "day_part_care"}))
    other = supporting(support_kinds=frozenset({"day_part_care", "weekend_stay", "practical_help"}))
    assert score(hook, requesting, other) == [ScoreComponent(
        "matching.wishes", 1.0, 1.0, "Offers all 2 kinds of support asked for: care for a day part and weekend stay.")]


def test_support_kinds_partly_or_not_offered(hook):
    requesting = family(support_kinds=frozenset({"weekend_stay", "day_part_care", "parent_buddy"}))
    (component,) = score(hook, requesting, supporting(support_kinds=frozenset({"day_part_care"})), weight=0.5)
    assert (component.score, component.weight, component.reason) == (
        0.333, 0.5, "Offers 1 of the 3 kinds of support asked for: care for a day part; "
                    "not a buddy for the parent and weekend stay.")
    (component,) = score(hook, family(support_kinds=frozenset({"practical_help"})), supporting())
    assert (component.score, component.reason) == (0.0, "Does not offer the support asked for: practical help.")


def test_terms_met_in_the_preferences(hook):
    requesting = family(wishes="Graag een rookvrij gezin met een tuin.")
    other = supporting(preferences="Ons huis is rookvrij. We hebben een grote TUIN en een hond.")
    reason = 'Wishes met in the preferences: "rookvrij" ↔ "rookvrij" and "tuin" ↔ "TUIN".'
    assert score(hook, requesting, other) == [ScoreComponent("matching.wishes", 1.0, 1.0, reason)]
    ((component,),) = hook({"matching.wishes": {}}).koppel_match_score(requesting=requesting, supporting=other,
                                                                       today=TODAY)
    assert nl(component.reason) == 'Wensen die in de voorkeuren terugkomen: "rookvrij" ↔ "rookvrij" en "tuin" ↔ "TUIN".'


def test_synonyms_across_languages_and_terms_not_mentioned(hook):
    requesting = family(wishes="We would love a family with pets. Vegetarisch eten graag.")
    other = supporting(preferences="Wij hebben twee katten.")
    (component,) = score(hook, requesting, other)
    assert (component.score, component.veto, component.reason) == (
        0.5, False, 'Wishes met in the preferences: "pets" ↔ "katten"; not mentioned: "Vegetarisch".')


def test_a_negated_mention_conflicts_with_a_plain_one(hook):
    requesting = family(wishes="Mijn zoon is allergisch voor honden.")
    other = supporting(preferences="We hebben een hond en een kat.")
    reason = 'Wishes in conflict with the preferences: "allergisch voor honden" ↔ "hond".'
    assert score(hook, requesting, other) == [ScoreComponent("matching.wishes", 0.0, 1.0, reason)]
    assert score(hook, requesting, other, veto_on_conflict=True) == [
        ScoreComponent("matching.wishes", 0.0, 1.0, reason, veto=True)]


def test_two_negated_mentions_agree(hook):
    requesting = family(wishes="Liever geen huisdieren, in verband met astma.")
    other = supporting(preferences="Wij hebben geen huisdieren.")
    (component,) = score(hook, requesting, other)
    assert (component.score, component.reason) == (
        1.0, 'Wishes met in the preferences: "geen huisdieren" ↔ "geen huisdieren".')


def test_a_negation_counts_only_just_before_the_word_in_the_same_sentence(hook):
    requesting = family(wishes="Geen bezwaar tegen huisdieren.")  # three words before: not negated
    other = supporting(preferences="Geen auto. Huisdieren: een hond.")  # another sentence: not negated
    (component,) = score(hook, requesting, other)
    assert (component.score, component.reason) == (1.0, 'Wishes met in the preferences: "huisdieren" ↔ "Huisdieren".')


def test_words_match_whole(hook):
    requesting = family(wishes="Een katholieke school in de buurt, en een tuinbank.")  # neither "kat" nor "tuin"
    assert score(hook, requesting, supporting(preferences="Wij hebben een kat en een tuin.")) == []


def test_support_kinds_and_terms_are_two_components_that_average(hook):
    requesting = family(support_kinds=frozenset({"day_part_care"}), wishes="rookvrij en een tuin")
    other = supporting(support_kinds=frozenset({"day_part_care"}), preferences="smoke-free home")
    components = score(hook, requesting, other)
    assert components == [
        ScoreComponent("matching.wishes", 1.0, 0.5, "Offers the support asked for: care for a day part."),
        ScoreComponent("matching.wishes", 0.5, 0.5,
                       'Wishes met in the preferences: "rookvrij" ↔ "smoke-free"; not mentioned: "tuin".')]
    # each carries half the weight: together they count as the mean of the two shares
    assert sum(c.score * c.weight for c in components) / sum(c.weight for c in components) == 0.75


def test_configured_terms_and_negations(hook):
    config = {"terms": [["muziek", "music"], ["sport"]], "negations": ["zonder"]}
    requesting = family(wishes="Muziek maken! Zonder sport.")
    other = supporting(preferences="Wij maken veel music, en wij houden van sport. Geen huisdieren.")
    (component,) = score(hook, requesting, other, **config)
    assert (component.score, component.reason) == (
        0.5, 'Wishes met in the preferences: "Muziek" ↔ "music"; in conflict: "Zonder sport" ↔ "sport".')


def test_not_judged_without_asked_kinds_or_terms(hook):
    assert score(hook, family(), supporting(support_kinds=frozenset({"day_part_care"}), preferences="rookvrij")) == []
    assert score(hook, family(wishes="Iemand die geduldig is."), supporting(preferences="rookvrij")) == []
    assert score(hook, family(preferences="rookvrij"), supporting(wishes="rookvrij")) == []


@pytest.mark.parametrize(("config", "field"), [
    ({"terms": [[]]}, "terms"),
    ({"terms": [["  "]]}, "terms"),
    ({"terms": "rookvrij"}, "terms"),
    ({"negations": [""]}, "negations"),
    ({"veto_on_conflict": "perhaps"}, "veto_on_conflict"),
    ({"weight": -2}, "weight"),
])
def test_invalid_configuration_names_the_field(hook, config, field):
    with pytest.raises(ValidationError) as raised:
        hook({"matching.wishes": config})
    assert field in raised.value.messages


def test_the_first_mention_of_a_group_is_its_earliest_term_the_first_listed_on_a_tie(hook):
    config = {"terms": [["pet", "pets", "hond"], ["tuin", "tuin en hond"]]}
    requesting = family(wishes="Een hond of pets? Graag een tuin en hond.")
    other = supporting(preferences="Geen pets, maar een tuin en hond.")
    (component,) = score(hook, requesting, other, **config)
    assert (component.score, component.reason) == (
        0.5, 'Wishes met in the preferences: "tuin" ↔ "tuin"; in conflict: "hond" ↔ "Geen pets".')


def test_each_text_is_read_once_by_a_plugin_and_judged_the_same_every_time(hook):
    plugin = build_manager({"matching.wishes": {}}).get_plugin("matching.wishes")
    requesting = family(support_kinds=frozenset({"day_part_care"}), wishes="Rookvrij, geen huisdieren.")
    others = [replace(supporting(support_kinds=frozenset({"day_part_care"} if n % 2 else ()),
                                 preferences=("Wij hebben een hond.", "Rookvrij huis, geen huisdieren.")[n % 2]), id=n)
              for n in range(2, 12)]
    first = [plugin.koppel_match_score(requesting=requesting, supporting=o, today=TODAY) for o in others]
    again = [plugin.koppel_match_score(requesting=requesting, supporting=o, today=TODAY) for o in others]
    fresh = [build_manager({"matching.wishes": {}}).get_plugin("matching.wishes").koppel_match_score(
        requesting=requesting, supporting=o, today=TODAY) for o in others]
    assert first == again == fresh
    assert plugin._mentions.cache_info().misses == 3  # the wishes and the two preferences
    assert [c.score for c in first[0]] == [0.0, 0.0] and [c.score for c in first[1]] == [1.0, 1.0]


@pytest.mark.parametrize(("given", "kept"), [
    (0.66666, 0.667), (0.9996, 1.0), (0.0004, 0.0), (1, 1.0), (0, 0.0), (1.5, 1.0), (-0.2, 0.0), (-0.0, 0.0),
    (float("inf"), 1.0), (float("-inf"), 0.0), (float("nan"), 0.0)])
def test_a_component_score_is_clamped_and_rounded(given, kept):
    made = component(Wishes({"weight": 2}), given, "reason", share=0.5)
    assert made == ScoreComponent("matching.wishes", kept, 1.0, "reason")
    assert str(made.score) == str(kept) and type(made.score) is float  # not -0.0, not nan
    assert replace(made, veto=True).veto and hash(made) == hash(ScoreComponent("matching.wishes", kept, 1.0, "reason"))
