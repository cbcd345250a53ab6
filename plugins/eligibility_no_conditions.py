"""Eligibility without conditions: every requesting family may take part (Buurtgezinnen's practice)."""
from core.hookspecs import hookimpl
from core.policy.plugin import Plugin
from core.policy.types import Finding


class NoConditions(Plugin):
    name = "eligibility.no_conditions"
    kind = "eligibility"
    version = "1.0.0"
    title = {"nl": "Geen voorwaarden", "en": "No conditions"}
    description = {
        "nl": "Elk vraaggezin kan meedoen; er gelden geen toelatingsvoorwaarden (zoals bij Buurtgezinnen).",
        "en": "Every requesting family may take part; there are no conditions (as Buurtgezinnen works).",
    }

    @hookimpl
    def koppel_eligibility(self, family, today):
        return Finding(rule=self.name, result="met", effect="include", facts={},
                       explanation="This programme sets no conditions for requesting families.")
