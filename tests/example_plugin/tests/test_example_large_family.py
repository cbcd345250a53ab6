"""How a third party tests its plugin: through the public hook, with plain facts, no database.

``build_manager`` is what Koppel itself uses for a municipality's policy: it
instantiates the plugin with its configuration (validated by the plugin's
schema) and refuses hook methods that match no specification, so these tests
exercise exactly what Koppel will call. ``render`` shows a message as a
reader of that language sees it, from the catalogue the package ships.
Everything comes from ``core.plugin_toolkit``, the one module a plugin uses.
"""
import json
from datetime import date
from importlib.resources import files

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from marshmallow import ValidationError

from core.plugin_toolkit import FamilyFacts, PersonFacts, build_manager, plugin_class, render
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
    assert render(finding.explanation, "en") and render(finding.explanation, "nl")
    json.dumps(finding.facts)  # stored with the decision as JSON: plain values only


def test_configured_threshold():
    (finding,) = eligibility({"min_children": 4}, family(3))
    assert finding.result == "not_met"
    assert render(finding.explanation, "en") == "3 children are recorded, fewer than the minimum of 4."
    (finding,) = eligibility({"min_children": 1}, family(1))
    assert finding.result == "met"


def test_no_members_recorded_is_missing_not_zero():
    (finding,) = eligibility({}, family(0, adults=0))
    assert finding.result == "missing"
    assert render(finding.explanation, "nl") == ("Er zijn geen gezinsleden vastgelegd, dus het aantal kinderen is "
                                                 "onbekend.")


@pytest.mark.parametrize("children, english, dutch", [
    (3, "3 children are recorded, which is enough (the minimum is 3).",
     "Er zijn 3 kinderen vastgelegd; dat is genoeg (het minimum is 3)."),
    (1, "1 child is recorded, fewer than the minimum of 3.", "Er is 1 kind vastgelegd, minder dan het minimum van 3."),
    (0, "0 children are recorded, fewer than the minimum of 3.",
     "Er zijn 0 kinderen vastgelegd, minder dan het minimum van 3."),
])
def test_explained_in_english_and_in_dutch(children, english, dutch):
    (finding,) = eligibility({}, family(children))
    assert render(finding.explanation, "en") == english
    assert render(finding.explanation, "nl") == dutch


def test_does_not_apply_to_supporting_families():
    assert eligibility({}, family(4, kind="supporting")) == []


@pytest.mark.parametrize("config", [{"min_children": 0}, {"min_children": "many"}, {"min_children": 3, "extra": 1}])
def test_bad_configuration_is_refused_naming_the_field(config):
    with pytest.raises(ValidationError) as refused:
        build_manager({NAME: config})
    assert set(refused.value.messages) <= {"min_children", "extra"}


def test_default_configuration():
    assert LargeFamily.default_config() == {"min_children": 3}


def test_the_dutch_catalogue_is_complete_compiled_and_installed_with_the_package():
    def texts(catalog) -> dict:
        """msgid (a tuple for a plural) -> the translations (a tuple of the plural forms)."""
        def plain(value):
            return tuple(value) if isinstance(value, (list, tuple)) else (value,)
        return {plain(m.id): plain(m.string) for m in catalog if m.id}

    catalogues = files("koppel_example_plugin") / "translations" / "nl" / "LC_MESSAGES"
    with (catalogues / "messages.po").open("rb") as f:
        po = texts(read_po(f))
    with (catalogues / "messages.mo").open("rb") as f:
        mo = texts(read_mo(f))
    assert po == mo  # the .mo that Koppel reads is in step with the .po
    assert [msgid for msgid, strings in po.items() if not all(strings)] == []  # every text translated
