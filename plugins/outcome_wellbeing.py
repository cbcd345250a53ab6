"""The wellbeing scales: four 0-5 scales after Home-Start's outcome instrument.

At each evaluation the coordinator and the parent score, together, how
things stand on four areas: parenting, the parent's own wellbeing, the
children's wellbeing and running the family. Each is a scale from 0 (serious
concerns) to 5 (going well); a rise between the start and the end of a match
is the outcome the programme reports. The question keys are those of
:data:`core.plugin_toolkit.WELLBEING_SCALES`, so the answers land in
the evaluation's columns of the same names.

``labels`` gives the words for the two ends of a scale: ``[label for 0,
label for 5]`` in Dutch and English. ``scales`` chooses which of the four
are asked (all four by default, in the standard order).
"""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from core.plugin_toolkit import N_, WELLBEING_SCALES, Instrument, Question, hookimpl
from plugins._common import BuiltinPlugin

QUESTIONS = {
    "parenting": Question(
        key="parenting",
        text={"nl": "Hoe gaat het opvoeden? Denk aan omgaan met de kinderen, grenzen stellen en structuur bieden.",
              "en": "How is the parenting going? Think of dealing with the children, setting limits and "
                    "giving structure."},
        scale_min=0, scale_max=5,
        labels={"nl": ["Grote zorgen", "Gaat goed"], "en": ["Serious concerns", "Going well"]},
    ),
    "parent_wellbeing": Question(
        key="parent_wellbeing",
        text={"nl": "Hoe gaat het met u als ouder? Denk aan rust, energie, stemming en mensen om op terug te vallen.",
              "en": "How are you doing as a parent? Think of rest, energy, mood and people to fall back on."},
        scale_min=0, scale_max=5,
        labels={"nl": ["Heel slecht", "Heel goed"], "en": ["Very poorly", "Very well"]},
    ),
    "children_wellbeing": Question(
        key="children_wellbeing",
        text={"nl": "Hoe gaat het met de kinderen? Denk aan hun ontwikkeling, gedrag, plezier en school.",
              "en": "How are the children doing? Think of their development, behaviour, enjoyment and school."},
        scale_min=0, scale_max=5,
        labels={"nl": ["Grote zorgen", "Gaat goed"], "en": ["Serious concerns", "Going well"]},
    ),
    "family_management": Question(
        key="family_management",
        text={"nl": "Hoe loopt het gezinsleven? Denk aan het dagritme, het huishouden, geldzaken en afspraken nakomen.",
              "en": "How is family life running? Think of the daily routine, the household, money matters and "
                    "keeping appointments."},
        scale_min=0, scale_max=5,
        labels={"nl": ["Loopt vast", "Loopt goed"], "en": ["Stuck", "Running well"]},
    ),
}


class WellbeingScales(BuiltinPlugin):
    name = "outcome.wellbeing"
    kind = "outcome_instrument"
    version = "1.0.0"
    title = {"nl": "Welzijnsschalen", "en": "Wellbeing scales"}
    description = {
        "nl": "Vier schalen van 0 tot 5, naar het uitkomstinstrument van Home-Start: opvoeden, welzijn van de "
              "ouder, welzijn van de kinderen en het gezinsleven.",
        "en": "Four scales from 0 to 5, after Home-Start's outcome instrument: parenting, the parent's "
              "wellbeing, the children's wellbeing and running the family.",
    }

    class Config(Schema):
        scales = fields.List(fields.String(validate=validate.OneOf(WELLBEING_SCALES)),
                             load_default=lambda: list(WELLBEING_SCALES), validate=validate.Length(min=1))

        @validates("scales")
        def _no_repeats(self, value, **kwargs):
            if len(set(value)) != len(value):
                raise ValidationError(N_("names a scale more than once"))

    @hookimpl
    def koppel_outcome_instrument(self):
        chosen = set(self.config["scales"])
        return Instrument(name=self.name, title=dict(self.title),
                          questions=tuple(QUESTIONS[key] for key in WELLBEING_SCALES if key in chosen))
