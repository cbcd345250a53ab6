from datetime import date
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from core.policy.types import FundingActivity, MunicipalityFacts
from tests.plugins.conftest import en, nl

RHENEN = MunicipalityFacts(7, "Rhenen", 20_000, matches_started=4)


def activity(matches=4, months="23.5", **facts):
    return FundingActivity(period_start=date(2026, 1, 1), period_end=date(2026, 6, 30), municipality=RHENEN,
                           matches_started=matches, active_match_months=Decimal(months), **facts)


# Koppel counts the activity up to the statement's date (core.policy.funding.activity, tested in
# tests/test_business_case.py); each line says up to which day it counts.


def statement(hook, config, act):
    return hook({"funding.per_match": config}).koppel_funding_statement(activity=act)


def test_a_fee_per_new_match_and_per_active_month(hook):
    result = statement(hook, {"fee_per_match": "1250", "fee_per_active_month": "150.55"}, activity())
    assert result.model == "funding.per_match"
    assert [(nl(line.description), line.amount) for line in result.lines] == [
        ("Nieuwe koppelingen t/m 30 juni 2026: 4 × €\u00a01.250,00", Decimal("5000.00")),
        ("Actieve koppelmaanden t/m 30 juni 2026: 23,5 × €\u00a0150,55", Decimal("3537.93")),  # 3537.925, half-up
    ]
    assert result.total == result.municipality_pays == Decimal("8537.93")


def test_in_english(hook):
    # the lines are messages, shown in the reader's language; the old "language" setting changes nothing
    for config in ({}, {"language": "en"}, {"language": "nl"}):
        result = statement(hook, {"fee_per_match": "1250", "fee_per_active_month": "150", **config},
                           activity(matches=12, months="80.25"))
        assert [en(line.description) for line in result.lines] == [
            "New matches up to June 30, 2026: 12 × €1,250.00",
            "Active match months up to June 30, 2026: 80.25 × €150.00"]
    assert [(en(line.description), line.amount) for line in result.lines] == [
        ("New matches up to June 30, 2026: 12 × €1,250.00", Decimal("15000.00")),
        ("Active match months up to June 30, 2026: 80.25 × €150.00", Decimal("12037.50")),
    ]
    assert result.total == Decimal("27037.50")


def test_each_line_names_the_statement_date_up_to_which_it_counts(hook):
    config = {"fee_per_match": "1000", "fee_per_active_month": "100"}
    result = statement(hook, config, activity(matches=2, months="5.5", as_of=date(2026, 3, 15)))
    assert result.as_of == date(2026, 3, 15)
    assert [(nl(line.description), line.amount) for line in result.lines] == [
        ("Nieuwe koppelingen t/m 15 maart 2026: 2 × €\u00a01.000,00", Decimal("2000.00")),
        ("Actieve koppelmaanden t/m 15 maart 2026: 5,5 × €\u00a0100,00", Decimal("550.00")),
    ]
    later = statement(hook, config, activity(matches=2, months="5.5", as_of=date(2027, 1, 1)))
    assert later.as_of == date(2026, 6, 30)  # never after the period's end
    assert en(later.lines[0].description).startswith("New matches up to June 30, 2026:")


def test_no_activity_costs_nothing(hook):
    result = statement(hook, {"fee_per_match": "1250", "fee_per_active_month": "150"}, activity(matches=0, months="0"))
    assert result.total == Decimal("0.00") and [line.amount for line in result.lines] == [Decimal("0.00")] * 2


def test_negative_activity_is_refused(hook):
    with pytest.raises(ValueError, match="negative"):
        statement(hook, {"fee_per_match": "1"}, activity(matches=-1))


@pytest.mark.parametrize("config, field", [
    ({"fee_per_match": "-0.01"}, "fee_per_match"),
    ({"fee_per_active_month": "veel"}, "fee_per_active_month"),
    ({"language": "fr"}, "language"),
])
def test_invalid_configuration_names_the_field(hook, config, field):
    with pytest.raises(ValidationError) as error:
        hook({"funding.per_match": config})
    assert field in error.value.messages
