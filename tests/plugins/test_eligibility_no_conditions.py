from tests.plugins.conftest import TODAY, en, family, nl


def test_every_family_is_included(hook):
    (finding,) = hook({"eligibility.no_conditions": {}}).koppel_eligibility(family=family(), today=TODAY)
    assert (finding.rule, finding.result, finding.effect) == ("eligibility.no_conditions", "met", "include")
    assert en(finding.explanation) == "This programme sets no conditions for requesting families."
    assert nl(finding.explanation) == "Dit programma stelt geen voorwaarden aan vraaggezinnen."
