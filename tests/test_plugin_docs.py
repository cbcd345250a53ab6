"""The plugin author's guide (docs/plugins.md) keeps up with the code.

In the manner of datasette's ``tests/test_docs.py``: the guide fails these
tests when it misses a hook (a section headed with the hook's signature, as
in ``### `koppel_eligibility(family, today)` ``), a parameter of a hook (named
in that section), a built-in plugin (a row of the table under "Built-in
plugins") or a setting of a built-in plugin (named, ``norms.couple`` for a
nested one, in the plugin's section under "Configuring the built-in
plugins"). The hook specifications themselves are typed.
"""
from __future__ import annotations

import inspect
import re
import tomllib
import typing
from pathlib import Path

import pytest
from marshmallow import fields

from core import hookspecs
from core.policy.manager import plugin_class
from core.policy.plugin import KINDS

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "plugins.md"


def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def hooks() -> list[str]:
    return sorted(name for name, value in vars(hookspecs).items()
                  if name.startswith("koppel_") and inspect.isfunction(value))


def builtin_plugins() -> list[str]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return sorted(tomllib.load(f)["project"]["entry-points"]["koppel.plugins"])


def section(text: str, heading: str) -> str:
    """The body under *heading* (a whole heading line, ``## ...`` or ``### ...``) up to the next heading of the same
    or a higher level; an AssertionError when the guide has no such heading."""
    level = heading.split(" ", 1)[0]
    assert f"\n{heading}\n" in text, f"docs/plugins.md has no heading {heading!r}"
    body = text.split(f"\n{heading}\n", 1)[1]
    ends = [m.start() for m in re.finditer(r"^(#+) ", body, re.M) if len(m.group(1)) <= len(level)]
    return body[:ends[0]] if ends else body


def parameters(hook: str) -> list[str]:
    return list(inspect.signature(getattr(hookspecs, hook)).parameters)


def signature(hook: str) -> str:
    return f"{hook}({', '.join(parameters(hook))})"


def hook_section(hook: str) -> str:
    return section(section(guide(), "## The hooks"), f"### `{signature(hook)}`")


def settings(schema, prefix: str = "") -> list[str]:
    """Every setting of a configuration schema: its field names, and ``outer.inner`` for a nested schema's."""
    names = []
    for name, field in schema.fields.items():
        names.append(prefix + name)
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested):
            names += settings(inner.schema, f"{prefix}{name}.")
    return names


def configuration_section(name: str) -> str:
    return section(section(guide(), "## Configuring the built-in plugins"), f"### `{name}`")


def builtin_table() -> dict[str, tuple[str, str]]:
    """The rows of the table under "## Built-in plugins": plugin name -> (kind, description)."""
    text = guide()
    assert "\n## Built-in plugins\n" in text, "docs/plugins.md has no section '## Built-in plugins'"
    section = text.split("\n## Built-in plugins\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) == 3 and (name := re.fullmatch(r"`([a-z0-9_.]+)`", cells[0])):
            rows[name.group(1)] = (cells[1], cells[2])
    return rows


def test_there_are_hooks_and_builtins_to_check():
    assert len(hooks()) >= 7
    assert len(builtin_plugins()) >= 30


@pytest.mark.parametrize("hook", hooks())
def test_every_hook_is_documented(hook):
    assert re.search(rf"`{hook}`", guide()), f"docs/plugins.md does not mention the hook {hook} (core/hookspecs.py)"


@pytest.mark.parametrize("hook", hooks())
def test_every_hook_has_a_section_headed_by_its_signature(hook):
    assert hook_section(hook).strip(), f"the section of {hook} in docs/plugins.md is empty"


@pytest.mark.parametrize("hook, parameter", [(hook, parameter) for hook in hooks() for parameter in parameters(hook)])
def test_every_parameter_of_a_hook_is_documented(hook, parameter):
    assert f"`{parameter}`" in hook_section(hook), \
        f"the section of {hook} in docs/plugins.md does not describe its parameter `{parameter}`"


@pytest.mark.parametrize("hook", hooks())
def test_the_hook_specifications_are_typed(hook):
    spec = getattr(hookspecs, hook)
    hints = typing.get_type_hints(spec, globalns={**vars(hookspecs), **_types()})
    assert set(hints) == {*parameters(hook), "return"}, f"{hook}: annotate every parameter and the result"


def _types() -> dict:
    import core.policy.types as types

    return vars(types)


@pytest.mark.parametrize("name", builtin_plugins())
def test_every_builtin_plugin_is_in_the_table(name):
    rows = builtin_table()
    assert name in rows, f"the built-in plugin {name} (pyproject.toml entry points) is missing from the table " \
                         "under '## Built-in plugins' in docs/plugins.md"
    kind, description = rows[name]
    assert kind in KINDS, f"{name}: kind {kind!r} in docs/plugins.md is not one of {KINDS}"
    assert description, f"{name} has no description in docs/plugins.md"


@pytest.mark.parametrize("name, setting", [(name, setting) for name in builtin_plugins()
                                           for setting in settings(plugin_class(name).Config())])
def test_every_setting_of_a_builtin_plugin_is_documented(name, setting):
    assert f"`{setting}`" in configuration_section(name), \
        f"docs/plugins.md does not describe the setting `{setting}` of {name} (its Config schema)"


@pytest.mark.parametrize("name", builtin_plugins())
def test_every_builtin_plugin_has_a_configuration_section(name):
    assert configuration_section(name).strip()


def test_the_table_names_no_plugin_that_is_not_built_in():
    assert sorted(set(builtin_table()) - set(builtin_plugins())) == []


def test_every_kind_is_documented():
    for kind in KINDS:
        assert f"`{kind}`" in guide(), f"docs/plugins.md does not mention the kind {kind}"


def test_the_table_gives_each_plugin_its_declared_kind():
    from core.policy.manager import plugin_class

    wrong = {name: (kind, plugin_class(name).kind) for name, (kind, _) in builtin_table().items()
             if plugin_class(name).kind != kind}
    assert wrong == {}, f"docs/plugins.md gives these plugins another kind than they declare: {wrong}"
