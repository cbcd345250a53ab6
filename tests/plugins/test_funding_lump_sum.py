from datetime import date
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from core.policy.types import FundingActivity, MunicipalityFacts
from tests.plugins.conftest import en, nl

AALTEN = MunicipalityFacts(1, "Aalten", 27_000, matches_started=3)


def activity(start, end, **facts):
    return FundingActivity(period_start=start, period_end=end, municipality=AALTEN, **facts)


def statement(hook, config, act):
    return hook({"funding.lump_sum": config}).koppel_funding_statement(activity=act)


def test_a_whole_year_is_the_yearly_amount(hook):
    result = statement(hook, {"amount_per_year": "60000"}, activity(date(2026, 1, 1), date(2026, 12, 31)))
    assert result.model == "funding.lump_sum"
    assert (result.period_start, result.period_end) == (date(2026, 1, 1), date(2026, 12, 31))
    assert [(nl(line.description), line.amount) for line in result.lines] == [
        ("Subsidie 2026: 1 januari 2026 t/m 31 december 2026, €\u00a060.000,00 per jaar × 365/365 dagen",
         Decimal("60000.00"))]
    assert en(result.lines[0].description) == \
        "Subsidy 2026: January 1, 2026 to December 31, 2026, €60,000.00 a year × 365/365 days"
    assert result.total == result.municipality_pays == Decimal("60000.00")
    assert result.funds_pay == {} and result.consortium_split == {}


def test_pro_rata_by_days_rounded_half_up_to_cents(hook):
    config = {"amount_per_year": "60000.00"}
    half = statement(hook, config, activity(date(2026, 1, 1), date(2026, 6, 30)))  # 181 days
    assert half.total == Decimal("29753.42")  # 60000 × 181 / 365 = 29753.424…
    quarter = statement(hook, config, activity(date(2026, 10, 1), date(2026, 12, 31)))  # 92 days
    assert quarter.total == Decimal("15123.29")  # 15123.287…
    one_day = statement(hook, {"amount_per_year": "36500.18"}, activity(date(2026, 3, 1), date(2026, 3, 1)))
    assert one_day.total == Decimal("100.00")  # 100.0004…, half-up to cents
    assert statement(hook, {"amount_per_year": "365.01825"}, activity(date(2026, 3, 1), date(2026, 3, 1))).total == \
        Decimal("1.00")  # the amount itself is taken to cents first: 365.02 / 365 = 1.00005…
    half_cent = statement(hook, {"amount_per_year": "1.82"}, activity(date(2026, 1, 1), date(2026, 1, 1)))
    assert half_cent.total == Decimal("0.00")  # 0.004986…
    assert statement(hook, {"amount_per_year": "18.25"}, activity(date(2026, 1, 1), date(2026, 1, 1))).total == \
        Decimal("0.05")  # exactly 0.05
    assert statement(hook, {"amount_per_year": "1.825"}, activity(date(2026, 1, 1), date(2026, 1, 1))).total == \
        Decimal("0.01")  # 1.83 / 365 = 0.005013…, up


def test_a_leap_year_has_366_days(hook):
    result = statement(hook, {"amount_per_year": "36600"}, activity(date(2028, 2, 1), date(2028, 2, 29)))
    assert [(nl(line.description), line.amount) for line in result.lines] == [
        ("Subsidie 2028: 1 februari 2028 t/m 29 februari 2028, €\u00a036.600,00 per jaar × 29/366 dagen",
         Decimal("2900.00"))]


def test_a_period_across_two_years_has_a_line_per_year(hook):
    result = statement(hook, {"amount_per_year": "60000"}, activity(date(2025, 7, 1), date(2026, 6, 30)))
    assert [(en(line.description), line.amount) for line in result.lines] == [
        ("Subsidy 2025: July 1, 2025 to December 31, 2025, €60,000.00 a year × 184/365 days", Decimal("30246.58")),
        ("Subsidy 2026: January 1, 2026 to June 30, 2026, €60,000.00 a year × 181/365 days", Decimal("29753.42")),
    ]
    assert result.total == Decimal("60000.00")


DE_WOLDEN = {"amount_per_year": "22000", "starts_on": "2025-01-01"}


def test_nothing_is_charged_before_the_subsidy_starts(hook):
    result = statement(hook, DE_WOLDEN, activity(date(2019, 1, 1), date(2019, 12, 31)))
    assert [(nl(line.description), line.amount) for line in result.lines] == [
        ("Geen subsidie in deze periode: de subsidie loopt vanaf 1 januari 2025.", Decimal("0.00"))]
    assert result.total == result.municipality_pays == Decimal("0.00")
    assert statement(hook, DE_WOLDEN, activity(date(2026, 1, 1), date(2026, 12, 31))).total == Decimal("22000.00")


def test_a_subsidy_that_starts_or_ends_within_the_period_is_charged_for_its_own_days(hook):
    starts = statement(hook, {"amount_per_year": "36500", "starts_on": "2026-03-01"},
                       activity(date(2026, 1, 1), date(2026, 12, 31)))
    assert [(nl(line.description), line.amount) for line in starts.lines] == [
        ("Subsidie 2026: 1 maart 2026 t/m 31 december 2026, €\u00a036.500,00 per jaar × 306/365 dagen",
         Decimal("30600.00"))]  # 36500 × 306 / 365
    ends = statement(hook, {"amount_per_year": "36500", "starts_on": "2024-01-01", "ends_on": "2026-04-30"},
                     activity(date(2025, 7, 1), date(2026, 12, 31)))
    assert [(en(line.description), line.amount) for line in ends.lines] == [
        ("Subsidy 2025: July 1, 2025 to December 31, 2025, €36,500.00 a year × 184/365 days", Decimal("18400.00")),
        ("Subsidy 2026: January 1, 2026 to April 30, 2026, €36,500.00 a year × 120/365 days", Decimal("12000.00")),
    ]
    after = statement(hook, {"amount_per_year": "36500", "starts_on": "2024-01-01", "ends_on": "2025-12-31"},
                      activity(date(2026, 1, 1), date(2026, 12, 31)))
    assert [(en(line.description), line.amount) for line in after.lines] == [
        ("No subsidy in this period: the subsidy runs from January 1, 2024 to December 31, 2025.", Decimal("0.00"))]
    one_day = statement(hook, {"amount_per_year": "36500", "starts_on": "2026-05-05", "ends_on": "2026-05-05"},
                        activity(date(2026, 1, 1), date(2026, 12, 31)))
    assert one_day.total == Decimal("100.00")


def test_without_a_start_date_the_subsidy_counts_from_the_programmes_start_in_koppel(hook):
    # policies stored before starts_on existed: charged from the day the programme began in Koppel
    config = {"amount_per_year": "36500"}
    started = activity(date(2026, 1, 1), date(2026, 12, 31), programme_started_on=date(2026, 11, 2))
    assert statement(hook, config, started).total == Decimal("6000.00")  # 2 Nov to 31 Dec: 60 days
    before = activity(date(2019, 1, 1), date(2019, 12, 31), programme_started_on=date(2025, 3, 1))
    assert [en(line.description) for line in statement(hook, config, before).lines] == [
        "No subsidy in this period: the subsidy runs from March 1, 2025."]
    unknown = activity(date(2019, 1, 1), date(2019, 12, 31))  # not filled in (Koppel always fills it in)
    assert statement(hook, config, unknown).total == Decimal("36500.00")
    configured = activity(date(2026, 1, 1), date(2026, 12, 31), programme_started_on=date(2026, 11, 2))
    assert statement(hook, {**config, "starts_on": "2025-01-01"}, configured).total == Decimal("36500.00")


def test_the_lump_sum_is_charged_for_the_whole_period_whatever_the_statement_date(hook):
    result = statement(hook, DE_WOLDEN, activity(date(2026, 1, 1), date(2026, 12, 31), as_of=date(2026, 3, 31)))
    assert result.total == Decimal("22000.00") and result.as_of == date(2026, 3, 31)


def test_default_amount_is_zero(hook):
    result = statement(hook, {}, activity(date(2026, 1, 1), date(2026, 12, 31)))
    assert result.total == Decimal("0.00") and result.municipality_pays == Decimal("0.00")


def test_a_period_that_ends_before_it_starts_is_refused(hook):
    with pytest.raises(ValueError, match="ends"):
        statement(hook, {"amount_per_year": "1000"}, activity(date(2026, 2, 1), date(2026, 1, 31)))


@pytest.mark.parametrize("amount", ["-1", "lots", "NaN", "Infinity", None])
def test_invalid_amount_names_the_field(hook, amount):
    with pytest.raises(ValidationError) as error:
        hook({"funding.lump_sum": {"amount_per_year": amount}})
    assert "amount_per_year" in error.value.messages


@pytest.mark.parametrize("config, field", [
    ({"starts_on": "1 januari 2025"}, "starts_on"),
    ({"starts_on": "2025-02-30"}, "starts_on"),
    ({"starts_on": "1999-12-31"}, "starts_on"),
    ({"ends_on": "2101-01-01"}, "ends_on"),
    ({"starts_on": "2026-01-01", "ends_on": "2025-12-31"}, "ends_on"),
])
def test_invalid_subsidy_dates_name_the_field(hook, config, field):
    with pytest.raises(ValidationError) as error:
        hook({"funding.lump_sum": config})
    assert field in error.value.messages


def test_the_subsidy_dates_are_stored_as_iso_dates():
    from core.policy.manager import plugin_class

    cls = plugin_class("funding.lump_sum")
    config = cls.load_config({"starts_on": "2025-01-01", "ends_on": "2025-01-01"})
    assert (config["starts_on"], config["ends_on"]) == (date(2025, 1, 1), date(2025, 1, 1))  # one day is a subsidy
    stored = cls.Config().dump(config)
    assert (stored["starts_on"], stored["ends_on"]) == ("2025-01-01", "2025-01-01")
    assert cls.load_config(stored) == config
    assert cls.Config().dump(cls.load_config({}))["starts_on"] is None
