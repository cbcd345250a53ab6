import pytest
from marshmallow import ValidationError

from core.policy.manager import build_manager
from tests.plugins.conftest import TODAY, en, family, nl

NAME = "eligibility.exclusions"


def judge(hook, config=None, **facts):
    (finding,) = hook({NAME: config or {}}).koppel_eligibility(family=family(**facts), today=TODAY)
    assert finding.rule == NAME and finding.effect == "exclude" and finding.explanation
    return finding


def test_met_when_triage_referred_the_family_as_too_heavy(hook):
    finding = judge(hook, triage_outcome="too_heavy_referred")
    assert finding.result == "met"
    assert finding.facts == {"triage_outcome": "too_heavy_referred", "in_professional_care": False}
    assert en(finding.explanation) == "Excluded: triage found the needs too heavy and referred the family on."
    assert nl(finding.explanation) == ("Uitgesloten: bij de triage bleek de hulpvraag te zwaar en is het gezin "
                                       "doorverwezen.")


def test_met_when_in_professional_care(hook):
    finding = judge(hook, triage_outcome="fits", in_professional_care=True)
    assert finding.result == "met"
    assert en(finding.explanation) == "Excluded: the family is in professional care."
    assert nl(finding.explanation) == "Uitgesloten: het gezin krijgt al professionele hulp."
    both = judge(hook, triage_outcome="too_heavy_referred", in_professional_care=True)
    assert en(both.explanation) == ("Excluded: triage found the needs too heavy and referred the family on, and the "
                                    "family is in professional care.")


def test_not_met_when_triage_fits_and_no_professional_care(hook):
    finding = judge(hook, triage_outcome="fits")
    assert finding.result == "not_met"
    assert en(finding.explanation) == ("Not excluded: the family is not in professional care (triage outcome: fits "
                                       "the programme).")


def test_missing_without_a_triage_outcome(hook):
    finding = judge(hook)
    assert finding.result == "missing"
    assert en(finding.explanation) == ("No triage outcome is recorded, so a referral as too heavy cannot be ruled "
                                       "out.")
    assert judge(hook, in_professional_care=True).result == "met"


def test_each_exclusion_can_be_switched_off(hook):
    assert judge(hook, {"exclude_too_heavy_referred": False}, triage_outcome="too_heavy_referred").result == "not_met"
    finding = judge(hook, {"exclude_too_heavy_referred": False})
    assert finding.result == "not_met"
    assert en(finding.explanation) == "Not excluded: the family is not in professional care."
    finding = judge(hook, {"exclude_in_professional_care": False}, triage_outcome="fits", in_professional_care=True)
    assert finding.result == "not_met" and "in_professional_care" not in finding.facts
    assert en(finding.explanation) == "Not excluded (triage outcome: fits the programme)."
    both_off = {"exclude_too_heavy_referred": False, "exclude_in_professional_care": False}
    assert hook({NAME: both_off}).koppel_eligibility(family=family(in_professional_care=True), today=TODAY) == []


@pytest.mark.parametrize("field", ["exclude_too_heavy_referred", "exclude_in_professional_care"])
def test_invalid_configuration_names_the_field(field):
    with pytest.raises(ValidationError) as raised:
        build_manager({NAME: {field: "sometimes"}})
    assert field in raised.value.messages
