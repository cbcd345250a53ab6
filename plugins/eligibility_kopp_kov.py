"""Eligibility: children of a parent with a mental illness (KOPP) or an addiction (KOV).

Met when one of the configured problem areas (``kopp``, ``kov``, both by default)
is recorded for the family.
"""
from marshmallow import Schema

from core.plugin_toolkit import hookimpl
from plugins._common import BuiltinPlugin
from plugins._eligibility import areas_field, problem_area_finding


class KoppKovRule(BuiltinPlugin):
    name = "eligibility.kopp_kov"
    kind = "eligibility"
    version = "1.0.0"
    title = {"nl": "Ouder met psychische problemen of verslaving (KOPP/KOV)",
             "en": "Parent with a mental illness or an addiction (KOPP/KOV)"}
    description = {
        "nl": "Een gezin kan meedoen als er een ouder met psychische problemen (KOPP) of een verslaving (KOV) is. "
              "Instelbaar welke van de twee meetellen.",
        "en": "A family may take part when a parent has a mental illness (KOPP) or an addiction (KOV). "
              "Which of the two count is configurable.",
    }

    class Config(Schema):
        areas = areas_field(("kopp", "kov"))  # the problem areas that count

    @hookimpl
    def koppel_eligibility(self, family, today):
        return problem_area_finding(self, family, self.config["areas"])
