"""Screening: a supporting family attended the training (``training_attended_on``).

Optionally the training must be at most ``max_age_months`` old ("fail" when
older); by default any recorded training counts.
"""
from marshmallow import Schema, fields, validate

from core.plugin_toolkit import N_, SUPPORTING, hookimpl
from plugins._common import BuiltinPlugin
from plugins._screening import StepTexts, dated_step

TEXTS = StepTexts(
    missing=N_("No training is recorded."),
    future=N_("The training is recorded on %(date)s, which is after today."),
    done=N_("The training was attended on %(date)s."),
    too_old_years=(N_("The training on %(date)s is more than %(n)s year ago."),
                   N_("The training on %(date)s is more than %(n)s years ago.")),
    too_old_months=(N_("The training on %(date)s is more than %(n)s month ago."),
                    N_("The training on %(date)s is more than %(n)s months ago.")),
)


class TrainingCheck(BuiltinPlugin):
    name = "screening.training"
    kind = "screening"
    version = "1.0.0"
    title = {"nl": "Training gevolgd", "en": "Training attended"}
    description = {
        "nl": "Het steungezin heeft de training gevolgd, desgewenst niet langer dan een ingesteld aantal "
              "maanden geleden.",
        "en": "The supporting family attended the training, optionally no longer ago than a configured number "
              "of months.",
    }

    class Config(Schema):
        max_age_months = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=240))

    @hookimpl
    def koppel_screening(self, family, today):
        if family.kind != SUPPORTING:
            return None
        return dated_step(self, family, today, "training_attended_on", TEXTS, self.config["max_age_months"])
