from datetime import date

import pytest
from marshmallow import ValidationError

from core.policy.manager import build_manager
from tests.plugins.conftest import TODAY, en, family, nl

NAME = "screening.home_visit"


def screen(hook, config=None, kind="supporting", **facts):
    return hook({NAME: config or {}}).koppel_screening(family=family(kind=kind, **facts), today=TODAY)


def test_pass_when_the_home_visit_is_recorded(hook):
    (finding,) = screen(hook, home_visit_on=date(2026, 10, 2))
    assert (finding.rule, finding.result) == (NAME, "pass")
    assert finding.facts == {"home_visit_on": "2026-10-02"}
    assert en(finding.explanation) == "The home visit took place on October 2, 2026."
    assert nl(finding.explanation) == "Het huisbezoek was op 2 oktober 2026."


def test_missing_when_not_recorded_or_planned_after_today(hook):
    (finding,) = screen(hook)
    assert finding.result == "missing" and en(finding.explanation) == "No home visit is recorded."
    (finding,) = screen(hook, home_visit_on=date(2026, 11, 30))
    assert finding.result == "missing"
    assert en(finding.explanation) == "The home visit is recorded on November 30, 2026, which is after today."


def test_which_families_it_applies_to_is_configurable(hook):
    assert screen(hook, kind="requesting") == []
    (finding,) = screen(hook, {"family_kinds": ["requesting", "supporting"]}, kind="requesting")
    assert finding.result == "missing"
    assert screen(hook, {"family_kinds": ["requesting"]}, home_visit_on=date(2026, 1, 1)) == []


@pytest.mark.parametrize("value", [[], ["neighbours"], "supporting"])
def test_invalid_configuration_names_the_field(value):
    with pytest.raises(ValidationError) as raised:
        build_manager({NAME: {"family_kinds": value}})
    assert "family_kinds" in raised.value.messages
