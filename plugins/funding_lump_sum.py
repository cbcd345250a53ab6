"""Funding by a yearly lump sum: a subsidy per year, charged pro rata for the period.

The amount for a period is ``amount_per_year × days of the period in a year /
days in that year`` (365 or 366), rounded half-up to cents, with one cost line
per calendar year the period touches. The period is a closed range of dates,
both ends included, so 1 January to 31 December is exactly one year's amount.
Co-financing by funds, the consortium split and the avoided costs are shared
with every funding model (see :mod:`plugins._funding`).
"""
from decimal import Decimal

from core.plugin_toolkit import CostLine
from plugins._funding import FundingConfig, FundingModel, cents, days_per_year, money_field


class LumpSumFunding(FundingModel):
    name = "funding.lump_sum"
    version = "1.0.0"
    title = {"nl": "Subsidie per jaar (lumpsum)", "en": "Yearly lump sum"}
    description = {
        "nl": "Een vast subsidiebedrag per jaar, naar rato van het aantal dagen van de periode; met "
              "cofinanciering door fondsen, verdeling over de regiogemeenten en een schatting van de vermeden kosten.",
        "en": "A fixed subsidy per year, pro rata for the days of the period; with co-financing by funds, a split "
              "across the consortium's municipalities and an estimate of the avoided costs.",
    }

    class Config(FundingConfig):
        amount_per_year = money_field(Decimal("0.00"), metadata={"description": "the subsidy for a whole year, in euros"})

    def cost_lines(self, activity):
        amount = self.config["amount_per_year"]
        return [
            # the year as it is written (2026), not as a number (2.026)
            CostLine(self.message("Subsidy %(year)s: %(amount)s a year × %(days)s/%(year_days)s days",
                                  year=str(year), amount=amount, days=days, year_days=year_days),
                     cents(amount * days / year_days))
            for year, days, year_days in days_per_year(activity.period_start, activity.period_end)
        ]
