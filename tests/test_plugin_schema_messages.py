"""Every message a built-in plugin's configuration schema gives reads in the reader's language.

The policy page (core/web/policy.py, core/web/schema_forms.py) shows what is wrong with a plugin's settings
next to the setting, in the reader's language: marshmallow's own messages through Koppel's catalogue, a
plugin's own through the plugin's catalogue (``plugins/translations/nl/LC_MESSAGES/koppel_plugins.po``).

* In the sources: every text a built-in plugin's schema raises itself (``ValidationError(...)``, a
  validator's ``error=``) is a fixed text marked for translation (``N_("...")``) or a ``Message`` with its
  parameters beside it, never an f-string or a text glued together; each has a Dutch translation.
* Loading known-bad configurations raises every one of those texts (so the texts found in the sources are
  the ones a reader can get), and every message that a bad configuration of a built-in plugin gives,
  marshmallow's own included, reads in Dutch.
* The proximity plugin's "more than the near distance" message carries the distance as a parameter and
  reads in Dutch and in English with the number written the reader's way, on the policy page too.
"""
from __future__ import annotations

import ast
import html
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from marshmallow import ValidationError

from core.auth import roles as R
from core.messages import Message, render
from core.policy import manager
from core.web import schema_forms as sf

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "plugins" / "translations" / "nl" / "LC_MESSAGES" / "koppel_plugins.po"
SOURCES = sorted((ROOT / "plugins").glob("*.py"))
PROXIMITY = "matching.proximity"


def builtin_plugins() -> dict:
    return {name: cls for name, cls in manager.installed().items() if cls.__module__.split(".")[0] == "plugins"}


def catalogue() -> dict:
    with PO.open("rb") as f:
        return {m.id: m for m in read_po(f) if m.id}


# --- the texts in the sources ------------------------------------------------------------------------------

def _called(node) -> str | None:
    return node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)


def _texts(node, where: str) -> list[str]:
    """The message ids in what a schema raises: ``N_("...")``, ``Message("...", ...)``, or a dict/list of them."""
    if isinstance(node, ast.Call) and _called(node) in ("N_", "Message") and node.args \
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
        return [node.args[0].value]
    if isinstance(node, ast.Dict):
        return [text for value in node.values for text in _texts(value, where)]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [text for item in node.elts for text in _texts(item, where)]
    kind = "an f-string" if isinstance(node, ast.JoinedStr) else (
        "a text not marked N_(...)" if isinstance(node, ast.Constant) else ast.dump(node)[:60])
    raise AssertionError(f"{where}: a schema message is {kind}; write a fixed text marked N_(\"...\") or a "
                         f"Message(\"...%(name)s...\", {{name: value}}, domain=<the plugin's name>)")


def schema_texts_in_sources() -> dict[str, str]:
    """msgid -> file:line of every text a built-in plugin's schema raises itself."""
    found = {}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            raised = []
            if _called(node) == "ValidationError":
                raised = node.args[:1] + [k.value for k in node.keywords if k.arg == "message"]
            raised += [k.value for k in node.keywords if k.arg == "error"]  # a validator's own message
            for argument in raised:
                if any(isinstance(inner, ast.JoinedStr) for inner in ast.walk(argument)):
                    raise AssertionError(f"{where}: a schema message is built with an f-string")
                found.update(dict.fromkeys(_texts(argument, where), where))
    return found


def test_schema_texts_are_fixed_texts_marked_for_translation():
    found = schema_texts_in_sources()
    assert len(found) >= 18, found
    assert "A VOG must stay valid for at least one month." in found
    assert not [text for text in found if "{" in text], "a text formatted by marshmallow cannot be translated"


def test_every_schema_text_has_a_dutch_translation():
    catalogued = catalogue()
    for text, where in schema_texts_in_sources().items():
        assert text in catalogued, f"{where}: {text!r} is not in {PO.name}"
        message = catalogued[text]
        assert message.string and message.string.strip() and not message.fuzzy, f"{where}: {text!r} untranslated"
        assert message.string != text, f"{where}: {text!r} is 'translated' as itself"


# --- what bad configurations give -------------------------------------------------------------------------

#: Configurations that make each plugin's schema raise its own texts (besides marshmallow's).
SOURCE = {"title": "Monitor", "publisher": "CBS", "year": 2024, "kind": "primary"}
BAD = {
    "funding.lump_sum": [
        {"funds": [{"name": "A"}]},
        {"funds": [{"name": "A", "percentage": "10", "amount": "100"}]},
        {"funds": [{"name": "A", "percentage": "10"}, {"name": "A", "percentage": "20"}]},
        {"funds": [{"name": "A", "percentage": "60"}, {"name": "B", "percentage": "50"}]},
        {"placement_share": "0.04"},
        {"placement_share": "0.30"},
        {"placement_share_source": ""},
        {"placement_share_source": 12},
        {"placement_share_source": {**SOURCE, "year": 1800}},
        {"placement_share_source": {"title": "Monitor"}},
        {"starts_on": "2026-07-01", "ends_on": "2026-06-30"},
    ],
    "funding.per_match": [{"funds": [{"name": "A"}]}, {"care_cost_source": "x" * 1001}],
    "match_terms.standard": [{"duration_months_default": 13}, {"duration_months_min": 6, "duration_months_default": 3},
                             {"hours_per_session_default": 9}],
    "matching.proximity": [{"near_km": 5, "far_km": 5}, {"near_km": 2.5, "far_km": 2}, {"veto_beyond_km": 0}],
    "matching.wishes": [{"terms": [["  "]]}, {"negations": [""]}, {"terms": [[]]}],
    "outcome.satisfaction": [{"extra_questions": ["support_again", "support_again"]}],
    "outcome.wellbeing": [{"scales": ["parenting", "parenting"]}, {"scales": []}],
    "report.csv": [{"delimiter": '"'}, {"delimiter": "\n"}, {"delimiter": ";;"}, {"decimal_separator": ";"},
                   {"delimiter": ",", "decimal_separator": ","},
                   {"dialect": "international", "decimal_separator": ","}],
    "report.xlsx": [{"header_fill": "blue"}],
    "screening.vog": [{"max_age_years": 0, "max_age_months": 0}],
    "eligibility.poverty": [{"norms": {"couple": 0, "valid_from": "morgen"}}, {"norms": "veel"}],
}
#: Values of the wrong kind or out of range, tried on every setting of every built-in plugin.
WRONG = ["x", "", -10**9, 10**12, 0.5, [], ["x"], [[""]], {}, {"a": 1}, None, True, [{"name": "a"}], "2020-13-45",
         float("nan")]


def _flat(messages):
    if isinstance(messages, dict):
        for value in messages.values():
            yield from _flat(value)
    elif isinstance(messages, (list, tuple)):
        for value in messages:
            yield from _flat(value)
    else:
        yield messages


def raised(cls, config: dict) -> list:
    """The messages the schema of *cls* gives on *config* (strings and Messages, nested ones flattened)."""
    try:
        cls.load_config(config)
    except ValidationError as error:
        return list(_flat(error.messages))
    return []


def _msgid(message) -> str:
    return message.text if isinstance(message, Message) else str(message)


def schema_msgids() -> set[str]:
    """The plugins' own schema texts that the bad configurations raise (for tests/test_plugin_messages.py: they
    are in the catalogue without a hook saying them)."""
    plugins = builtin_plugins()
    own = set(catalogue())
    return {_msgid(m) for name, configs in BAD.items() for config in configs for m in raised(plugins[name], config)
            if _msgid(m) in own}


def every_message() -> list[tuple[str, object]]:
    """(plugin, message) of everything the bad configurations and the wrong values give."""
    out = []
    for name, cls in builtin_plugins().items():
        configs = BAD.get(name, []) + [{field: value} for field in cls.Config().fields for value in WRONG]
        configs.append({"no_such_setting": 1})
        for config in configs:
            out.extend((name, message) for message in raised(cls, config))
    return out


@pytest.fixture(scope="module")
def messages():
    return every_message()


def test_the_bad_configurations_raise_every_text_of_the_sources(messages):
    plugins = builtin_plugins()
    for name in BAD:
        assert name in plugins, name
        for config in BAD[name]:
            assert raised(plugins[name], config), f"{name} accepts {config}"
    in_sources = schema_texts_in_sources()
    reached = {_msgid(message) for _name, message in messages}
    unreached = {text: where for text, where in in_sources.items() if text not in reached}
    assert not unreached, f"no bad configuration raises: {unreached}"
    assert schema_msgids() == set(in_sources)


def test_every_message_a_schema_gives_reads_in_dutch(messages):
    assert len(messages) > 300
    own = catalogue()
    for name, message in messages:
        dutch, english = sf.translate(message, name, "nl"), sf.translate(message, name, "en")
        assert dutch and dutch != english, f"{name}: {english!r} has no Dutch translation"
        if isinstance(message, Message):  # a plugin's own message with parameters: from its own catalogue
            assert message.domain == name and message.text in own, message
        elif message in own:  # a plugin's own fixed text, found in its catalogue by the plugin's name
            assert dutch == own[message].string


def test_no_english_is_left_in_a_dutch_message(messages):
    for name, message in messages:
        dutch = sf.translate(message, name, "nl")
        assert not re.search(r"\b(or equal|greater|less than|must|give|the)\b", dutch, re.I), f"{name}: {dutch!r}"


# --- the proximity plugin's distance, a parameter ------------------------------------------------------------

def test_the_proximity_message_has_the_distance_as_a_parameter_and_reads_in_dutch():
    cls = builtin_plugins()[PROXIMITY]
    with pytest.raises(ValidationError) as error:
        cls.load_config({"near_km": 2.5, "far_km": 2})
    (message,) = error.value.messages["far_km"]  # still at the far distance, as before
    assert isinstance(message, Message) and message.domain == PROXIMITY and message.params == {"near_km": 2.5}
    assert render(message, "nl") == "Moet groter zijn dan de afstand die als dichtbij telt (2,5 km)."
    assert render(message, "en") == "Must be more than the distance counted as close by (2.5 km)."
    assert str(message) == render(message, "en")  # what a log line or the command line shows
    (whole,) = raised(cls, {"near_km": 10, "far_km": 10})
    assert render(whole, "nl") == "Moet groter zijn dan de afstand die als dichtbij telt (10 km)."
    assert cls.load_config({"near_km": 2.5, "far_km": 2.6})["far_km"] == 2.6  # the rule itself is unchanged


# --- on the policy page ----------------------------------------------------------------------------------

def _field_error(page: str, control_id: str) -> str:
    found = re.search(rf'<div class="utrecht-form-field-error-message" id="{control_id}-error">(.*?)</div>', page, re.S)
    return html.unescape(found.group(1)) if found else ""


def _post(client, name: str, settings: dict):
    data = {"enabled": [name], f"config.{name}.__present": "1",
            **{f"config.{name}.{key}": value for key, value in settings.items()}}
    return client.post("/aalten/admin/policy/preview", data=data)


@pytest.mark.parametrize(("language", "expected"), [
    ("nl", "Moet groter zijn dan de afstand die als dichtbij telt (2,5 km)."),
    ("en", "Must be more than the distance counted as close by (2.5 km)."),
])
def test_the_policy_page_shows_the_proximity_message_with_its_number(client, world, language, expected):
    world.login(client, world.users[R.TENANT_ADMIN])
    if language != "nl":
        client.post("/language", data={"lang": language, "next": "/aalten/admin/policy"})
    response = _post(client, PROXIMITY, {"near_km": "2,5" if language == "nl" else "2.5", "far_km": "2"})
    assert response.status_code == 422
    assert _field_error(response.get_data(as_text=True), "cfg-config-matching-proximity-far_km") == expected


def test_the_policy_page_shows_a_plugins_fixed_text_in_dutch(client, world):
    world.login(client, world.users[R.TENANT_ADMIN])
    response = _post(client, "screening.vog", {"max_age_years": "0", "max_age_months": "0"})
    assert response.status_code == 422
    assert _field_error(response.get_data(as_text=True), "cfg-config-screening-vog-max_age_months") == (
        "Een VOG moet minstens één maand geldig blijven.")
