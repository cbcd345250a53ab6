from datetime import date

import pytest
from marshmallow import ValidationError

from core.policy.manager import build_manager
from tests.plugins.conftest import TODAY, family

NAME = "screening.training"


def screen(hook, config=None, **facts):
    (finding,) = hook({NAME: config or {}}).koppel_screening(family=family(kind="supporting", **facts), today=TODAY)
    assert finding.rule == NAME and finding.explanation
    return finding


def test_pass_when_training_is_recorded_however_long_ago(hook):
    finding = screen(hook, training_attended_on=date(2019, 5, 4))
    assert finding.result == "pass"
    assert finding.facts == {"training_attended_on": "2019-05-04"}


def test_missing_when_not_recorded_or_after_today(hook):
    assert screen(hook).result == "missing"
    assert screen(hook, training_attended_on=date(2026, 12, 1)).result == "missing"


def test_a_maximum_age_can_make_it_fail(hook):
    finding = screen(hook, {"max_age_months": 24}, training_attended_on=date(2024, 11, 22))
    assert finding.result == "fail"
    assert finding.facts["not_before"] == "2024-11-23" and "2 years" in finding.explanation
    assert screen(hook, {"max_age_months": 24}, training_attended_on=date(2024, 11, 23)).result == "pass"


def test_does_not_apply_to_requesting_families(hook):
    assert hook({NAME: {}}).koppel_screening(family=family(), today=TODAY) == []


@pytest.mark.parametrize("value", [0, 241, "recent"])
def test_invalid_configuration_names_the_field(value):
    with pytest.raises(ValidationError) as raised:
        build_manager({NAME: {"max_age_months": value}})
    assert "max_age_months" in raised.value.messages
