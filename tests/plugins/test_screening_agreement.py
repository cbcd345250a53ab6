from datetime import date

import pytest
from marshmallow import ValidationError

from core.policy.manager import build_manager
from tests.plugins.conftest import TODAY, en, family, nl

NAME = "screening.agreement"


def screen(hook, config=None, kind="supporting", **facts):
    return hook({NAME: config or {}}).koppel_screening(family=family(kind=kind, **facts), today=TODAY)


def test_pass_when_the_agreement_is_signed(hook):
    (finding,) = screen(hook, agreement_signed_on=date(2026, 11, 23))
    assert (finding.rule, finding.result) == (NAME, "pass")
    assert finding.facts == {"agreement_signed_on": "2026-11-23"}
    assert en(finding.explanation) == "The agreement was signed on November 23, 2026."
    assert nl(finding.explanation) == "De overeenkomst is getekend op 23 november 2026."


def test_missing_when_not_signed(hook):
    (finding,) = screen(hook)
    assert finding.result == "missing"
    assert (en(finding.explanation), nl(finding.explanation)) == (
        "No signed agreement is recorded.", "Er is geen getekende overeenkomst vastgelegd.")
    (finding,) = screen(hook, agreement_signed_on=date(2026, 12, 1))
    assert finding.result == "missing"
    assert en(finding.explanation) == "The agreement is recorded as signed on December 1, 2026, which is after today."


def test_which_families_it_applies_to_is_configurable(hook):
    assert screen(hook, kind="requesting") == []
    (finding,) = screen(hook, {"family_kinds": ["requesting"]}, kind="requesting", agreement_signed_on=date(2026, 5, 1))
    assert finding.result == "pass"


@pytest.mark.parametrize("value", [[], ["volunteer"]])
def test_invalid_configuration_names_the_field(value):
    with pytest.raises(ValidationError) as raised:
        build_manager({NAME: {"family_kinds": value}})
    assert "family_kinds" in raised.value.messages
