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
* **Avoided costs** (:class:`~core.policy.types.AvoidedCosts`), expected
  values, never a fraction of a placement on its own: the matches that ended
  in the period (up to the statement's date) with one of
  ``avoided_outcomes`` (by default ``no_further_care`` and
  ``lighter_support``) are the prevented cases. Of those, ``placement_share``
  (10 %; range ``placement_share_low`` 5 % to ``placement_share_high`` 20 %)
  would without a supporting family have led to an out-of-home placement,
  and the rest to referred youth care, each for ``horizon_years`` (1) at the
  yearly cost (``placement_cost_per_year`` € 80,000 and
  ``care_cost_per_year`` € 10,000)::

      expected = prevented × (share × placement cost + (1 − share) × care cost) × horizon

  and the low and high ends the same with the low and high share (the costs
  are the municipality's own figures and do not vary). The method is stated
  in one sentence, and every figure is an assumption with its ``*_source``:
  ``{title, publisher, year, url, kind}`` (``kind`` ``primary`` or
  ``secondary``, ``url`` http(s)). The built-in figures have **no** source:
  they are placeholders that the municipality should replace with its own,
  and are shown as the municipality's own assumption until it gives one. A
  text in a ``*_source`` (older policies) is the municipality's own
  description of the figure, shown as such and never as a source; the
  former built-in default texts mean no source. The estimate stands beside
  the statement's costs and is never subtracted from them.
* **Words**: the description of every line, the method and the assumptions
  are messages, shown in the reader's language with dates, amounts, counts
  and percentages written by Babel (``Subsidie 2026: 1 januari 2026 t/m 31
  december 2026, € 22.000,00 per jaar × 365/365 dagen``). ``language`` is no
  longer used: it is kept so that stored policies that name it stay valid.
"""
from __future__ import annotations

from calendar import isleap
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.plugin_toolkit import (
    LANGUAGES,
    N_,
    OUTCOMES,
    AssumptionSource,
    AvoidedCosts,
    CostAssumption,
    CostLine,
    FundingActivity,
    FundingStatement,
    Labels,
    hookimpl,
)
from plugins._common import BuiltinPlugin

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
SPLITS = ("none", "inhabitants", "matches")
SOURCE_KINDS = ("primary", "secondary")
PLACEMENT_COST_PER_YEAR = Decimal("80000.00")
CARE_COST_PER_YEAR = Decimal("10000.00")
#: The texts that earlier versions stored as the default ``placement_cost_source`` and ``care_cost_source``:
#: they named no source (and credited a figure to a study that does not state it), so they load as none.
FORMER_DEFAULT_SOURCES = frozenset({
    "Indicatief en instelbaar: ca. € 80.000 per jaar voor een uithuisplaatsing. Uitgangspunt naar "
    "aanleiding van InHuis Steungezinnen / evaluatie Achterhoek (Yunio), waarin het voorkomen van "
    "residentiële plaatsingen het hoofddoel is; het bedrag zelf is een ruwe schatting, geen vastgesteld "
    "tarief. Vervang het door de eigen kostprijs van de gemeente.",
    "Indicatief en instelbaar: ca. € 10.000 per jaar voor geïndiceerde jeugdhulp, een ruw Nederlands "
    "gemiddelde; geen vastgesteld tarief. Vervang het door de eigen kostprijs van de gemeente.",
})


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


def percent(share: Decimal) -> int | float:
    """A share (0.125) as the number of a percentage (12.5), for a message that writes ``%(share)s%%``."""
    return count(share * 100)


# --- periods ---------------------------------------------------------------------------------------

def check_period(activity: FundingActivity) -> None:
    if activity.period_end < activity.period_start:
        raise ValueError(f"the period ends ({activity.period_end}) before it starts ({activity.period_start})")


def calendar_years(start: date, end: date) -> list[tuple[int, date, date, int]]:
    """``(year, first day, last day, days in that year)`` of each calendar year in the closed range *start*..*end*."""
    return [(year, max(start, date(year, 1, 1)), min(end, date(year, 12, 31)), 366 if isleap(year) else 365)
            for year in range(start.year, end.year + 1)]


# --- configuration ---------------------------------------------------------------------------------

def money_field(default: Decimal, **kwargs) -> fields.Decimal:
    """A non-negative amount in euros with cents; dumped as a string so a policy stores it as JSON."""
    return fields.Decimal(places=2, rounding=ROUND_HALF_UP, as_string=True, load_default=default,
                          validate=validate.Range(min=0, max=Decimal("1000000000")), **kwargs)


def share_field(default: str, description: str) -> fields.Decimal:
    return fields.Decimal(places=4, as_string=True, load_default=Decimal(default),
                          validate=validate.Range(min=0, max=1), metadata={"description": description})


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
            raise ValidationError(N_("give either a percentage or a fixed amount"), field_name="percentage")


class SourceSchema(Schema):
    """The source of an assumption: a publication, primary or secondary."""

    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    publisher = fields.String(required=True, validate=validate.Length(min=1, max=200))
    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=1900, max=2100))
    url = fields.Url(schemes={"http", "https"}, allow_none=True, load_default=None, validate=validate.Length(max=2000))
    kind = fields.String(required=True, validate=validate.OneOf(SOURCE_KINDS),
                         metadata={"description": "primary (where the figure is established) or secondary "
                                                  "(a source that quotes it)"})


class SourceField(fields.Field):
    """An assumption's source: ``{title, publisher, year, url, kind}``, or null (the municipality's own assumption).

    A text (how older policies stored it) is the municipality's own description of the figure, kept as
    ``{"description": text}`` and dumped as the text again; the former built-in default texts load as null.
    """

    def __init__(self, **kwargs):
        super().__init__(allow_none=True, load_default=None, dump_default=None, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            text = value.strip()
            if text in FORMER_DEFAULT_SOURCES:
                return None
            if not 1 <= len(text) <= 1000:
                raise ValidationError(N_("give a description of 1 to 1000 characters, a source object, or null"))
            return {"description": text}
        if isinstance(value, dict):
            return SourceSchema().load(value)
        raise ValidationError(N_("give a source as an object with title, publisher, year, url and kind, or null"))

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if "description" in value:
            return value["description"]
        return SourceSchema().dump(value)


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
        metadata={"description": "outcomes of ended matches that count as care prevented"})
    placement_share = share_field("0.10", "expected share of the prevented cases that would have become an "
                                          "out-of-home placement (the rest: referred youth care)")
    placement_share_low = share_field("0.05", "the low end of that share")
    placement_share_high = share_field("0.20", "the high end of that share")
    placement_share_source = SourceField()
    placement_cost_per_year = money_field(PLACEMENT_COST_PER_YEAR,
                                          metadata={"description": "yearly cost of an out-of-home placement"})
    placement_cost_source = SourceField()
    care_cost_per_year = money_field(CARE_COST_PER_YEAR, metadata={"description": "yearly cost of referred youth care"})
    care_cost_source = SourceField()
    horizon_years = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=10),
                                   metadata={"description": "years of care a prevented case counts for"})
    horizon_source = SourceField()

    @validates_schema
    def funds_add_up(self, data, **kwargs):
        funds = data.get("funds") or []
        names = [fund["name"] for fund in funds]
        if len(set(names)) != len(names):
            raise ValidationError(N_("each fund needs a name of its own"), field_name="funds")
        if sum(fund["percentage"] or 0 for fund in funds) > 100:
            raise ValidationError(N_("the funds' percentages add up to more than 100"), field_name="funds")

    @validates_schema
    def share_within_its_range(self, data, **kwargs):
        low, share, high = (data.get(k) for k in ("placement_share_low", "placement_share", "placement_share_high"))
        if None in (low, share, high):
            return
        if low > share:
            raise ValidationError(N_("the low end may not exceed the expected share"), field_name="placement_share_low")
        if share > high:
            raise ValidationError(N_("the high end may not be below the expected share"),
                                  field_name="placement_share_high")


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


def assumption(name, value, configured: dict | None) -> CostAssumption:
    """An assumption with its configured source; a description the municipality wrote stays a note."""
    if configured is None:
        return CostAssumption(name, value)
    if "description" in configured:
        return CostAssumption(name, value, note=configured["description"])
    return CostAssumption(name, value, source=AssumptionSource(
        title=configured["title"], publisher=configured["publisher"], year=configured["year"],
        kind=configured["kind"], url=configured.get("url")))


def avoided_costs(plugin, activity: FundingActivity) -> AvoidedCosts | None:
    """The expected avoided costs with their range, method and assumptions (None when switched off)."""
    config = plugin.config
    outcomes = tuple(code for code in OUTCOMES if code in config["avoided_outcomes"])
    if not config["avoided_costs"] or not outcomes:
        return None
    prevented = sum(int(activity.outcomes.get(code, 0) or 0) for code in outcomes)
    placement, care, years = config["placement_cost_per_year"], config["care_cost_per_year"], config["horizon_years"]
    share, low, high = config["placement_share"], config["placement_share_low"], config["placement_share_high"]

    def expected(placement_share: Decimal) -> Decimal:
        return cents(prevented * (placement_share * placement + (1 - placement_share) * care) * years)

    shares = {"share": percent(share), "low": percent(low), "high": percent(high)}
    labels = Labels("outcome", outcomes, "or")
    if prevented == 0:
        method = plugin.message(
            "No match ended in this period with an outcome that counts as care prevented (%(outcomes)s), so no "
            "costs were avoided by the assumptions below.", outcomes=labels)
    elif years == 1:
        method = plugin.message(
            "Of the %(n)s match that ended in this period with an outcome that counts as care prevented "
            "(%(outcomes)s), we assume that without a supporting family %(share)s%% (range %(low)s–%(high)s%%) "
            "would have needed an out-of-home placement for a year, and the rest referred youth care for a year.",
            plural="Of the %(n)s matches that ended in this period with an outcome that counts as care prevented "
                   "(%(outcomes)s), we assume that without a supporting family %(share)s%% (range "
                   "%(low)s–%(high)s%%) would have needed an out-of-home placement for a year, and the rest "
                   "referred youth care for a year.", n=prevented, outcomes=labels, **shares)
    else:
        method = plugin.message(
            "Of the %(n)s match that ended in this period with an outcome that counts as care prevented "
            "(%(outcomes)s), we assume that without a supporting family %(share)s%% (range %(low)s–%(high)s%%) "
            "would have needed an out-of-home placement for %(years)s years, and the rest referred youth care for "
            "as long.",
            plural="Of the %(n)s matches that ended in this period with an outcome that counts as care prevented "
                   "(%(outcomes)s), we assume that without a supporting family %(share)s%% (range "
                   "%(low)s–%(high)s%%) would have needed an out-of-home placement for %(years)s years, and the rest "
                   "referred youth care for as long.", n=prevented, outcomes=labels, years=years, **shares)
    return AvoidedCosts(
        outcomes=outcomes, prevented=prevented, horizon_years=years, placement_share=share,
        placement_share_low=low, placement_share_high=high, placement_cost_per_year=placement,
        care_cost_per_year=care, expected=expected(share), low=expected(low), high=expected(high), method=method,
        assumptions=(
            assumption(plugin.message("Share of the prevented cases that would have led to an out-of-home placement"),
                       plugin.message("%(share)s%% (range %(low)s–%(high)s%%)", **shares),
                       config["placement_share_source"]),
            assumption(plugin.message("Cost of an out-of-home placement"),
                       plugin.message("%(amount)s a year", amount=placement), config["placement_cost_source"]),
            assumption(plugin.message("Cost of referred youth care"), plugin.message("%(amount)s a year", amount=care),
                       config["care_cost_source"]),
            assumption(plugin.message("Horizon: how long the prevented care would have lasted"),
                       plugin.message("%(n)s year", plural="%(n)s years", n=years), config["horizon_source"]),
        ))


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
        return FundingStatement(
            model=self.name, period_start=activity.period_start, period_end=activity.period_end,
            lines=lines, total=total, municipality_pays=municipality_pays, funds_pay=funds_pay,
            consortium_split=consortium_split(total, activity, self.config["split"]),
            avoided=avoided_costs(self, activity), as_of=activity.counted_until)
