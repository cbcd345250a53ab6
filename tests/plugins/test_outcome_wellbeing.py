import pytest
from marshmallow import ValidationError

from core.programme.vocabulary import WELLBEING_SCALES


def instruments(hook, **config):
    return hook({"outcome.wellbeing": config}).koppel_outcome_instrument()


def test_the_four_scales_from_0_to_5(hook):
    (instrument,) = instruments(hook)
    assert instrument.name == "outcome.wellbeing"
    assert instrument.title == {"nl": "Welzijnsschalen", "en": "Wellbeing scales"}
    assert tuple(q.key for q in instrument.questions) == WELLBEING_SCALES == (
        "parenting", "parent_wellbeing", "children_wellbeing", "family_management")
    for question in instrument.questions:
        assert (question.scale_min, question.scale_max) == (0, 5)
        assert set(question.text) == {"nl", "en"} and all(question.text.values())
        assert set(question.labels) == {"nl", "en"}
        assert all(len(labels) == 2 and all(labels) for labels in question.labels.values())


def test_question_text_and_labels(hook):
    (instrument,) = instruments(hook)
    parenting = instrument.questions[0]
    assert parenting.text == {
        "nl": "Hoe gaat het opvoeden? Denk aan omgaan met de kinderen, grenzen stellen en structuur bieden.",
        "en": "How is the parenting going? Think of dealing with the children, setting limits and giving structure."}
    assert parenting.labels == {"nl": ["Grote zorgen", "Gaat goed"], "en": ["Serious concerns", "Going well"]}
    assert instrument.questions[3].labels == {"nl": ["Loopt vast", "Loopt goed"], "en": ["Stuck", "Running well"]}


def test_a_choice_of_scales_keeps_the_standard_order(hook):
    (instrument,) = instruments(hook, scales=["family_management", "parenting"])
    assert [q.key for q in instrument.questions] == ["parenting", "family_management"]


@pytest.mark.parametrize("scales", [[], ["happiness"], ["parenting", "parenting"], "parenting"])
def test_invalid_configuration_names_the_field(hook, scales):
    with pytest.raises(ValidationError) as raised:
        hook({"outcome.wellbeing": {"scales": scales}})
    assert "scales" in raised.value.messages
