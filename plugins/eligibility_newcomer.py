"""Eligibility: a newcomer family that arrived in the Netherlands recently.

Met when ``arrival_year`` is at most ``max_years`` calendar years before the
year of the decision (with 5: an arrival in 2021 counts in 2026). Without an
arrival year the rule is "missing" when the problem area ``newcomer`` is
recorded and not met otherwise.
"""
from marshmallow import Schema, fields, validate

from core.hookspecs import hookimpl
from core.policy.plugin import Plugin
from plugins._eligibility import finding


class NewcomerRule(Plugin):
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
        if year is None:
            if area:
                return finding(self, "missing", "Problem area newcomer is recorded, but no arrival year.", facts)
            return finding(self, "not_met", "No arrival year is recorded and problem area newcomer is not.", facts)
        if year > today.year:
            return finding(self, "missing", f"The arrival year {year} is after this year; please correct it.", facts)
        ago = today.year - year
        if ago <= max_years:
            return finding(self, "met", f"Arrived in {year}, {ago} year(s) ago (at most {max_years}).", facts)
        return finding(self, "not_met", f"Arrived in {year}, more than {max_years} years ago.", facts)
