"""What both funding models share (plugins/_funding.py): funds, the consortium split, avoided costs, configuration."""
import json
from datetime import date
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from core.policy.manager import plugin_class
from core.policy.types import AssumptionSource, FundingActivity, MunicipalityFacts
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
def test_avoided_costs_are_expected_values_with_a_range_and_their_method(hook, model):
    outcomes = {"no_further_care": 6, "lighter_support": 4, "professional_youth_care": 2, "unknown": 1}
    avoided = statement(hook, model, act=activity(outcomes=outcomes)).avoided
    # 10 prevented cases, each 10 % (5–20 %) a year of placement (80,000) and otherwise a year of care (10,000):
    assert avoided.prevented == 10 and avoided.outcomes == ("no_further_care", "lighter_support")
    assert avoided.expected == Decimal("170000.00")  # 10 × (0.10 × 80000 + 0.90 × 10000) × 1
    assert avoided.low == Decimal("135000.00")  # 10 × (0.05 × 80000 + 0.95 × 10000)
    assert avoided.high == Decimal("240000.00")  # 10 × (0.20 × 80000 + 0.80 × 10000)
    assert nl(avoided.method) == (
        "Van de 10 koppelingen die in deze periode eindigden met een uitkomst die telt als voorkomen zorg (geen "
        "verdere hulp nodig of lichtere ondersteuning), nemen we aan dat zonder steungezin 10% (bandbreedte 5–20%) "
        "een jaar lang een uithuisplaatsing nodig had gehad, en de rest een jaar lang geïndiceerde jeugdhulp.")
    assert en(avoided.method) == (
        "Of the 10 matches that ended in this period with an outcome that counts as care prevented (no further care "
        "needed or lighter support), we assume that without a supporting family 10% (range 5–20%) would have needed "
        "an out-of-home placement for a year, and the rest referred youth care for a year.")
    assert [(nl(a.name), nl(a.value), a.source, a.note) for a in avoided.assumptions] == [
        ("Aandeel van de voorkomen gevallen dat tot een uithuisplaatsing had geleid", "10% (bandbreedte 5–20%)",
         None, None),
        ("Kosten van een uithuisplaatsing", "€\u00a080.000,00 per jaar", None, None),
        ("Kosten van geïndiceerde jeugdhulp", "€\u00a010.000,00 per jaar", None, None),
        ("Horizon: hoe lang de voorkomen zorg had geduurd", "1 jaar", None, None),
    ]  # the built-in figures have no source: the municipality's own assumptions until it gives its own
    assert en(avoided.assumptions[3].value) == "1 year"


@pytest.mark.parametrize("model", MODELS)
def test_avoided_costs_never_show_a_bare_fraction_of_a_placement(hook, model):
    avoided = statement(hook, model, act=activity(outcomes={"no_further_care": 3})).avoided
    words = [nl(avoided.method), en(avoided.method)] + [nl(a.value) for a in avoided.assumptions]
    assert not any("0,3" in w or "0.3" in w or "× €" in w for w in words), words
    assert avoided.expected == Decimal("51000.00")  # 3 × (8000 + 9000): an expected value in euros


@pytest.mark.parametrize("model", MODELS)
def test_avoided_costs_from_configured_outcomes_shares_horizon_figures_and_sources(hook, model):
    result = statement(hook, model, act=activity(outcomes={"no_further_care": 3, "lighter_support": 5}),
                       language="en", avoided_outcomes=["no_further_care"], placement_share="0.25",
                       placement_share_low="0.2", placement_share_high="0.3", horizon_years=2,
                       placement_cost_per_year="95000.50", care_cost_per_year="12500",
                       placement_cost_source={"title": "Kostprijs jeugdhulp 2026", "publisher": "Gemeente Aalten",
                                              "year": 2026, "url": "https://aalten.example/kostprijs",
                                              "kind": "primary"},
                       care_cost_source="Own average, youth care 2025")
    avoided = result.avoided
    assert avoided.prevented == 3
    assert avoided.expected == Decimal("198750.75")  # 3 × (0.25 × 95000.50 + 0.75 × 12500) × 2
    assert avoided.low == Decimal("174000.60")  # 3 × (0.20 × 95000.50 + 0.80 × 12500) × 2
    assert avoided.high == Decimal("223500.90")  # 3 × (0.30 × 95000.50 + 0.70 × 12500) × 2
    assert en(avoided.method) == (
        "Of the 3 matches that ended in this period with an outcome that counts as care prevented (no further care "
        "needed), we assume that without a supporting family 25% (range 20–30%) would have needed an out-of-home "
        "placement for 2 years, and the rest referred youth care for as long.")
    share, placement, care, horizon = avoided.assumptions
    assert (share.source, share.note) == (None, None)
    assert placement.source == AssumptionSource("Kostprijs jeugdhulp 2026", "Gemeente Aalten", 2026, "primary",
                                                "https://aalten.example/kostprijs")
    assert (care.source, care.note) == (None, "Own average, youth care 2025")  # a text is never a source
    assert (en(horizon.value), nl(horizon.value)) == ("2 years", "2 jaar")
    assert result.total == Decimal("10000.00")  # avoided costs are an estimate beside the costs, not part of them


@pytest.mark.parametrize("model", MODELS)
def test_no_outcomes_or_avoided_costs_switched_off(hook, model):
    nothing = statement(hook, model).avoided
    assert (nothing.prevented, nothing.expected, nothing.low, nothing.high) == (0, Decimal("0.00"), Decimal("0.00"),
                                                                               Decimal("0.00"))
    assert statement(hook, model, act=activity(outcomes={"no_further_care": 5}), avoided_costs=False).avoided is None
    assert statement(hook, model, act=activity(outcomes={"no_further_care": 5}), avoided_outcomes=[]).avoided is None


@pytest.mark.parametrize("model", MODELS)
def test_stored_policies_with_free_text_sources_still_load(hook, model):
    cls = plugin_class(model)
    former_default = ("Indicatief en instelbaar: ca. € 80.000 per jaar voor een uithuisplaatsing. Uitgangspunt naar "
                      "aanleiding van InHuis Steungezinnen / evaluatie Achterhoek (Yunio), waarin het voorkomen van "
                      "residentiële plaatsingen het hoofddoel is; het bedrag zelf is een ruwe schatting, geen "
                      "vastgesteld tarief. Vervang het door de eigen kostprijs van de gemeente.")
    config = cls.load_config({"placement_cost_source": former_default, "care_cost_source": "Begroting 2024, p. 12"})
    assert config["placement_cost_source"] is None  # the former default named no source
    assert config["care_cost_source"] == {"description": "Begroting 2024, p. 12"}
    stored = json.loads(json.dumps(cls.Config().dump(config)))
    assert stored["care_cost_source"] == "Begroting 2024, p. 12" and stored["placement_cost_source"] is None
    assert cls.load_config(stored) == config
    avoided = statement(hook, model, act=activity(outcomes={"lighter_support": 1}),
                        placement_cost_source=former_default, care_cost_source="Begroting 2024, p. 12").avoided
    assert [(a.source, a.note) for a in avoided.assumptions][1:3] == [(None, None), (None, "Begroting 2024, p. 12")]


@pytest.mark.parametrize("model", MODELS)
def test_a_structured_source_is_stored_and_loaded_again(model):
    cls = plugin_class(model)
    source = {"title": "Jeugdhulp in cijfers", "publisher": "CBS", "year": 2025, "kind": "secondary"}
    config = cls.load_config({"horizon_source": source})
    assert config["horizon_source"] == {**source, "url": None}
    stored = json.loads(json.dumps(cls.Config().dump(config)))
    assert stored["horizon_source"] == {**source, "url": None}
    assert cls.load_config(stored) == config


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
    ({"placement_share": "0.04"}, "placement_share_low"),  # below the low end (0.05)
    ({"placement_share": "0.25"}, "placement_share_high"),  # above the high end (0.20)
    ({"placement_share_low": "-0.1"}, "placement_share_low"),
    ({"placement_cost_per_year": "-80000"}, "placement_cost_per_year"),
    ({"care_cost_source": ""}, "care_cost_source"),
    ({"care_cost_source": 12}, "care_cost_source"),
    ({"care_cost_source": {"title": "T", "publisher": "P", "year": 2024}}, "care_cost_source"),  # no kind
    ({"care_cost_source": {"title": "T", "publisher": "P", "year": 2024, "kind": "tertiary"}}, "care_cost_source"),
    ({"care_cost_source": {"title": "", "publisher": "P", "year": 2024, "kind": "primary"}}, "care_cost_source"),
    ({"care_cost_source": {"title": "T", "publisher": "P", "year": "ooit", "kind": "primary"}}, "care_cost_source"),
    ({"placement_cost_source": {"title": "T", "publisher": "P", "year": 2024, "kind": "primary",
                                "url": "ftp://example.org/x"}}, "placement_cost_source"),
    ({"placement_cost_source": {"title": "T", "publisher": "P", "year": 2024, "kind": "primary",
                                "url": "javascript:alert(1)"}}, "placement_cost_source"),
    ({"horizon_years": 0}, "horizon_years"),
    ({"horizon_years": 11}, "horizon_years"),
    ({"horizon_years": 1.5}, "horizon_years"),
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
    assert cls.contract_problems() == [] and cls.version == "1.1.0" and cls.kind == "funding"
    stored = json.loads(json.dumps(cls.Config().dump(cls.load_config(
        {**YEAR[model], "funds": [{"name": "Oranje Fonds", "percentage": "25"}], "split": "matches"}))))
    assert stored["funds"] == [{"name": "Oranje Fonds", "percentage": "25.00", "amount": None}]
    assert cls.load_config(stored) == cls.load_config(
        {**YEAR[model], "funds": [{"name": "Oranje Fonds", "percentage": "25"}], "split": "matches"})
    defaults = json.loads(json.dumps(cls.default_config()))
    assert defaults["placement_cost_per_year"] == "80000.00" and defaults["placement_cost_source"] is None


@pytest.mark.parametrize("language, title, subtitle, headings", [
    ("nl", "Financieringsoverzicht Aalten",
     "1 januari 2026 t/m 31 december 2026 (Subsidie per jaar (lumpsum)), stand per 31 december 2026",
     {"Kosten": ("Omschrijving", "Bedrag"), "Betaald door": ("Betaler", "Bedrag"),
      "Verdeling over de regio": ("Gemeente", "Bedrag"), "Vermeden kosten": ("Kengetal", "Aalten"),
      "Aannames": ("Aanname", "Waarde", "Bron", "Uitgever", "Jaar", "Link", "Soort bron")}),
    ("en", "Funding statement Aalten",
     "January 1, 2026 to December 31, 2026 (Yearly lump sum), as of December 31, 2026",
     {"Costs": ("Description", "Amount"), "Paid by": ("Payer", "Amount"),
      "Consortium split": ("Municipality", "Amount"), "Avoided costs": ("Figure", "Aalten"),
      "Assumptions": ("Assumption", "Value", "Source", "Publisher", "Year", "Link", "Kind of source")}),
])
def test_the_statement_as_a_report_in_the_readers_language(hook, language, title, subtitle, headings):
    from core.policy.funding import as_report

    result = statement(hook, "funding.lump_sum", act=activity(outcomes={"no_further_care": 10}), split="inhabitants",
                       funds=[{"name": "Oranje Fonds", "percentage": "25"}])
    report = as_report(result, "Aalten", language)
    assert (report.title, report.subtitle) == (title, subtitle)
    assert {section.title: section.columns for section in report.sections} == headings
    costs, paid, split, avoided, assumptions = report.sections
    words = en if language == "en" else nl
    assert costs.rows == ((words(result.lines[0].description), Decimal("10000.00")),
                          ("Total" if language == "en" else "Totaal", Decimal("10000.00")))  # amounts stay Decimals
    assert paid.rows == (("Oranje Fonds", Decimal("2500.00")), ("Aalten", Decimal("7500.00")))
    assert split.rows == (("Aalten", Decimal("2093.02")), ("Berkelland", Decimal("3410.85")),
                          ("Doetinchem", Decimal("4496.13")))
    assert [row[1] for row in avoided.rows] == [10, Decimal("170000.00"), Decimal("135000.00"), Decimal("240000.00")]
    assert avoided.notes[0] == words(result.avoided.method)
    own = "The municipality's own assumption" if language == "en" else "Eigen aanname van de gemeente"
    assert [row[2] for row in assumptions.rows] == [own] * 4
