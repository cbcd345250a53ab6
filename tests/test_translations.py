"""The Dutch catalogue is complete, compiled, and in step with the sources.

The UI is Dutch first: a string that reaches a user untranslated is a bug.
These tests use babel's Python API (what ``pybabel extract`` and ``pybabel
compile`` call), so they need no subprocess and no network.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
BABEL_CFG = ROOT / "babel.cfg"
LC_MESSAGES = ROOT / "core" / "translations" / "nl" / "LC_MESSAGES"
PO = LC_MESSAGES / "messages.po"
MO = LC_MESSAGES / "messages.mo"
#: the keywords of ``pybabel extract -k _l -k lazy_gettext -k Message`` on top of babel's defaults
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "Message": None}
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]")


def _po() -> Catalog:
    with PO.open("rb") as f:
        return read_po(f)


def _translatable(catalog: Catalog):
    return [message for message in catalog if message.id]


def _extracted() -> set[str]:
    """The msgids in the sources, extracted as babel.cfg says."""
    with BABEL_CFG.open() as f:
        method_map, options_map = parse_mapping_cfg(f, str(BABEL_CFG))
    found = set()
    for _filename, _lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        assert context is None, f"message contexts are not used: {message!r}"
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_the_catalogue_is_dutch_and_not_empty():
    catalog = _po()
    assert str(catalog.locale) == "nl"
    assert len(_translatable(catalog)) >= 20


def test_every_message_has_a_dutch_translation():
    catalog = _po()
    untranslated = [m.id for m in _translatable(catalog) if not m.string or not str(m.string).strip()]
    fuzzy = [m.id for m in _translatable(catalog) if m.fuzzy]
    assert not untranslated, f"untranslated: {untranslated}"
    assert not fuzzy, f"fuzzy (needs review): {fuzzy}"
    assert not catalog.fuzzy, "the catalogue header is marked fuzzy"


def test_placeholders_survive_translation():
    for message in _translatable(_po()):
        assert sorted(PLACEHOLDER.findall(message.id)) == sorted(PLACEHOLDER.findall(message.string)), message.id


def test_the_committed_mo_matches_the_po(tmp_path):
    compiled = tmp_path / "messages.mo"
    with compiled.open("wb") as f:
        write_mo(f, _po())
    with compiled.open("rb") as f:
        expected = {m.id: m.string for m in read_mo(f) if m.id}
    with MO.open("rb") as f:
        committed = {m.id: m.string for m in read_mo(f) if m.id}
    assert committed == expected, "messages.mo is stale: run `pybabel compile -d core/translations`"


def test_no_message_in_the_sources_is_missing_from_the_po():
    missing = _extracted() - {m.id for m in _translatable(_po())}
    assert not missing, (
        f"not in messages.po: {sorted(missing)}; run pybabel extract and pybabel update (see the .po header)"
    )


def test_the_po_holds_no_obsolete_messages():
    obsolete = {m.id for m in _translatable(_po())} - _extracted()
    assert not obsolete, f"no longer in the sources, remove from messages.po: {sorted(obsolete)}"


@pytest.mark.parametrize(("lang", "html_lang", "button"), [(None, "nl", "Inloggen"), ("en", "en", "Log in")])
def test_the_app_serves_the_translations(app, lang, html_lang, button):
    client = app.test_client()
    if lang:
        client.post("/language", data={"lang": lang, "next": "/login"})
    page = client.get("/login").get_data(as_text=True)
    assert f'<html lang="{html_lang}">' in page
    assert re.search(rf'<button type="submit"[^>]*>{button}</button>', page)


def test_formatted_values_are_remembered_apart_by_type_and_language():
    from datetime import date
    from decimal import Decimal

    from core.messages import Labels, format_value

    cases = [(True, "True", "True"), (1, "1", "1"), (1.5, "1,5", "1.5"), (22000, "22.000", "22,000"),
             (Decimal("22000"), "€\xa022.000,00", "€22,000.00"), (date(2026, 3, 1), "1 maart 2026", "March 1, 2026"),
             ([3, 7], "3 en 7", "3 and 7"), ((3, 7), "3 en 7", "3 and 7"),
             (Labels("language", ("nl", "uk")), "Nederlands en Oekraïens", "Dutch and Ukrainian")]
    for _ in range(2):  # the second time from what was remembered
        for value, dutch, english in cases:
            assert (format_value(value, "nl"), format_value(value, "en")) == (dutch, english), value
    assert format_value([{"a": 1}], "en") == "{'a': 1}"  # unhashable: formatted afresh
