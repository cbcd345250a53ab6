import pytest
from marshmallow import ValidationError

from core.policy.manager import build_manager
from tests.plugins.conftest import TODAY, en, family, nl

NAME = "screening.four_eyes"


def screen(hook, config=None, kind="supporting", **facts):
    return hook({NAME: config or {}}).koppel_screening(family=family(kind=kind, **facts), today=TODAY)


def test_pass_with_two_different_coordinators(hook):
    (finding,) = screen(hook, approvals=(12, 7))
    assert (finding.rule, finding.result) == (NAME, "pass")
    assert finding.facts == {"approved_by": [7, 12], "min_approvals": 2}
    assert en(finding.explanation) == "Approved by 2 different coordinators (the minimum is 2)."
    assert nl(finding.explanation) == "Goedgekeurd door 2 verschillende coördinatoren (het minimum is 2)."


@pytest.mark.parametrize("approvals", [(), (7,), (7, 7)])
def test_missing_with_fewer_different_coordinators(hook, approvals):
    (finding,) = screen(hook, approvals=approvals)
    assert finding.result == "missing"
    assert en(finding.explanation) == f"Approved by {len(set(approvals))} of the 2 different coordinators required."


def test_the_number_and_the_families_are_configurable(hook):
    (finding,) = screen(hook, {"min_approvals": 1}, approvals=(7,))
    assert finding.result == "pass"
    assert en(finding.explanation) == "Approved by 1 coordinator (the minimum is 1)."
    (finding,) = screen(hook, {"min_approvals": 1})
    assert en(finding.explanation) == "Not yet approved; 1 coordinator has to approve."
    (finding,) = screen(hook, {"min_approvals": 3}, approvals=(7, 12))
    assert finding.result == "missing"
    assert screen(hook, kind="requesting", approvals=(7,)) == []
    (finding,) = screen(hook, {"family_kinds": ["requesting"]}, kind="requesting", approvals=(7, 8))
    assert finding.result == "pass"


@pytest.mark.parametrize("config, field", [({"min_approvals": 0}, "min_approvals"),
                                           ({"min_approvals": 6}, "min_approvals"),
                                           ({"family_kinds": ["coordinators"]}, "family_kinds")])
def test_invalid_configuration_names_the_field(config, field):
    with pytest.raises(ValidationError) as raised:
        build_manager({NAME: config})
    assert field in raised.value.messages
