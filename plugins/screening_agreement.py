"""Screening: the family signed the agreement (``agreement_signed_on``).

Applies to supporting families by default (the volunteer agreement);
``family_kinds`` can add requesting families.
"""
from marshmallow import Schema

from core.hookspecs import hookimpl
from core.policy.plugin import Plugin
from plugins._screening import dated_step, kinds_field


class AgreementCheck(Plugin):
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
        return dated_step(self, family, today, "agreement_signed_on", "signed agreement")
