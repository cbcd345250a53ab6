import pytest
from marshmallow import ValidationError


def instruments(hook, **config):
    return hook({"outcome.satisfaction": config}).koppel_outcome_instrument()


def test_both_families_satisfaction_from_1_to_5(hook):
    (instrument,) = instruments(hook)
    assert instrument.name == "outcome.satisfaction"
    assert instrument.title == {"nl": "Tevredenheid", "en": "Satisfaction"}
    requesting, supporting = instrument.questions
    assert (requesting.key, requesting.scale_min, requesting.scale_max) == ("satisfaction_requesting", 1, 5)
    assert (supporting.key, supporting.scale_min, supporting.scale_max) == ("satisfaction_supporting", 1, 5)
    assert requesting.text == {
        "nl": "Vraaggezin: hoe tevreden bent u over de koppeling met het steungezin?",
        "en": "Requesting family: how satisfied are you with the match with the supporting family?"}
    assert supporting.text == {
        "nl": "Steungezin: hoe tevreden bent u over de koppeling met het vraaggezin?",
        "en": "Supporting family: how satisfied are you with the match with the requesting family?"}
    assert requesting.labels == supporting.labels == {
        "nl": ["Zeer ontevreden", "Zeer tevreden"], "en": ["Very dissatisfied", "Very satisfied"]}


def test_extra_questions_follow_in_a_fixed_order(hook):
    (instrument,) = instruments(hook, extra_questions=["coordinator_support", "recommend_requesting"])
    assert [q.key for q in instrument.questions] == [
        "satisfaction_requesting", "satisfaction_supporting", "recommend_requesting", "coordinator_support"]
    recommend = instrument.questions[2]
    assert (recommend.scale_min, recommend.scale_max) == (1, 5)
    assert recommend.text["en"] == ("Requesting family: would you recommend a supporting family to a family in a "
                                    "situation like yours?")
    assert recommend.labels == {"nl": ["Zeker niet", "Zeker wel"], "en": ["Certainly not", "Certainly"]}


def test_every_extra_question(hook):
    extras = ["recommend_requesting", "recommend_supporting", "support_again", "coordinator_support"]
    (instrument,) = instruments(hook, extra_questions=list(reversed(extras)))
    assert [q.key for q in instrument.questions][2:] == extras
    assert all(set(q.text) == {"nl", "en"} and all(q.text.values()) for q in instrument.questions)


def test_both_instruments_are_collected(hook):
    found = hook({"outcome.satisfaction": {}, "outcome.wellbeing": {}}).koppel_outcome_instrument()
    assert sorted(i.name for i in found) == ["outcome.satisfaction", "outcome.wellbeing"]


@pytest.mark.parametrize("extra", [["would_you_recommend"], ["support_again", "support_again"], "support_again"])
def test_invalid_configuration_names_the_field(hook, extra):
    with pytest.raises(ValidationError) as raised:
        hook({"outcome.satisfaction": {"extra_questions": extra}})
    assert "extra_questions" in raised.value.messages
