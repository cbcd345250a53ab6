"""The plugin author's guide (docs/plugins.md) keeps up with the code: every hook, every built-in plugin."""
from __future__ import annotations

import inspect
import re
import tomllib
from pathlib import Path

import pytest

from core import hookspecs
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


@pytest.mark.parametrize("name", builtin_plugins())
def test_every_builtin_plugin_is_in_the_table(name):
    rows = builtin_table()
    assert name in rows, f"the built-in plugin {name} (pyproject.toml entry points) is missing from the table " \
                         "under '## Built-in plugins' in docs/plugins.md"
    kind, description = rows[name]
    assert kind in KINDS, f"{name}: kind {kind!r} in docs/plugins.md is not one of {KINDS}"
    assert description, f"{name} has no description in docs/plugins.md"


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
