"""Eligibility exclusions: needs too heavy for volunteers, or professional care already in place.

An "exclude" rule: met (the family is ruled out) when triage referred the
family on as too heavy (``triage_outcome`` is ``too_heavy_referred``) or the
family is in professional care; each check can be switched off. Without a
triage outcome the too-heavy check is "missing". With both checks off the
rule returns nothing.
"""
from marshmallow import Schema, fields

from core.plugin_toolkit import Label, hookimpl
from plugins._common import BuiltinPlugin
from plugins._eligibility import finding

TOO_HEAVY = "too_heavy_referred"


class ExclusionRule(BuiltinPlugin):
    name = "eligibility.exclusions"
    kind = "eligibility"
    version = "1.0.0"
    title = {"nl": "Uitsluitingen", "en": "Exclusions"}
    description = {
        "nl": "Een gezin doet niet mee als de triage de problematiek te zwaar vond en het gezin heeft "
              "doorverwezen, of als het gezin al professionele hulp krijgt. Beide zijn apart aan of uit te zetten.",
        "en": "A family cannot take part when triage found its needs too heavy and referred it on, or when it "
              "already receives professional care. Each can be switched on or off.",
    }

    class Config(Schema):
        exclude_too_heavy_referred = fields.Boolean(load_default=True)
        exclude_in_professional_care = fields.Boolean(load_default=True)

    @hookimpl
    def koppel_eligibility(self, family, today):
        heavy, care = self.config["exclude_too_heavy_referred"], self.config["exclude_in_professional_care"]
        if not (heavy or care):
            return None
        facts = {}
        if heavy:
            facts["triage_outcome"] = family.triage_outcome
        if care:
            facts["in_professional_care"] = family.in_professional_care
        too_heavy = heavy and family.triage_outcome == TOO_HEAVY
        in_care = care and family.in_professional_care
        if too_heavy and in_care:
            return self._finding("met", self.message(
                "Excluded: triage found the needs too heavy and referred the family on, and the family is in "
                "professional care."), facts)
        if too_heavy:
            return self._finding("met", self.message(
                "Excluded: triage found the needs too heavy and referred the family on."), facts)
        if in_care:
            return self._finding("met", self.message("Excluded: the family is in professional care."), facts)
        if heavy and family.triage_outcome is None:
            return self._finding("missing", self.message(
                "No triage outcome is recorded, so a referral as too heavy cannot be ruled out."), facts)
        outcome = Label("triage_outcome", family.triage_outcome) if heavy else None
        if heavy and care:
            return self._finding("not_met", self.message(
                "Not excluded: the family is not in professional care (triage outcome: %(outcome)s).",
                outcome=outcome), facts)
        if heavy:
            return self._finding("not_met", self.message("Not excluded (triage outcome: %(outcome)s).",
                                                         outcome=outcome), facts)
        return self._finding("not_met", self.message("Not excluded: the family is not in professional care."),
                             facts)

    def _finding(self, result, explanation, facts):
        return finding(self, result, explanation, facts, effect="exclude")
