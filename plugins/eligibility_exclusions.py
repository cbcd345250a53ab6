"""Eligibility exclusions: needs too heavy for volunteers, or professional care already in place.

An "exclude" rule: met (the family is ruled out) when triage referred the
family on as too heavy (``triage_outcome`` is ``too_heavy_referred``) or the
family is in professional care; each check can be switched off. Without a
triage outcome the too-heavy check is "missing". With both checks off the
rule returns nothing.
"""
from marshmallow import Schema, fields

from core.hookspecs import hookimpl
from core.policy.plugin import Plugin
from plugins._eligibility import finding

TOO_HEAVY = "too_heavy_referred"


class ExclusionRule(Plugin):
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
        facts, reasons, clear = {}, [], []
        if heavy:
            facts["triage_outcome"] = family.triage_outcome
            if family.triage_outcome == TOO_HEAVY:
                reasons.append("triage found the needs too heavy and referred the family on")
            elif family.triage_outcome is not None:
                clear.append(f"the triage outcome is {family.triage_outcome}")
        if care:
            facts["in_professional_care"] = family.in_professional_care
            if family.in_professional_care:
                reasons.append("the family is in professional care")
            else:
                clear.append("the family is not in professional care")
        if reasons:
            return self._finding("met", "Excluded: " + " and ".join(reasons) + ".", facts)
        if heavy and family.triage_outcome is None:
            return self._finding("missing", "No triage outcome is recorded, so a referral as too heavy "
                                 "cannot be ruled out.", facts)
        return self._finding("not_met", "Not excluded: " + " and ".join(clear) + ".", facts)

    def _finding(self, result, explanation, facts):
        return finding(self, result, explanation, facts, effect="exclude")
