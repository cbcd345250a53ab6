"""What the built-in plugins say to people is Dutch first, English too, and never an internal code.

* The catalogue ``plugins/translations/nl/LC_MESSAGES/koppel_plugins.po`` holds
  exactly the message ids in the sources (found with Python's ``ast``: the
  first argument of every ``message(...)`` / ``Message(...)`` call with its
  ``plural=``, every ``N_(...)`` mark, and a tuple of two ``N_`` marks as a
  singular and its plural), each translated, and the compiled ``.mo`` is in
  step with it.
* Every hook of every built-in plugin, called on a set of sample facts, says
  something for each message id in the catalogue; each of those messages has
  its Dutch translation, and renders in Dutch without an internal code
  (``child_adhd_or_disability``, ``adult(s)``, a plugin's name).
* A stored eligibility decision reads in Dutch and in English from the same
  stored findings.
"""
from __future__ import annotations

import ast
import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from core.messages import Label, Labels, Message, explanation, render
from core.policy import decide, funding
from core.policy import manager as plugin_manager
from core.policy.plugin import Plugin
from core.policy.types import (
    Chart,
    FamilyFacts,
    FundingActivity,
    MunicipalityFacts,
    PersonFacts,
    Report,
    Section,
)
from core.programme import vocabulary

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "plugins" / "translations" / "nl" / "LC_MESSAGES"
PO, MO = CATALOGUE / "koppel_plugins.po", CATALOGUE / "koppel_plugins.mo"
#: Where the built-in plugins' texts are written: every plugin module, and the funding statement's headings.
SOURCES = sorted((ROOT / "plugins").glob("*.py")) + [ROOT / "core" / "policy" / "funding.py"]
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s|%%")
TODAY = date(2026, 11, 23)


def builtin_plugins() -> dict[str, type[Plugin]]:
    return {name: cls for name, cls in plugin_manager.installed().items()
            if cls.__module__.split(".")[0] == "plugins"}


# --- the catalogue and the sources ------------------------------------------------------------------------


def _string(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _called(node) -> str | None:
    return node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)


def extracted(path: Path) -> dict:
    """The message ids written in *path*: msgid (a (singular, plural) tuple for a plural) -> line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found, pairs = {}, set()
    for node in ast.walk(tree):  # (N_("one ..."), N_("%(n)s ...")): a singular and its plural
        if isinstance(node, ast.Tuple) and len(node.elts) == 2 and all(
                isinstance(e, ast.Call) and _called(e) == "N_" for e in node.elts):
            found[tuple(_string(e.args[0]) for e in node.elts)] = node.lineno
            pairs.update(id(e) for e in node.elts)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and id(node) not in pairs and _called(node) in ("message", "Message", "N_"):
            text = _string(node.args[0]) if node.args else None
            if text is None:
                continue  # a message id passed on (dated_step's texts): written, and found, where it is marked
            plural = next((_string(k.value) for k in node.keywords if k.arg == "plural"), None)
            found[(text, plural) if plural is not None else text] = node.lineno
    return found


def _key(msgid):
    return tuple(msgid) if isinstance(msgid, (list, tuple)) else msgid


def _forms(string) -> tuple:
    return tuple(string) if isinstance(string, (list, tuple)) else (string,)


def po_messages() -> dict:
    with PO.open("rb") as f:
        catalog = read_po(f)
    assert str(catalog.locale) == "nl" and catalog.num_plurals == 2
    assert not catalog.fuzzy, "the catalogue's header is marked fuzzy"
    return {_key(m.id): m for m in catalog if m.id}


def test_every_text_in_the_sources_is_in_the_catalogue_and_nothing_else():
    in_sources = {}
    for path in SOURCES:
        in_sources.update({msgid: f"{path.relative_to(ROOT)}:{line}" for msgid, line in extracted(path).items()})
    assert len(in_sources) >= 100
    catalogued = po_messages()
    missing = {msgid: where for msgid, where in in_sources.items() if msgid not in catalogued}
    assert not missing, f"not in {PO.relative_to(ROOT)} (add and translate them): {missing}"
    obsolete = sorted(str(msgid) for msgid in set(catalogued) - set(in_sources))
    assert not obsolete, f"no longer in the sources, remove from {PO.name}: {obsolete}"


def test_every_text_has_a_dutch_translation_with_the_same_placeholders():
    for msgid, message in po_messages().items():
        ids, strings = _forms(msgid), _forms(message.string)
        assert len(strings) == len(ids) and all(s and s.strip() for s in strings), f"untranslated: {msgid!r}"
        assert not message.fuzzy, f"fuzzy (needs review): {msgid!r}"
        wanted = {p for text in ids for p in PLACEHOLDER.findall(text)}
        used = {p for text in strings for p in PLACEHOLDER.findall(text)}
        assert used == wanted, f"{msgid!r}: the translation uses {sorted(used)}, the source {sorted(wanted)}"
        for text in strings:  # each form formats with the parameters (a wrong one falls back to English)
            text % {p[2:-2]: "x" for p in wanted if p != "%%"}


def test_the_compiled_catalogue_is_in_step_with_the_po(tmp_path):
    with PO.open("rb") as f:
        catalog = read_po(f)
    with (tmp_path / "compiled.mo").open("wb") as f:
        write_mo(f, catalog)
    with (tmp_path / "compiled.mo").open("rb") as f:
        expected = {_key(m.id): _forms(m.string) for m in read_mo(f) if m.id}
    with MO.open("rb") as f:
        shipped = {_key(m.id): _forms(m.string) for m in read_mo(f) if m.id}
    assert shipped == expected, "koppel_plugins.mo is stale: run `pybabel compile -d plugins/translations " \
                                "-D koppel_plugins`"


def test_every_builtin_plugin_uses_the_shared_catalogue():
    for name, cls in builtin_plugins().items():
        assert Path(cls.translations) == PO.parent.parent.parent, name
        assert cls.translation_domain == "koppel_plugins", name


# --- what the plugins say, on sample facts ----------------------------------------------------------------

ADULT, CHILD = PersonFacts("adult", 38, vog_issued_on=date(2025, 3, 1)), PersonFacts("child", 6)


def _requesting(**facts) -> FamilyFacts:
    return FamilyFacts(**{"id": 1, "kind": "requesting", "status": "intake", "members": (ADULT, CHILD), **facts})


def _supporting(**facts) -> FamilyFacts:
    return FamilyFacts(**{"id": 2, "kind": "supporting", "status": "available", "members": (ADULT,), **facts})


OLD_VOG, NO_VOG = PersonFacts("adult", 50, vog_issued_on=date(2020, 1, 1)), PersonFacts("adult", 45)
REQUESTING = [
    _requesting(),
    _requesting(members=()),
    _requesting(members=(CHILD, CHILD)),
    _requesting(members=(ADULT, ADULT, CHILD)),
    _requesting(members=(ADULT, CHILD, CHILD, CHILD), household_income=1200),
    _requesting(household_income=5000, problem_areas=frozenset({"kopp", "kov", "isolation", "newcomer"})),
    _requesting(problem_areas=frozenset({"child_adhd_or_disability", "single_parent_several_children"}),
                arrival_year=2024),
    _requesting(problem_areas=frozenset({"child_adhd_or_disability"}), members=(ADULT, PersonFacts("child", 15))),
    _requesting(problem_areas=frozenset({"child_adhd_or_disability"}), members=(ADULT, PersonFacts("child", None))),
    _requesting(arrival_year=2010, triage_outcome="fits", consents=frozenset({"processing"})),
    _requesting(arrival_year=2030, triage_outcome="too_heavy_referred", in_professional_care=True),
    _requesting(triage_outcome="too_heavy_referred"),
    _requesting(triage_outcome="fits", in_professional_care=True),
    _requesting(triage_outcome="declined_by_family"),
]
SUPPORTING = [
    _supporting(),
    _supporting(members=(CHILD,)),
    _supporting(members=(OLD_VOG, NO_VOG), references_checked=1, approvals=(3,)),
    _supporting(members=(OLD_VOG,), references_checked=3, approvals=(3, 4), training_attended_on=date(2019, 1, 1),
                home_visit_on=date(2026, 10, 1), agreement_signed_on=date(2026, 10, 2)),
    _supporting(members=(NO_VOG,), training_attended_on=date(2026, 12, 1), home_visit_on=date(2026, 12, 1),
                agreement_signed_on=date(2026, 12, 1)),
    _supporting(training_attended_on=date(2026, 1, 1)),
    _supporting(members=(PersonFacts("adult", 40, vog_issued_on=date(2026, 11, 1)),)),
]
#: Configurations that reach texts the defaults do not.
CONFIGS = {
    "eligibility.child_needs": [{"max_child_age": 12}],
    "eligibility.exclusions": [{"exclude_too_heavy_referred": False}, {"exclude_in_professional_care": False}],
    "eligibility.single_parent": [{"count_problem_area": False}],
    "screening.training": [{"max_age_months": 24}, {"max_age_months": 18}],
    "screening.vog": [{"max_age_years": 1, "max_age_months": 6}, {"max_age_years": 0, "max_age_months": 1}],
    "screening.four_eyes": [{"min_approvals": 1}],
    "screening.references": [{"min_references": 1}],
    "screening.requesting_intake": [{"consent_purposes": []}, {"consent_purposes": ["processing",
                                                                                    "share_with_referrer"]}],
    "matching.language": [{"assume_dutch": False}],
    "report.pdf": [{"language": "en"}],
}


def _pair(requesting: dict, supporting: dict) -> tuple[FamilyFacts, FamilyFacts]:
    return _requesting(**requesting), _supporting(**supporting)


HERE = {"latitude": 52.0, "longitude": 6.0}
PAIRS = [
    _pair({"neighbourhood_code": "BU01970101"}, {"neighbourhood_code": "BU01970101"}),
    _pair({"neighbourhood_code": "BU01970101"}, {"district_code": "WK019701"}),
    _pair({"district_code": "WK019701"}, {"district_code": "WK019702"}),
    _pair(HERE, HERE),
    _pair(HERE, {"latitude": 52.05, "longitude": 6.0}),
    _pair(HERE, {"latitude": 53.0, "longitude": 6.0}),
    _pair({"availability": {"mon": ["morning"], "wed": ["afternoon"]}, "weekends": True, "overnight": True,
           "languages": frozenset({"ar", "nl"}), "support_kinds": frozenset({"day_part_care", "weekend_stay"}),
           "wishes": "Graag rookvrij, met een tuin en geen huisdieren."},
          {"availability": {"mon": ["morning"]}, "weekends": True, "languages": frozenset({"nl"}),
           "support_kinds": frozenset({"day_part_care"}), "capacity_children": 3, "children_placed": 1,
           "capacity_age_min": 4, "capacity_age_max": 12, "preferences": "Rookvrij huis. Wij hebben een hond."}),
    _pair({"availability": {"tue": ["evening"]}, "languages": frozenset({"ti"}),
           "support_kinds": frozenset({"parent_buddy"}), "wishes": "Vegetarisch graag.",
           "members": (ADULT, CHILD, PersonFacts("child", 14), PersonFacts("child", None))},
          {"availability": {"tue": ["evening"]}, "languages": frozenset({"en"}), "capacity_children": 2,
           "children_placed": 1, "capacity_age_min": 10, "support_kinds": frozenset({"parent_buddy"}),
           "preferences": "Vegetarisch."}),
    _pair({"availability": {"fri": ["morning"]}, "members": (ADULT, PersonFacts("child", 15))},
          {"capacity_children": 1, "children_placed": 1, "capacity_age_max": 12, "capacity_age_min": 0,
           "languages": frozenset({"pl"})}),
    _pair({"members": (ADULT, PersonFacts("child", 15), PersonFacts("child", None)), "languages": frozenset({"uk"}),
           "wishes": "Een tuin."},
          {"capacity_children": 4, "capacity_age_max": 12, "preferences": "Geen tuin."}),
    _pair({"members": (ADULT, CHILD, PersonFacts("child", 15), PersonFacts("child", None))},
          {"capacity_age_max": 12, "languages": frozenset({"uk"})}),
    _pair({"languages": frozenset({"nl"})}, {}),
    _pair({"wishes": "Een tuin en huisdieren."}, {"preferences": "Geen huisdieren."}),
    _pair({"members": (ADULT, CHILD, PersonFacts("child", 15)), "support_kinds": frozenset({"practical_help"}),
           "wishes": "Rookvrij en huisdieren."},
          {"capacity_age_min": 0, "capacity_age_max": 12, "preferences": "Rookvrij, geen huisdieren."}),
    _pair({"members": (ADULT, CHILD, PersonFacts("child", None)), "wishes": "Rookvrij en een tuin."},
          {"capacity_age_min": 0, "capacity_age_max": 12, "languages": frozenset({"nl"}), "preferences": "Rookvrij."}),
    _pair({"wishes": "Een tuin."}, {}),
]
ACTIVITY = FundingActivity(
    period_start=date(2025, 7, 1), period_end=date(2026, 6, 30), municipality=MunicipalityFacts(1, "Aalten", 27_000, 3),
    consortium_members=(MunicipalityFacts(1, "Aalten", 27_000, 3), MunicipalityFacts(2, "Winterswijk", 29_000, 1)),
    matches_started=3, active_match_months=Decimal("23.50"), outcomes={"no_further_care": 4, "lighter_support": 3})
FUNDING_CONFIGS = [{}, {"starts_on": "2027-01-01", "horizon_years": 3}, {"starts_on": "2020-01-01", "ends_on": "2024-12-31"},
                   {"avoided_outcomes": ["professional_youth_care"]},  # none of the activity's: nothing avoided
                   {"amount_per_year": "60000", "fee_per_match": "1250", "fee_per_active_month": "150",
                    "funds": [{"name": "Oranje Fonds", "percentage": "25"}], "split": "inhabitants"}]
REPORT = Report("Rapport", (Section("", ("a", "b"), (("x", True), ("y", False))), Section("Leeg", ("a",), ()),
                            Section("Grafiek", ("m", "n"), (("2026-01", 3),), chart=Chart("bar", "m", ("n",)))))


def said(monkeypatch) -> list[Message]:
    """Every message the built-in plugins make on the samples, and the funding statement's headings."""
    made: list[Message] = []
    make, show = Plugin.message, funding.render_message

    def recording(self, text, **kwargs):
        made.append(make(self, text, **kwargs))
        return made[-1]

    def heading(message, language):
        if isinstance(message, Message):
            made.append(message)
        return show(message, language)

    monkeypatch.setattr(Plugin, "message", recording)
    monkeypatch.setattr(funding, "render_message", heading)
    for name, cls in builtin_plugins().items():
        configs = FUNDING_CONFIGS if cls.kind == "funding" else [{}] + CONFIGS.get(name, [])
        for config in configs:
            hook = plugin_manager.build_manager({name: {k: v for k, v in config.items()
                                                        if k in cls.Config().fields}}).hook
            if cls.kind == "eligibility":
                for family in REQUESTING:
                    hook.koppel_eligibility(family=family, today=TODAY)
            elif cls.kind == "screening":
                for family in SUPPORTING + REQUESTING:
                    hook.koppel_screening(family=family, today=TODAY)
            elif cls.kind == "matching":
                for requesting, supporting in PAIRS:
                    for result in hook.koppel_match_score(requesting=requesting, supporting=supporting, today=TODAY):
                        for component in result if isinstance(result, list) else [result]:
                            if callable(component.reason):  # made when shown, as a suggestion does
                                component.reason()
            elif cls.kind == "report_format":
                hook.koppel_render_report(report=REPORT, media_format=cls.media_format)
            elif cls.kind == "funding":
                funding.as_report(hook.koppel_funding_statement(activity=ACTIVITY), "Aalten", "nl")
    return made


@pytest.fixture(scope="module")
def messages():
    monkeypatch = pytest.MonkeyPatch()
    try:
        yield said(monkeypatch)
    finally:
        monkeypatch.undo()


def _msgid(message: Message):
    return (message.text, message.plural) if message.plural is not None else message.text


def test_the_samples_make_every_plugin_say_every_text(messages):
    """So that the checks below see every text: the samples reach each message id of the catalogue (a schema's
    own messages are raised by the bad configurations of tests/test_plugin_schema_messages.py instead)."""
    from tests.test_plugin_schema_messages import schema_msgids

    reached = {_msgid(m) for m in messages} | schema_msgids()
    unreached = sorted(str(msgid) for msgid in set(po_messages()) - reached)
    assert not unreached, f"no sample makes a plugin say: {unreached}"


def test_every_text_a_plugin_says_is_in_its_catalogue_in_dutch(messages):
    catalogued = po_messages()
    for message in messages:
        assert message.domain in builtin_plugins(), message
        assert _msgid(message) in catalogued, f"{message.domain} says {_msgid(message)!r}, which is not catalogued"
        english, dutch = render(message, "en"), render(message, "nl")
        assert dutch and dutch != english, f"{message.domain}: {english!r} is not translated"


#: Codes a person must never read: snake_case (``child_adhd_or_disability``), a plugin's dotted name, "(s)" plurals.
CODE = re.compile(r"\b[a-z]+_[a-z_]+\b|\b[a-z]+\.[a-z_]+\b|\w\(s\)|\(ren\)")
CODES = {code for name in dir(vocabulary) if name.isupper() and isinstance(getattr(vocabulary, name), tuple)
         for code in getattr(vocabulary, name) if isinstance(code, str) and "_" in code}


def test_no_dutch_text_of_a_builtin_plugin_shows_an_internal_code(messages):
    assert len(CODES) > 20
    for message in messages:
        dutch = render(message, "nl")
        assert not CODE.search(dutch), f"{message.domain}: {dutch!r} shows a code"
        assert not [code for code in CODES if code in dutch], f"{message.domain}: {dutch!r} shows a code"
        english = render(message, "en")
        assert not CODE.search(english), f"{message.domain}: {english!r} shows a code"


def test_coded_values_are_parameters_shown_by_their_labels(messages):
    """A problem area, a triage outcome, a moment or a language is a Label, never a code in the text."""
    labelled = [v for m in messages for v in m.params.values() if isinstance(v, (Label, Labels))]
    assert {v.vocabulary for v in labelled} >= {"problem_area", "triage_outcome", "consent_purpose", "availability",
                                                 "support_kind", "language", "household_type"}


def test_amounts_and_dates_are_parameters_written_by_babel(messages):
    """Euros are Decimals and dates are dates in the parameters, so that Babel writes them in the reader's locale."""
    kinds = {type(v) for m in messages for v in m.params.values()}
    assert {Decimal, date} <= kinds
    costs = [m for m in messages if m.text.startswith("New matches")]
    assert costs and all(isinstance(m.params["fee"], Decimal) for m in costs)
    assert "€\u00a01.250,00" in render(costs[-1], "nl") and "€1,250.00" in render(costs[-1], "en")


# --- a stored decision, read in two languages ---------------------------------------------------------------


def test_a_stored_eligibility_decision_reads_in_dutch_and_in_english():
    policy = plugin_manager.build_manager({"eligibility.exclusions": {}, "eligibility.single_parent": {},
                                           "eligibility.no_conditions": {}})
    family = _requesting(members=(ADULT, CHILD, CHILD), triage_outcome="too_heavy_referred")
    found = decide.findings_of("eligibility", plugin_manager.call(policy, "koppel_eligibility", 0, family=family,
                                                                  today=TODAY))
    stored = json.loads(json.dumps(found))  # as the decision keeps them
    assert decide.outcome("eligibility", stored) == "not_eligible"
    by_rule = {finding["rule"]: finding for finding in stored}
    exclusion = by_rule["eligibility.exclusions"]
    assert exclusion["message"]["domain"] == "eligibility.exclusions"
    assert exclusion["explanation"] == explanation(exclusion, "en") == (
        "Excluded: triage found the needs too heavy and referred the family on.")
    assert explanation(exclusion, "nl") == (
        "Uitgesloten: bij de triage bleek de hulpvraag te zwaar en is het gezin doorverwezen.")
    single = by_rule["eligibility.single_parent"]
    assert explanation(single, "en") == "One adult lives with 2 children; the rule needs at least 2."
    assert explanation(single, "nl") == "Eén volwassene woont met 2 kinderen; de regel vraagt er ten minste 2."
    assert explanation(by_rule["eligibility.no_conditions"], "nl") == (
        "Dit programma stelt geen voorwaarden aan vraaggezinnen.")


def test_a_stored_screening_decision_with_dates_reads_in_both_languages():
    policy = plugin_manager.build_manager({"screening.vog": {}, "screening.home_visit": {}})
    family = _supporting(members=(OLD_VOG,), home_visit_on=date(2026, 10, 2))
    stored = json.loads(json.dumps(decide.findings_of("screening", plugin_manager.call(
        policy, "koppel_screening", 0, family=family, today=TODAY))))
    by_rule = {finding["rule"]: finding for finding in stored}
    assert explanation(by_rule["screening.home_visit"], "nl") == "Het huisbezoek was op 2 oktober 2026."
    assert explanation(by_rule["screening.home_visit"], "en") == "The home visit took place on October 2, 2026."
    assert explanation(by_rule["screening.vog"], "nl") == (
        "De VOG van lid 1 is te oud: die is afgegeven vóór 23 november 2023.")

