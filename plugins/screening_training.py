"""Screening: a supporting family attended the training (``training_attended_on``).

Optionally the training must be at most ``max_age_months`` old ("fail" when
older); by default any recorded training counts.
"""
from marshmallow import Schema, fields, validate

from core.hookspecs import hookimpl
from core.policy.plugin import Plugin
from core.programme.vocabulary import SUPPORTING
from plugins._screening import dated_step


class TrainingCheck(Plugin):
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
        return dated_step(self, family, today, "training_attended_on", "training", self.config["max_age_months"])
