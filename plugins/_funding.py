"""What every funding model shares: money, co-financing by funds, the consortium split and avoided costs.

A funding plugin derives from :class:`FundingModel`, extends :class:`FundingConfig`
with its own fields, and says what the programme costs in
:meth:`FundingModel.cost_lines`. Everything after that is the same for every model:

* **Money** is :class:`decimal.Decimal`, each amount rounded half-up to cents.
  The statement's total is the sum of its (rounded) cost lines.
* **Co-financing** (``funds``): a list of ``{"name", "percentage"}`` or
  ``{"name", "amount"}``. Funds are applied in the order listed; a percentage
  is of the total, a fixed amount is what the fund grants, and each fund's part
  is capped at what is still left, so the funds together never pay more than
  the total. The municipality pays the rest (``municipality_pays``).
* **Consortium split** (``split``): ``"none"`` (no split, an empty
  ``consortium_split``), ``"inhabitants"`` or ``"matches"``: the statement's
  total divided over ``activity.consortium_members`` in proportion to their
  inhabitants or to the matches each started in the period. The parts are in
  cents and add up to the total exactly (largest remainder: every member gets
  its share rounded down, and the cents left go to the largest remainders,
  ties in the members' order). When every weight is zero (no matches started
  anywhere) the members share equally. Without members the municipality
  itself carries the whole total.
* **Avoided costs**: matches that ended in the period with one of
  ``avoided_outcomes`` (by default ``no_further_care`` and ``lighter_support``)
  count as prevented cases. Of those, ``placement_share`` (by default 10 %, an
  assumption, not a measured rate) counts as a prevented out-of-home
  placement and the rest as prevented referred youth care, so no case counts
  twice; each at one year of the configured average yearly cost (by default
  € 80,000 for a placement and € 10,000 for referred care). The estimate
  stands beside the statement's costs and is never subtracted from them.
  Both costs are **indicative figures that a municipality should replace with
  its own**; each keeps its ``source`` text in the configuration and on the
  statement line, so whoever reads the estimate sees where it comes from.
* **Words**: the description of every line (and the default source texts) is
  a message, shown in the reader's language with amounts in euros and counts
  written by Babel (``Voorkomen uithuisplaatsingen: 0,3 × € 80.000,00 per
  jaar``). A source text the municipality wrote itself is shown as it is.
  ``language`` is no longer used: it is kept so that stored policies that
  name it stay valid.
"""
from __future__ import annotations

from calendar import isleap
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.plugin_toolkit import (
    LANGUAGES,
    OUTCOMES,
    CostLine,
    FundingActivity,
    FundingStatement,
    Message,
    hookimpl,
)
from plugins._common import BuiltinPlugin

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
SPLITS = ("none", "inhabitants", "matches")
PLACEMENT_COST_PER_YEAR = Decimal("80000.00")
PLACEMENT_COST_SOURCE = (
    "Indicatief en instelbaar: ca. € 80.000 per jaar voor een uithuisplaatsing. Uitgangspunt naar "
    "aanleiding van InHuis Steungezinnen / evaluatie Achterhoek (Yunio), waarin het voorkomen van "
    "residentiële plaatsingen het hoofddoel is; het bedrag zelf is een ruwe schatting, geen vastgesteld "
    "tarief. Vervang het door de eigen kostprijs van de gemeente.")
CARE_COST_PER_YEAR = Decimal("10000.00")
CARE_COST_SOURCE = (
    "Indicatief en instelbaar: ca. € 10.000 per jaar voor geïndiceerde jeugdhulp, een ruw Nederlands "
    "gemiddelde; geen vastgesteld tarief. Vervang het door de eigen kostprijs van de gemeente.")



# --- money -----------------------------------------------------------------------------------------

def cents(value) -> Decimal:
    """*value* as a Decimal rounded half-up to cents."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def count(value) -> int | float:
    """A count as a message parameter: a whole number as an int, else a float (written by Babel, ``12,5``).

    (A Decimal parameter is an amount in euros; a count is not.)
    """
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


# --- periods ---------------------------------------------------------------------------------------

def check_period(activity: FundingActivity) -> None:
    if activity.period_end < activity.period_start:
        raise ValueError(f"the period ends ({activity.period_end}) before it starts ({activity.period_start})")


def days_per_year(start: date, end: date) -> list[tuple[int, int, int]]:
    """``(year, days of the period in that year, days in that year)`` for the closed range *start*..*end*."""
    parts = []
    for year in range(start.year, end.year + 1):
        first, last = max(start, date(year, 1, 1)), min(end, date(year, 12, 31))
        parts.append((year, (last - first).days + 1, 366 if isleap(year) else 365))
    return parts


# --- configuration ---------------------------------------------------------------------------------

def money_field(default: Decimal, **kwargs) -> fields.Decimal:
    """A non-negative amount in euros with cents; dumped as a string so a policy stores it as JSON."""
    return fields.Decimal(places=2, rounding=ROUND_HALF_UP, as_string=True, load_default=default,
                          validate=validate.Range(min=0, max=Decimal("1000000000")), **kwargs)


class FundSchema(Schema):
    """One fund that co-finances the programme: a percentage of the total or a fixed amount."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    percentage = fields.Decimal(places=2, rounding=ROUND_HALF_UP, as_string=True, allow_none=True,
                                load_default=None, validate=validate.Range(min=0, max=100))
    amount = fields.Decimal(places=2, rounding=ROUND_HALF_UP, as_string=True, allow_none=True,
                            load_default=None, validate=validate.Range(min=0, max=Decimal("1000000000")))

    @validates_schema
    def one_of_percentage_or_amount(self, data, **kwargs):
        if (data.get("percentage") is None) == (data.get("amount") is None):
            raise ValidationError("give either a percentage or a fixed amount", field_name="percentage")


class FundingConfig(Schema):
    """The configuration every funding model shares (see the module's documentation)."""

    language = fields.String(load_default="nl", validate=validate.OneOf(LANGUAGES),
                             metadata={"description": "no longer used (the lines are shown in the reader's "
                                                      "language); kept so that stored policies stay valid"})
    funds = fields.List(fields.Nested(FundSchema), load_default=list,
                        metadata={"description": "funds that co-finance, applied in this order"})
    split = fields.String(load_default="none", validate=validate.OneOf(SPLITS),
                          metadata={"description": "how the total is split over the consortium's members"})
    avoided_costs = fields.Boolean(load_default=True, metadata={"description": "estimate the avoided costs"})
    avoided_outcomes = fields.List(
        fields.String(validate=validate.OneOf(OUTCOMES)), load_default=lambda: ["no_further_care", "lighter_support"],
        metadata={"description": "outcomes of ended matches that count as a prevented case"})
    placement_share = fields.Decimal(
        places=4, as_string=True, load_default=Decimal("0.1000"), validate=validate.Range(min=0, max=1),
        metadata={"description": "share of the prevented cases counted as a prevented out-of-home placement"})
    placement_cost_per_year = money_field(PLACEMENT_COST_PER_YEAR)
    placement_cost_source = fields.String(load_default=PLACEMENT_COST_SOURCE, validate=validate.Length(min=1, max=1000))
    care_cost_per_year = money_field(CARE_COST_PER_YEAR)
    care_cost_source = fields.String(load_default=CARE_COST_SOURCE, validate=validate.Length(min=1, max=1000))

    @validates_schema
    def funds_add_up(self, data, **kwargs):
        funds = data.get("funds") or []
        names = [fund["name"] for fund in funds]
        if len(set(names)) != len(names):
            raise ValidationError("each fund needs a name of its own", field_name="funds")
        if sum(fund["percentage"] or 0 for fund in funds) > 100:
            raise ValidationError("the funds' percentages add up to more than 100", field_name="funds")


# --- the shared calculation ------------------------------------------------------------------------

def co_finance(total: Decimal, funds: list[dict]) -> tuple[dict, Decimal]:
    """What each fund pays (in the order listed, capped at what is left) and what the municipality pays."""
    left, paid = total, {}
    for fund in funds:
        share = cents(total * fund["percentage"] / 100) if fund["percentage"] is not None else cents(fund["amount"])
        paid[fund["name"]] = min(share, left)
        left -= paid[fund["name"]]
    return paid, left


def split_exactly(total: Decimal, weights: list[tuple[str, int]]) -> dict:
    """*total* in cents over the named weights, the parts adding up to *total* exactly (largest remainder)."""
    if not weights:
        return {}
    if sum(weight for _, weight in weights) <= 0:
        weights = [(name, 1) for name, _ in weights]
    whole = sum(weight for _, weight in weights)
    total_cents = int(cents(total) * 100)
    parts = [divmod(total_cents * weight, whole) for _, weight in weights]
    shares = [quotient for quotient, _ in parts]
    left = total_cents - sum(shares)
    by_remainder = sorted(range(len(weights)), key=lambda i: -parts[i][1])  # stable: ties in the members' order
    for i in by_remainder[:left]:
        shares[i] += 1
    result: dict = {}
    for (name, _), share in zip(weights, shares):
        result[name] = result.get(name, ZERO) + (Decimal(share) / 100).quantize(CENT)
    return result


def consortium_split(total: Decimal, activity: FundingActivity, split: str) -> dict:
    if split == "none":
        return {}
    members = activity.consortium_members or (activity.municipality,)
    weight = (lambda m: max(m.inhabitants, 0)) if split == "inhabitants" else (lambda m: max(m.matches_started, 0))
    return split_exactly(total, [(member.name, weight(member)) for member in members])


def source(plugin, configured: str) -> Message | str:
    """The source of an avoided cost: the built-in default as a message (in the reader's language), or the
    municipality's own text as it is."""
    if configured == PLACEMENT_COST_SOURCE:
        return plugin.message(
            "Indicative and adjustable: about %(amount)s a year for an out-of-home placement. A starting point "
            "following InHuis Steungezinnen / the Achterhoek evaluation (Yunio), in which preventing residential "
            "placements is the main aim; the amount itself is a rough estimate, not an established rate. Replace "
            "it with the municipality's own cost price.", amount=PLACEMENT_COST_PER_YEAR)
    if configured == CARE_COST_SOURCE:
        return plugin.message(
            "Indicative and adjustable: about %(amount)s a year for referred youth care, a rough Dutch average; "
            "not an established rate. Replace it with the municipality's own cost price.",
            amount=CARE_COST_PER_YEAR)
    return configured


def avoided_costs(plugin, activity: FundingActivity) -> tuple[CostLine, ...]:
    config = plugin.config
    if not config["avoided_costs"]:
        return ()
    prevented = sum(int(activity.outcomes.get(code, 0) or 0) for code in config["avoided_outcomes"])
    placements = Decimal(prevented) * config["placement_share"]
    care = Decimal(prevented) - placements
    return (
        CostLine(plugin.message("Prevented out-of-home placements: %(count)s × %(cost)s a year",
                                count=count(placements), cost=config["placement_cost_per_year"]),
                 cents(placements * config["placement_cost_per_year"]),
                 source=source(plugin, config["placement_cost_source"])),
        CostLine(plugin.message("Prevented referred youth care: %(count)s × %(cost)s a year",
                                count=count(care), cost=config["care_cost_per_year"]),
                 cents(care * config["care_cost_per_year"]), source=source(plugin, config["care_cost_source"])),
    )


class FundingModel(BuiltinPlugin):
    """Base class of a funding plugin: implement :meth:`cost_lines`, the rest is shared."""

    kind = "funding"

    class Config(FundingConfig):
        pass

    def cost_lines(self, activity: FundingActivity) -> list[CostLine]:
        """What the programme costs in the activity's period, one line per item (its description a message),
        amounts in cents."""
        raise NotImplementedError

    @hookimpl
    def koppel_funding_statement(self, activity):
        check_period(activity)
        lines = tuple(self.cost_lines(activity))
        total = sum((line.amount for line in lines), ZERO)
        funds_pay, municipality_pays = co_finance(total, self.config["funds"])
        avoided = avoided_costs(self, activity)
        return FundingStatement(
            model=self.name, period_start=activity.period_start, period_end=activity.period_end,
            lines=lines, total=total, municipality_pays=municipality_pays, funds_pay=funds_pay,
            consortium_split=consortium_split(total, activity, self.config["split"]),
            avoided_costs=avoided, avoided_total=sum((line.amount for line in avoided), ZERO))
