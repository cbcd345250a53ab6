import pytest
from marshmallow import ValidationError

from core.policy.manager import build_manager
from tests.plugins.conftest import TODAY, en, family

NAME = "eligibility.isolation"


def judge(hook, **facts):
    (finding,) = hook({NAME: {}}).koppel_eligibility(family=family(**facts), today=TODAY)
    assert finding.rule == NAME and finding.effect == "include" and finding.explanation
    return finding


def test_met_when_isolation_is_recorded(hook):
    finding = judge(hook, problem_areas=frozenset({"isolation", "overload"}))
    assert finding.result == "met"
    assert finding.facts == {"problem_areas": ["isolation", "overload"], "counted_areas": ["isolation"]}
    assert en(finding.explanation) == "Recorded problem area: social isolation."


def test_not_met_otherwise(hook):
    finding = judge(hook, problem_areas=frozenset({"newcomer"}))
    assert finding.result == "not_met"
    assert en(finding.explanation) == "Not recorded as a problem area: social isolation."


def test_has_no_settings_and_refuses_unknown_ones():
    with pytest.raises(ValidationError) as raised:
        build_manager({NAME: {"areas": ["isolation"]}})
    assert "areas" in raised.value.messages
