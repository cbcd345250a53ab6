from tests.plugins.conftest import TODAY, family


def test_every_family_is_included(hook):
    (finding,) = hook({"eligibility.no_conditions": {}}).koppel_eligibility(family=family(), today=TODAY)
    assert (finding.rule, finding.result, finding.effect) == ("eligibility.no_conditions", "met", "include")
    assert finding.explanation
