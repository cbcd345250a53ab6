import pytest
from marshmallow import ValidationError

from core.policy.manager import build_manager
from tests.plugins.conftest import TODAY, en, family

NAME = "screening.requesting_intake"
PROCESSING = frozenset({"processing"})


def screen(hook, config=None, **facts):
    (finding,) = hook({NAME: config or {}}).koppel_screening(family=family(**facts), today=TODAY)
    assert finding.rule == NAME and finding.explanation
    return finding


def test_pass_when_triage_fits_and_consent_is_recorded(hook):
    finding = screen(hook, triage_outcome="fits", consents=PROCESSING)
    assert finding.result == "pass"
    assert finding.facts == {"triage_outcome": "fits", "consents": ["processing"], "required_consents": ["processing"]}
    assert en(finding.explanation) == ("The triage outcome is 'fits the programme' and consent is recorded for: "
                                       "processing of the family's data.")


@pytest.mark.parametrize("outcome, label", [("too_heavy_referred", "too heavy, referred"),
                                            ("declined_by_family", "declined by the family")])
def test_fail_when_triage_did_not_fit(hook, outcome, label):
    finding = screen(hook, triage_outcome=outcome, consents=PROCESSING)
    assert finding.result == "fail"
    assert en(finding.explanation) == f"The triage outcome is '{label}', not 'fits the programme'."


def test_missing_without_triage_or_consent(hook):
    finding = screen(hook)
    assert finding.result == "missing"
    assert en(finding.explanation) == ("No triage outcome is recorded, and no consent for: processing of the "
                                       "family's data.")
    finding = screen(hook, triage_outcome="fits", consents=frozenset({"evaluation_contact"}))
    assert finding.result == "missing"
    assert en(finding.explanation) == "No consent is recorded for: processing of the family's data."
    finding = screen(hook, consents=PROCESSING)
    assert finding.result == "missing" and en(finding.explanation) == "No triage outcome is recorded."


def test_does_not_apply_to_supporting_families(hook):
    assert hook({NAME: {}}).koppel_screening(family=family(kind="supporting"), today=TODAY) == []


def test_the_required_consents_are_configurable(hook):
    both = {"consent_purposes": ["processing", "share_with_referrer"]}
    finding = screen(hook, both, triage_outcome="fits", consents=PROCESSING)
    assert finding.result == "missing"
    assert en(finding.explanation) == "No consent is recorded for: sharing with the referrer."
    finding = screen(hook, {"consent_purposes": []}, triage_outcome="fits")
    assert finding.result == "pass" and en(finding.explanation) == "The triage outcome is 'fits the programme'."


def test_invalid_configuration_names_the_field():
    with pytest.raises(ValidationError) as raised:
        build_manager({NAME: {"consent_purposes": ["marketing"]}})
    assert "consent_purposes" in raised.value.messages
