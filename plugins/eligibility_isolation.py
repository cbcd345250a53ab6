"""Eligibility: a family living in social isolation (problem area ``isolation``).

Has no settings: the rule is met exactly when the problem area is recorded.
"""
from marshmallow import Schema

from core.plugin_toolkit import hookimpl
from plugins._common import BuiltinPlugin
from plugins._eligibility import problem_area_finding


class IsolationRule(BuiltinPlugin):
    name = "eligibility.isolation"
    kind = "eligibility"
    version = "1.0.0"
    title = {"nl": "Sociaal isolement", "en": "Social isolation"}
    description = {
        "nl": "Een gezin kan meedoen als het in een sociaal isolement leeft (een klein of geen netwerk).",
        "en": "A family may take part when it lives in social isolation (a small network or none).",
    }

    class Config(Schema):
        """No settings; unknown settings are refused."""

    @hookimpl
    def koppel_eligibility(self, family, today):
        return problem_area_finding(self, family, ["isolation"])
