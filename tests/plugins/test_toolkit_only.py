"""Plugins use one facade, ``core.plugin_toolkit``, never Koppel's internal modules.

The built-in plugins (``plugins/``, the shared ``plugins/_*.py`` included) and
the example third-party packages may import the standard library, marshmallow,
other third-party libraries and their own helpers; from Koppel only
``core.plugin_toolkit``. Then Koppel's internals can change while the surface
plugins rely on stays the same.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import core.plugin_toolkit as toolkit

ROOT = Path(__file__).resolve().parent.parent.parent
SCANNED = ("plugins", "tests/example_plugin", "tests/faulty_plugin")
ALLOWED = "core.plugin_toolkit"


def sources() -> list[Path]:
    found = [path for folder in SCANNED for path in sorted((ROOT / folder).rglob("*.py"))
             if not any(part.endswith(".egg-info") or part == "build" for part in path.parts)]
    return found


def koppel_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of a ``core`` module in *path*, at any depth (inside functions too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names
                      if alias.name == "core" or alias.name.startswith("core.")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and (
                node.module == "core" or node.module.startswith("core.")):
            found.append((node.lineno, node.module))
    return found


def test_there_is_something_to_scan():
    names = {path.relative_to(ROOT).as_posix() for path in sources()}
    assert "plugins/_funding.py" in names and "plugins/screening_vog.py" in names
    assert "tests/example_plugin/koppel_example_plugin/large_family.py" in names
    assert "tests/example_plugin/tests/test_example_large_family.py" in names


@pytest.mark.parametrize("path", sources(), ids=lambda path: path.relative_to(ROOT).as_posix())
def test_imports_only_the_toolkit_from_koppel(path):
    wrong = [f"line {line}: {module}" for line, module in koppel_imports(path) if module != ALLOWED]
    assert not wrong, (f"{path.relative_to(ROOT)} imports Koppel internals ({'; '.join(wrong)}); "
                       f"import what a plugin needs from {ALLOWED} (add it there if it is missing)")


def test_the_scan_finds_an_internal_import(tmp_path):
    sample = tmp_path / "plugin.py"
    sample.write_text("from core.plugin_toolkit import Plugin\nimport core.policy.types\n"
                      "def f():\n    from core.programme import vocabulary\n", encoding="utf-8")
    assert [module for _, module in koppel_imports(sample)] == ["core.plugin_toolkit", "core.policy.types",
                                                                "core.programme"]


def test_the_toolkit_documents_everything_it_exports():
    assert sorted(toolkit.__all__) == sorted(set(toolkit.__all__))
    for name in toolkit.__all__:
        assert hasattr(toolkit, name), name
        assert name in toolkit.__doc__, f"core.plugin_toolkit exports {name} but its docstring does not mention it"
