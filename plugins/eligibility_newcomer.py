"""Eligibility: a newcomer family that arrived in the Netherlands recently.

Met when ``arrival_year`` is at most ``max_years`` calendar years before the
year of the decision (with 5: an arrival in 2021 or later counts in 2026). Without an
arrival year the rule is "missing" when the problem area ``newcomer`` is
recorded and not met otherwise.
"""
from marshmallow import Schema, fields, validate

from core.plugin_toolkit import Label, hookimpl
from plugins._common import BuiltinPlugin
from plugins._eligibility import finding


class NewcomerRule(BuiltinPlugin):
    name = "eligibility.newcomer"
    kind = "eligibility"
    version = "1.0.0"
    title = {"nl": "Nieuwkomer", "en": "Newcomer"}
    description = {
        "nl": "Een gezin kan meedoen als het in de afgelopen jaren (standaard 5) in Nederland is aangekomen.",
        "en": "A family may take part when it arrived in the Netherlands in the last few years (5 by default).",
    }

    class Config(Schema):
        max_years = fields.Integer(load_default=5, validate=validate.Range(min=1, max=50))

    @hookimpl
    def koppel_eligibility(self, family, today):
        max_years, year = self.config["max_years"], family.arrival_year
        area = "newcomer" in family.problem_areas
        facts = {"arrival_year": year, "max_years": max_years, "year": today.year, "problem_area_recorded": area}
        newcomer = Label("problem_area", "newcomer")
        if year is None:
            if area:
                return finding(self, "missing", self.message(
                    "Recorded problem area: %(area)s, but no year of arrival.", area=newcomer), facts)
            return finding(self, "not_met", self.message(
                "Neither a year of arrival nor the problem area '%(area)s' is recorded.", area=newcomer), facts)
        # years are written as they are (2021), not as numbers (2,021)
        if year > today.year:
            return finding(self, "missing", self.message(
                "The year of arrival, %(year)s, lies in the future; please correct it.", year=str(year)), facts)
        since = str(today.year - max_years)
        if today.year - year <= max_years:
            return finding(self, "met", self.message(
                "Arrived in %(year)s; arrivals in %(since)s or later count.", year=str(year), since=since), facts)
        return finding(self, "not_met", self.message(
            "Arrived in %(year)s; only arrivals in %(since)s or later count.", year=str(year), since=since), facts)
