import pytest
from marshmallow import ValidationError

from core.policy.manager import build_manager
from tests.plugins.conftest import TODAY, en, family, nl

NAME = "screening.references"


def screen(hook, config=None, **facts):
    (finding,) = hook({NAME: config or {}}).koppel_screening(family=family(kind="supporting", **facts), today=TODAY)
    assert finding.rule == NAME and finding.explanation
    return finding


def test_pass_with_two_references(hook):
    finding = screen(hook, references_checked=2)
    assert finding.result == "pass"
    assert finding.facts == {"references_checked": 2, "min_references": 2}
    assert en(finding.explanation) == "2 references checked (the minimum is 2)."
    assert nl(finding.explanation) == "2 referenties nagetrokken (het minimum is 2)."


@pytest.mark.parametrize("checked", [0, 1])
def test_missing_with_fewer(hook, checked):
    finding = screen(hook, references_checked=checked)
    assert finding.result == "missing"
    assert en(finding.explanation) == f"{checked} of the 2 required references checked."


def test_does_not_apply_to_requesting_families(hook):
    assert hook({NAME: {}}).koppel_screening(family=family(references_checked=5), today=TODAY) == []


def test_the_number_is_configurable(hook):
    finding = screen(hook, {"min_references": 1}, references_checked=1)
    assert finding.result == "pass" and en(finding.explanation) == "1 reference checked (the minimum is 1)."
    finding = screen(hook, {"min_references": 1}, references_checked=0)
    assert finding.result == "missing" and en(finding.explanation) == "No reference checked yet; 1 is required."
    assert screen(hook, {"min_references": 3}, references_checked=2).result == "missing"


@pytest.mark.parametrize("value", [0, 11, "two"])
def test_invalid_configuration_names_the_field(value):
    with pytest.raises(ValidationError) as raised:
        build_manager({NAME: {"min_references": value}})
    assert "min_references" in raised.value.messages
