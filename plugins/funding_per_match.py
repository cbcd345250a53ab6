"""Funding per match: a fee for every new match plus a fee for every active match month.

The cost of a period is ``fee_per_match × activity.matches_started`` (matches
that started in the period) plus ``fee_per_active_month ×
activity.active_match_months`` (months, possibly fractional, that matches were
active in the period), each line rounded half-up to cents. Co-financing by
funds, the consortium split and the avoided costs are shared with every
funding model (see :mod:`plugins._funding`).
"""
from decimal import Decimal

from core.policy.types import CostLine
from plugins._funding import FundingConfig, FundingModel, cents, count, euro, money_field

TEXT = {
    "nl": {"matches": "Nieuwe koppelingen: {count} × {fee}", "months": "Actieve koppelmaanden: {count} × {fee}"},
    "en": {"matches": "New matches: {count} × {fee}", "months": "Active match months: {count} × {fee}"},
}


class PerMatchFunding(FundingModel):
    name = "funding.per_match"
    version = "1.0.0"
    title = {"nl": "Vergoeding per koppeling", "en": "Fee per match"}
    description = {
        "nl": "Een vast bedrag per nieuwe koppeling en een bedrag per maand dat een koppeling actief is; met "
              "cofinanciering door fondsen, verdeling over de regiogemeenten en een schatting van de vermeden kosten.",
        "en": "A fee for every new match and a fee for every month a match is active; with co-financing by funds, "
              "a split across the consortium's municipalities and an estimate of the avoided costs.",
    }

    class Config(FundingConfig):
        fee_per_match = money_field(Decimal("0.00"), metadata={"description": "fee for each match started, in euros"})
        fee_per_active_month = money_field(Decimal("0.00"),
                                           metadata={"description": "fee for each active match month, in euros"})

    def cost_lines(self, activity):
        language, text = self.config["language"], TEXT[self.config["language"]]
        matches, months = activity.matches_started, Decimal(activity.active_match_months)
        if matches < 0 or months < 0:
            raise ValueError("matches started and active match months cannot be negative")
        fee_match, fee_month = self.config["fee_per_match"], self.config["fee_per_active_month"]
        return [
            CostLine(text["matches"].format(count=count(matches, language), fee=euro(fee_match, language)),
                     cents(fee_match * matches)),
            CostLine(text["months"].format(count=count(months, language), fee=euro(fee_month, language)),
                     cents(fee_month * months)),
        ]
