"""Satisfaction questions: how content both families are with the match, and optional extras.

Every evaluation asks the requesting and the supporting family how satisfied
they are with the match, on a scale from 1 (very dissatisfied) to 5 (very
satisfied); the keys ``satisfaction_requesting`` and
``satisfaction_supporting`` are the evaluation's columns of the same names.
``extra_questions`` adds any of the optional questions below (none by
default), in the order :data:`EXTRA_QUESTIONS` lists them:

* ``recommend_requesting``: would the requesting family recommend a
  supporting family to a family in the same situation;
* ``recommend_supporting``: would the supporting family recommend others to
  become one;
* ``support_again``: would the supporting family support another family;
* ``coordinator_support``: how satisfied the families are with the
  coordinator's support.

``labels`` gives the words for the two ends of a scale: ``[label for the
minimum, label for the maximum]`` in Dutch and English.
"""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from core.plugin_toolkit import N_, Instrument, Question, hookimpl
from plugins._common import BuiltinPlugin

_SATISFIED = {"nl": ["Zeer ontevreden", "Zeer tevreden"], "en": ["Very dissatisfied", "Very satisfied"]}
_CERTAINLY = {"nl": ["Zeker niet", "Zeker wel"], "en": ["Certainly not", "Certainly"]}

QUESTIONS = (
    Question(key="satisfaction_requesting",
             text={"nl": "Vraaggezin: hoe tevreden bent u over de koppeling met het steungezin?",
                   "en": "Requesting family: how satisfied are you with the match with the supporting family?"},
             scale_min=1, scale_max=5, labels=_SATISFIED),
    Question(key="satisfaction_supporting",
             text={"nl": "Steungezin: hoe tevreden bent u over de koppeling met het vraaggezin?",
                   "en": "Supporting family: how satisfied are you with the match with the requesting family?"},
             scale_min=1, scale_max=5, labels=_SATISFIED),
)

EXTRA_QUESTIONS = {
    "recommend_requesting": Question(
        key="recommend_requesting",
        text={"nl": "Vraaggezin: zou u een steungezin aanraden aan een gezin in een situatie als de uwe?",
              "en": "Requesting family: would you recommend a supporting family to a family in a situation "
                    "like yours?"},
        scale_min=1, scale_max=5, labels=_CERTAINLY),
    "recommend_supporting": Question(
        key="recommend_supporting",
        text={"nl": "Steungezin: zou u anderen aanraden ook steungezin te worden?",
              "en": "Supporting family: would you recommend others to become a supporting family too?"},
        scale_min=1, scale_max=5, labels=_CERTAINLY),
    "support_again": Question(
        key="support_again",
        text={"nl": "Steungezin: wilt u na deze koppeling opnieuw een gezin steunen?",
              "en": "Supporting family: would you support another family after this match?"},
        scale_min=1, scale_max=5, labels=_CERTAINLY),
    "coordinator_support": Question(
        key="coordinator_support",
        text={"nl": "Hoe tevreden bent u over de begeleiding door de coördinator?",
              "en": "How satisfied are you with the coordinator's support?"},
        scale_min=1, scale_max=5, labels=_SATISFIED),
}


class SatisfactionQuestions(BuiltinPlugin):
    name = "outcome.satisfaction"
    kind = "outcome_instrument"
    version = "1.0.0"
    title = {"nl": "Tevredenheid", "en": "Satisfaction"}
    description = {
        "nl": "De tevredenheid van het vraaggezin en van het steungezin over de koppeling (1 tot 5), en naar keuze "
              "extra vragen, zoals of men het steungezin zou aanraden.",
        "en": "How satisfied the requesting and the supporting family are with the match (1 to 5), and optionally "
              "extra questions, such as whether they would recommend it.",
    }

    class Config(Schema):
        extra_questions = fields.List(fields.String(validate=validate.OneOf(tuple(EXTRA_QUESTIONS))),
                                      load_default=list)

        @validates("extra_questions")
        def _no_repeats(self, value, **kwargs):
            if len(set(value)) != len(value):
                raise ValidationError(N_("names a question more than once"))

    @hookimpl
    def koppel_outcome_instrument(self):
        chosen = set(self.config["extra_questions"])
        extras = tuple(q for key, q in EXTRA_QUESTIONS.items() if key in chosen)
        return Instrument(name=self.name, title=dict(self.title), questions=QUESTIONS + extras)
