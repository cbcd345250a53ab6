"""What both funding models share (plugins/_funding.py): funds, the consortium split, avoided costs, configuration."""
import json
from datetime import date
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from core.policy.manager import plugin_class
from core.policy.types import FundingActivity, MunicipalityFacts
from tests.plugins.conftest import en, nl

MODELS = ("funding.lump_sum", "funding.per_match")
# A consortium like the Achterhoek's (inhabitants rounded, matches in the period made up).
AALTEN = MunicipalityFacts(1, "Aalten", 27_000, matches_started=3)
BERKELLAND = MunicipalityFacts(2, "Berkelland", 44_000, matches_started=5)
DOETINCHEM = MunicipalityFacts(3, "Doetinchem", 58_000, matches_started=0)
MEMBERS = (AALTEN, BERKELLAND, DOETINCHEM)
YEAR = {"funding.lump_sum": {"amount_per_year": "10000"},  # both models cost € 10.000 in the activity below
        "funding.per_match": {"fee_per_match": "2000", "fee_per_active_month": "100"}}


def activity(**facts):
    defaults = {"period_start": date(2026, 1, 1), "period_end": date(2026, 12, 31), "municipality": AALTEN,
                "consortium_members": MEMBERS, "matches_started": 3, "active_match_months": Decimal(40)}
    return FundingActivity(**{**defaults, **facts})


def statement(hook, model, act=None, **config):
    return hook({model: {**YEAR[model], **config}}).koppel_funding_statement(activity=act or activity())


@pytest.mark.parametrize("model", MODELS)
def test_co_financing_by_percentage(hook, model):
    result = statement(hook, model, funds=[{"name": "Oranje Fonds", "percentage": "25"},
                                           {"name": "Fonds Kinderpostzegels", "percentage": "12.5"}])
    assert result.total == Decimal("10000.00")
    assert result.funds_pay == {"Oranje Fonds": Decimal("2500.00"), "Fonds Kinderpostzegels": Decimal("1250.00")}
    assert result.municipality_pays == Decimal("6250.00")


@pytest.mark.parametrize("model", MODELS)
def test_a_percentage_is_rounded_half_up_to_cents(hook, model):
    result = statement(hook, model, act=activity(period_end=date(2026, 1, 1), matches_started=0,
                                                 active_match_months=Decimal("0.2735")),
                       funds=[{"name": "Fonds", "percentage": "50"}])
    assert result.total == Decimal({"funding.lump_sum": "27.40", "funding.per_match": "27.35"}[model])
    assert result.funds_pay["Fonds"] + result.municipality_pays == result.total
    assert result.funds_pay["Fonds"] == Decimal({"funding.lump_sum": "13.70", "funding.per_match": "13.68"}[model])


@pytest.mark.parametrize("model", MODELS)
def test_co_financing_by_fixed_amount(hook, model):
    result = statement(hook, model, funds=[{"name": "Fonds 1818", "amount": "3000"}])
    assert result.funds_pay == {"Fonds 1818": Decimal("3000.00")}
    assert result.municipality_pays == Decimal("7000.00")


@pytest.mark.parametrize("model", MODELS)
def test_funds_never_pay_more_than_the_total_together(hook, model):
    result = statement(hook, model, funds=[{"name": "Oranje Fonds", "percentage": "60"},
                                           {"name": "Fonds 1818", "amount": "7500"},
                                           {"name": "Laat", "amount": "100"}])
    assert result.funds_pay == {"Oranje Fonds": Decimal("6000.00"), "Fonds 1818": Decimal("4000.00"),
                                "Laat": Decimal("0.00")}  # capped at what was left, in the order listed
    assert result.municipality_pays == Decimal("0.00")
    assert sum(result.funds_pay.values()) == result.total
    alone = statement(hook, model, funds=[{"name": "Rijk fonds", "amount": "25000"}])
    assert (alone.funds_pay, alone.municipality_pays) == ({"Rijk fonds": Decimal("10000.00")}, Decimal("0.00"))


@pytest.mark.parametrize("model", MODELS)
def test_consortium_split_by_inhabitants_adds_up_exactly(hook, model):
    result = statement(hook, model, split="inhabitants")
    # 10000 × 27/129 = 2093.0232…, × 44/129 = 3410.8527…, × 58/129 = 4496.1240…: each rounded down adds up
    # to 9999.99, and the cent left goes to the largest remainder (Doetinchem, 0.40 of a cent)
    assert result.consortium_split == {"Aalten": Decimal("2093.02"), "Berkelland": Decimal("3410.85"),
                                       "Doetinchem": Decimal("4496.13")}
    assert sum(result.consortium_split.values()) == result.total


@pytest.mark.parametrize("model", MODELS)
def test_consortium_split_by_matches_adds_up_exactly(hook, model):
    result = statement(hook, model, split="matches")
    # 10000 × 3/8 = 3750, × 5/8 = 6250; Doetinchem started none
    assert result.consortium_split == {"Aalten": Decimal("3750.00"), "Berkelland": Decimal("6250.00"),
                                       "Doetinchem": Decimal("0.00")}
    thirds = (MunicipalityFacts(1, "A", 1, 1), MunicipalityFacts(2, "B", 1, 1), MunicipalityFacts(3, "C", 1, 1))
    uneven = statement(hook, model, act=activity(consortium_members=thirds), split="matches")
    assert uneven.consortium_split == {"A": Decimal("3333.34"), "B": Decimal("3333.33"), "C": Decimal("3333.33")}
    assert sum(uneven.consortium_split.values()) == uneven.total


def test_consortium_split_of_an_awkward_total_over_seven_members(hook):
    members = tuple(MunicipalityFacts(i, name, inhabitants, matches_started=i % 3) for i, (name, inhabitants) in
                    enumerate([("Aalten", 27_121), ("Berkelland", 44_234), ("Bronckhorst", 36_333),
                               ("Doetinchem", 58_270), ("Oost Gelre", 29_789), ("Oude IJsselstreek", 39_614),
                               ("Winterswijk", 29_133)]))
    act = activity(period_end=date(2026, 8, 17), consortium_members=members)
    for split in ("inhabitants", "matches"):
        result = statement(hook, "funding.lump_sum", act=act, amount_per_year="98765.43", split=split)
        assert result.total == Decimal("61965.16")  # 98765.43 × 229/365 = 61965.164…
        assert sum(result.consortium_split.values()) == result.total
        assert all(part == part.quantize(Decimal("0.01")) for part in result.consortium_split.values())
        assert len(result.consortium_split) == 7


@pytest.mark.parametrize("model", MODELS)
def test_no_split_by_default_and_shares_when_nobody_started_a_match(hook, model):
    assert statement(hook, model).consortium_split == {}
    idle = tuple(MunicipalityFacts(i, n, 10_000, matches_started=0) for i, n in enumerate("ABC"))
    result = statement(hook, model, act=activity(consortium_members=idle), split="matches")
    assert result.consortium_split == {"A": Decimal("3333.34"), "B": Decimal("3333.33"), "C": Decimal("3333.33")}
    alone = statement(hook, model, act=activity(consortium_members=()), split="inhabitants")
    assert alone.consortium_split == {"Aalten": Decimal("10000.00")}


@pytest.mark.parametrize("model", MODELS)
def test_avoided_costs_with_their_sources(hook, model):
    outcomes = {"no_further_care": 6, "lighter_support": 4, "professional_youth_care": 2, "unknown": 1}
    result = statement(hook, model, act=activity(outcomes=outcomes))
    placements, care = result.avoided_costs
    # 10 prevented cases: 10 % (1) counts as a prevented placement, 9 as prevented referred youth care
    assert nl(placements.description) == "Voorkomen uithuisplaatsingen: 1 × €\u00a080.000,00 per jaar"
    assert en(placements.description) == "Prevented out-of-home placements: 1 × €80,000.00 a year"
    assert placements.amount == Decimal("80000.00")
    assert nl(care.description) == "Voorkomen geïndiceerde jeugdhulp: 9 × €\u00a010.000,00 per jaar"
    assert care.amount == Decimal("90000.00")
    assert result.avoided_total == Decimal("170000.00")
    assert "InHuis Steungezinnen" in nl(placements.source) and "Achterhoek" in nl(placements.source)
    assert "ca. €\u00a080.000,00 per jaar" in nl(placements.source)
    for line in result.avoided_costs:  # honest: indicative figures, to be replaced by the municipality's own
        assert "Indicatief en instelbaar" in nl(line.source) and "eigen kostprijs" in nl(line.source)
        assert "Indicative and adjustable" in en(line.source) and "own cost price" in en(line.source)
    assert result.total == Decimal("10000.00")  # avoided costs are an estimate beside the costs, not part of them


@pytest.mark.parametrize("model", MODELS)
def test_avoided_costs_from_configured_outcomes_share_figures_and_sources(hook, model):
    result = statement(hook, model, act=activity(outcomes={"no_further_care": 3, "lighter_support": 5}),
                       language="en", avoided_outcomes=["no_further_care"], placement_share="0.25",
                       placement_cost_per_year="95000.50", placement_cost_source="Own tariff 2026, contract 12",
                       care_cost_per_year="12500", care_cost_source="Own average, youth care 2025")
    placements, care = result.avoided_costs
    assert (en(placements.description), placements.amount, placements.source) == (
        "Prevented out-of-home placements: 0.75 × €95,000.50 a year", Decimal("71250.38"),
        "Own tariff 2026, contract 12")  # 71250.375, half-up
    assert (en(care.description), care.amount, care.source) == (
        "Prevented referred youth care: 2.25 × €12,500.00 a year", Decimal("28125.00"), "Own average, youth care 2025")
    assert result.avoided_total == Decimal("99375.38")
    assert nl(placements.description) == "Voorkomen uithuisplaatsingen: 0,75 × €\u00a095.000,50 per jaar"


@pytest.mark.parametrize("model", MODELS)
def test_no_outcomes_or_avoided_costs_switched_off(hook, model):
    nothing = statement(hook, model)
    assert [line.amount for line in nothing.avoided_costs] == [Decimal("0.00")] * 2
    assert nothing.avoided_total == Decimal("0.00")
    off = statement(hook, model, act=activity(outcomes={"no_further_care": 5}), avoided_costs=False)
    assert (off.avoided_costs, off.avoided_total) == ((), Decimal("0.00"))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("config, field", [
    ({"funds": [{"name": "Fonds", "percentage": "10", "amount": "100"}]}, "funds"),
    ({"funds": [{"name": "Fonds"}]}, "funds"),
    ({"funds": [{"percentage": "10"}]}, "funds"),
    ({"funds": [{"name": "Fonds", "percentage": "101"}]}, "funds"),
    ({"funds": [{"name": "A", "percentage": "60"}, {"name": "B", "percentage": "41"}]}, "funds"),
    ({"funds": [{"name": "A", "amount": "1"}, {"name": "A", "amount": "2"}]}, "funds"),
    ({"funds": [{"name": "A", "amount": "-1"}]}, "funds"),
    ({"split": "population"}, "split"),
    ({"placement_share": "1.5"}, "placement_share"),
    ({"placement_cost_per_year": "-80000"}, "placement_cost_per_year"),
    ({"care_cost_source": ""}, "care_cost_source"),
    ({"avoided_outcomes": ["happy"]}, "avoided_outcomes"),
])
def test_invalid_configuration_names_the_field(hook, model, config, field):
    with pytest.raises(ValidationError) as error:
        hook({model: config})
    assert field in error.value.messages


def test_fund_errors_name_the_fund_and_its_field(hook):
    with pytest.raises(ValidationError) as error:
        hook({"funding.lump_sum": {"funds": [{"name": "Ok", "amount": "1"}, {"name": "Fonds", "amount": "x"}]}})
    assert error.value.messages == {"funds": {1: {"amount": ["Not a valid number."]}}}
    with pytest.raises(ValidationError) as error:
        hook({"funding.lump_sum": {"funds": [{"name": "Fonds", "percentage": "5", "amount": "1"}]}})
    assert error.value.messages == {"funds": {0: {"percentage": ["give either a percentage or a fixed amount"]}}}


@pytest.mark.parametrize("model", MODELS)
def test_contract_and_a_configuration_that_a_policy_can_store_as_json(model):
    cls = plugin_class(model)
    assert cls.contract_problems() == [] and cls.version == "1.0.0" and cls.kind == "funding"
    stored = json.loads(json.dumps(cls.Config().dump(cls.load_config(
        {**YEAR[model], "funds": [{"name": "Oranje Fonds", "percentage": "25"}], "split": "matches"}))))
    assert stored["funds"] == [{"name": "Oranje Fonds", "percentage": "25.00", "amount": None}]
    assert cls.load_config(stored) == cls.load_config(
        {**YEAR[model], "funds": [{"name": "Oranje Fonds", "percentage": "25"}], "split": "matches"})
    assert json.loads(json.dumps(cls.default_config()))["placement_cost_per_year"] == "80000.00"


@pytest.mark.parametrize("language, title, subtitle, headings", [
    ("nl", "Financieringsoverzicht Aalten", "1 januari 2026 t/m 31 december 2026 (Subsidie per jaar (lumpsum))",
     {"Kosten": ("Omschrijving", "Bedrag"), "Betaald door": ("Betaler", "Bedrag"),
      "Verdeling over de regio": ("Gemeente", "Bedrag"), "Vermeden kosten": ("Omschrijving", "Bedrag", "Bron")}),
    ("en", "Funding statement Aalten", "January 1, 2026 to December 31, 2026 (Yearly lump sum)",
     {"Costs": ("Description", "Amount"), "Paid by": ("Payer", "Amount"),
      "Consortium split": ("Municipality", "Amount"), "Avoided costs": ("Description", "Amount", "Source")}),
])
def test_the_statement_as_a_report_in_the_readers_language(hook, language, title, subtitle, headings):
    from core.policy.funding import as_report

    result = statement(hook, "funding.lump_sum", act=activity(outcomes={"no_further_care": 10}), split="inhabitants",
                       funds=[{"name": "Oranje Fonds", "percentage": "25"}])
    report = as_report(result, "Aalten", language)
    assert (report.title, report.subtitle) == (title, subtitle)
    assert {section.title: section.columns for section in report.sections} == headings
    costs, paid, split, avoided = report.sections
    assert costs.rows == ((en(result.lines[0].description) if language == "en" else nl(result.lines[0].description),
                           Decimal("10000.00")),)  # amounts stay Decimals: each format writes them
    assert paid.rows == (("Oranje Fonds", Decimal("2500.00")), ("Aalten", Decimal("7500.00")))
    assert avoided.rows[0][0].startswith("Voorkomen uithuisplaatsingen" if language == "nl" else "Prevented out")
    assert avoided.rows[0][2].startswith("Indicatief en instelbaar" if language == "nl" else "Indicative and adjustable")
