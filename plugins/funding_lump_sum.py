"""Funding by a yearly lump sum: a subsidy per year, charged pro rata for the days of the period it covers.

The subsidy runs from ``starts_on`` to ``ends_on`` (both included; no end
date: it runs on); nothing is charged for a day outside them. Without
``starts_on`` (policies stored before it existed) the subsidy counts from
``activity.programme_started_on``, the day the municipality's programme
began in Koppel (the earliest of its start in Koppel and its first
registered family), and from the period's start when that is unknown.

The amount for the days covered is ``amount_per_year × days covered in a
year / days in that year`` (365 or 366), rounded half-up to cents, with one
cost line per calendar year that says which days it covers. The period is a
closed range of dates, both ends included, so 1 January to 31 December is
exactly one year's amount. A period the subsidy does not cover has one line
of € 0.00 that says why. The lump sum is charged for the whole period, also
for days after the statement's date: it is a subsidy, not a fee for what was
delivered. Co-financing by funds, the consortium split and the avoided costs
are shared with every funding model (see :mod:`plugins._funding`).
"""
from datetime import date
from decimal import Decimal

from marshmallow import ValidationError, fields, validate, validates_schema

from core.plugin_toolkit import N_, CostLine
from plugins._funding import ZERO, FundingConfig, FundingModel, calendar_years, cents, money_field

DATES = validate.Range(min=date(2000, 1, 1), max=date(2100, 12, 31))


class LumpSumFunding(FundingModel):
    name = "funding.lump_sum"
    version = "1.1.0"
    title = {"nl": "Subsidie per jaar (lumpsum)", "en": "Yearly lump sum"}
    description = {
        "nl": "Een vast subsidiebedrag per jaar, naar rato van de dagen van de periode binnen de looptijd van de "
              "subsidie; met cofinanciering door fondsen, verdeling over de regiogemeenten en een schatting van de "
              "vermeden kosten.",
        "en": "A fixed subsidy per year, pro rata for the days of the period within the subsidy's dates; with "
              "co-financing by funds, a split across the consortium's municipalities and an estimate of the avoided "
              "costs.",
    }

    class Config(FundingConfig):
        amount_per_year = money_field(Decimal("0.00"), metadata={"description": "the subsidy for a whole year, in euros"})
        starts_on = fields.Date(load_default=None, allow_none=True, validate=DATES,
                                metadata={"description": "the subsidy's first day (ISO date); none: from the start "
                                                         "of the programme in Koppel"})
        ends_on = fields.Date(load_default=None, allow_none=True, validate=DATES,
                              metadata={"description": "the subsidy's last day (ISO date); none: it runs on"})

        @validates_schema
        def ends_after_it_starts(self, data, **kwargs):
            if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
                raise ValidationError(N_("the subsidy cannot end before it starts"), field_name="ends_on")

    def cost_lines(self, activity):
        amount, ends = self.config["amount_per_year"], self.config["ends_on"]
        starts = self.config["starts_on"] or activity.programme_started_on or activity.period_start
        first, last = max(activity.period_start, starts), min(activity.period_end, ends or activity.period_end)
        if last < first:
            if ends:
                why = self.message("No subsidy in this period: the subsidy runs from %(starts)s to %(ends)s.",
                                   starts=starts, ends=ends)
            else:
                why = self.message("No subsidy in this period: the subsidy runs from %(starts)s.", starts=starts)
            return [CostLine(why, ZERO)]
        return [
            # the year as it is written (2026), not as a number (2.026)
            CostLine(self.message("Subsidy %(year)s: %(first)s to %(last)s, %(amount)s a year × "
                                  "%(days)s/%(year_days)s days", year=str(year), first=year_first, last=year_last,
                                  amount=amount, days=(year_last - year_first).days + 1, year_days=year_days),
                     cents(amount * ((year_last - year_first).days + 1) / year_days))
            for year, year_first, year_last, year_days in calendar_years(first, last)
        ]
