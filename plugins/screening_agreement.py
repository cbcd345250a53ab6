"""Screening: the family signed the agreement (``agreement_signed_on``).

Applies to supporting families by default (the volunteer agreement);
``family_kinds`` can add requesting families.
"""
from marshmallow import Schema

from core.plugin_toolkit import N_, hookimpl
from plugins._common import BuiltinPlugin
from plugins._screening import StepTexts, dated_step, kinds_field

TEXTS = StepTexts(
    missing=N_("No signed agreement is recorded."),
    future=N_("The agreement is recorded as signed on %(date)s, which is after today."),
    done=N_("The agreement was signed on %(date)s."),
)


class AgreementCheck(BuiltinPlugin):
    name = "screening.agreement"
    kind = "screening"
    version = "1.0.0"
    title = {"nl": "Overeenkomst getekend", "en": "Agreement signed"}
    description = {
        "nl": "Het gezin heeft de (vrijwilligers)overeenkomst getekend (standaard bij steungezinnen).",
        "en": "The family signed the (volunteer) agreement (supporting families by default).",
    }

    class Config(Schema):
        family_kinds = kinds_field()

    @hookimpl
    def koppel_screening(self, family, today):
        if family.kind not in self.config["family_kinds"]:
            return None
        return dated_step(self, family, today, "agreement_signed_on", TEXTS)
