"""How a third party tests its plugin: through the public hook, with plain facts, no database.

``build_manager`` is what Koppel itself uses for a municipality's policy: it
instantiates the plugin with its configuration (validated by the plugin's
schema) and refuses hook methods that match no specification, so these tests
exercise exactly what Koppel will call.
"""
import json
from datetime import date

import pytest
from marshmallow import ValidationError

from core.policy.manager import build_manager, plugin_class
from core.policy.types import FamilyFacts, PersonFacts
from koppel_example_plugin import LargeFamily

TODAY = date(2026, 11, 23)
NAME = "example.large_family"


def family(children: int, adults: int = 1, **facts) -> FamilyFacts:
    members = tuple([PersonFacts("adult", 38)] * adults + [PersonFacts("child", 4 + n) for n in range(children)])
    return FamilyFacts(**{"id": 1, "kind": "requesting", "status": "intake", "members": members, **facts})


def eligibility(config: dict, facts: FamilyFacts) -> list:
    """The findings of the plugin alone, configured with *config*, as Koppel collects them."""
    hook = build_manager({NAME: config}).hook
    return hook.koppel_eligibility(family=facts, today=TODAY)


def test_installed_through_the_entry_point():
    assert plugin_class(NAME) is LargeFamily
    assert LargeFamily.contract_problems() == []


@pytest.mark.parametrize("children, result", [(0, "not_met"), (2, "not_met"), (3, "met"), (5, "met")])
def test_default_is_three_children(children, result):
    (finding,) = eligibility({}, family(children))
    assert (finding.rule, finding.result, finding.effect) == (NAME, result, "include")
    assert finding.facts == {"children": children, "min_children": 3}
    assert finding.explanation
    json.dumps(finding.facts)  # stored with the decision as JSON: plain values only


def test_configured_threshold():
    (finding,) = eligibility({"min_children": 4}, family(3))
    assert finding.result == "not_met"
    assert "at least 4" in finding.explanation
    (finding,) = eligibility({"min_children": 1}, family(1))
    assert finding.result == "met"


def test_no_members_recorded_is_missing_not_zero():
    (finding,) = eligibility({}, family(0, adults=0))
    assert finding.result == "missing"


def test_does_not_apply_to_supporting_families():
    assert eligibility({}, family(4, kind="supporting")) == []


@pytest.mark.parametrize("config", [{"min_children": 0}, {"min_children": "many"}, {"min_children": 3, "extra": 1}])
def test_bad_configuration_is_refused_naming_the_field(config):
    with pytest.raises(ValidationError) as refused:
        build_manager({NAME: config})
    assert set(refused.value.messages) <= {"min_children", "extra"}


def test_default_configuration():
    assert LargeFamily.default_config() == {"min_children": 3}
