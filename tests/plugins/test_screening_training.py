from datetime import date

import pytest
from marshmallow import ValidationError

from core.policy.manager import build_manager
from tests.plugins.conftest import TODAY, en, family, nl

NAME = "screening.training"


def screen(hook, config=None, **facts):
    (finding,) = hook({NAME: config or {}}).koppel_screening(family=family(kind="supporting", **facts), today=TODAY)
    assert finding.rule == NAME and finding.explanation
    return finding


def test_pass_when_training_is_recorded_however_long_ago(hook):
    finding = screen(hook, training_attended_on=date(2019, 5, 4))
    assert finding.result == "pass"
    assert finding.facts == {"training_attended_on": "2019-05-04"}
    assert en(finding.explanation) == "The training was attended on May 4, 2019."


def test_missing_when_not_recorded_or_after_today(hook):
    finding = screen(hook)
    assert finding.result == "missing" and en(finding.explanation) == "No training is recorded."
    finding = screen(hook, training_attended_on=date(2026, 12, 1))
    assert finding.result == "missing"
    assert en(finding.explanation) == "The training is recorded on December 1, 2026, which is after today."


def test_a_maximum_age_can_make_it_fail(hook):
    finding = screen(hook, {"max_age_months": 24}, training_attended_on=date(2024, 11, 22))
    assert finding.result == "fail"
    assert finding.facts["not_before"] == "2024-11-23"
    assert en(finding.explanation) == "The training on November 22, 2024 is more than 2 years ago."
    assert nl(finding.explanation) == "De training van 22 november 2024 is meer dan 2 jaar geleden."
    finding = screen(hook, {"max_age_months": 18}, training_attended_on=date(2025, 5, 1))
    assert finding.result == "fail"
    assert en(finding.explanation) == "The training on May 1, 2025 is more than 18 months ago."
    assert nl(finding.explanation) == "De training van 1 mei 2025 is meer dan 18 maanden geleden."
    assert screen(hook, {"max_age_months": 24}, training_attended_on=date(2024, 11, 23)).result == "pass"


def test_does_not_apply_to_requesting_families(hook):
    assert hook({NAME: {}}).koppel_screening(family=family(), today=TODAY) == []


@pytest.mark.parametrize("value", [0, 241, "recent"])
def test_invalid_configuration_names_the_field(value):
    with pytest.raises(ValidationError) as raised:
        build_manager({NAME: {"max_age_months": value}})
    assert "max_age_months" in raised.value.messages
