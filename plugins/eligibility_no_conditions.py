"""Eligibility without conditions: every requesting family may take part (Buurtgezinnen's practice)."""
from core.plugin_toolkit import Finding, hookimpl
from plugins._common import BuiltinPlugin


class NoConditions(BuiltinPlugin):
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
                       explanation=self.message("This programme sets no conditions for requesting families."))
