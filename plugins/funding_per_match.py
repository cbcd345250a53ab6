"""Funding per match: a fee for every new match plus a fee for every active match month, as delivered.

The cost of a period is ``fee_per_match × activity.matches_started`` (matches
whose trial began in the period) plus ``fee_per_active_month ×
activity.active_match_months`` (months, possibly fractional, that matches ran
in the period), each line rounded half-up to cents. Both count only what was
delivered up to the statement's date (``activity.counted_until``: the
statement's date, at most the period's end), which each line names: months
not yet delivered are never billed. Co-financing by funds, the consortium
split and the avoided costs are shared with every funding model (see
:mod:`plugins._funding`).
"""
from decimal import Decimal

from core.plugin_toolkit import CostLine
from plugins._funding import FundingConfig, FundingModel, cents, count, money_field


class PerMatchFunding(FundingModel):
    name = "funding.per_match"
    version = "1.1.0"
    title = {"nl": "Vergoeding per koppeling", "en": "Fee per match"}
    description = {
        "nl": "Een vast bedrag per nieuwe koppeling en een bedrag per maand dat een koppeling actief is, tot en met "
              "de datum van het overzicht; met cofinanciering door fondsen, verdeling over de regiogemeenten en een "
              "schatting van de vermeden kosten.",
        "en": "A fee for every new match and a fee for every month a match is active, up to the statement's date; "
              "with co-financing by funds, a split across the consortium's municipalities and an estimate of the "
              "avoided costs.",
    }

    class Config(FundingConfig):
        fee_per_match = money_field(Decimal("0.00"), metadata={"description": "fee for each match started, in euros"})
        fee_per_active_month = money_field(Decimal("0.00"),
                                           metadata={"description": "fee for each active match month, in euros"})

    def cost_lines(self, activity):
        matches, months = activity.matches_started, Decimal(activity.active_match_months)
        if matches < 0 or months < 0:
            raise ValueError("matches started and active match months cannot be negative")
        fee_match, fee_month, until = self.config["fee_per_match"], self.config["fee_per_active_month"], \
            activity.counted_until
        return [
            CostLine(self.message("New matches up to %(date)s: %(count)s × %(fee)s", date=until, count=count(matches),
                                  fee=fee_match),
                     cents(fee_match * matches)),
            CostLine(self.message("Active match months up to %(date)s: %(count)s × %(fee)s", date=until,
                                  count=count(months), fee=fee_month),
                     cents(fee_month * months)),
        ]
