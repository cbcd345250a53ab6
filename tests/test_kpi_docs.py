"""Every KPI field has a definition in docs/kpis.md, Dutch and English, and the docs list no field that is gone."""
from __future__ import annotations

import dataclasses
import re
import types
import typing
from pathlib import Path

from core.programme import kpis

DOCS = Path(__file__).resolve().parent.parent / "docs" / "kpis.md"


def _unwrap(hint):
    """The dataclass inside ``X | None`` or ``list[X]``, else the hint itself; and the path suffix."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        if dataclasses.is_dataclass(item):
            return item, "[]"
    return hint, ""


def field_paths(cls, prefix: str = "") -> dict[str, object]:
    """The leaf fields of a result dataclass by path (``waiting.days_waiting_now.median``), with their type."""
    paths = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        inner, suffix = _unwrap(hints[f.name])
        path = f"{prefix}{f.name}{suffix}"
        if dataclasses.is_dataclass(inner):
            paths |= field_paths(inner, f"{path}.")
        else:
            paths[path] = inner
    return paths


def _section(text: str, heading: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == heading)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start + 1:end]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def documented_fields() -> dict[str, tuple[str, str]]:
    """Path -> (Dutch, English) from the table under *Velden / Fields*."""
    rows: dict[str, tuple[str, str]] = {}
    for line in _section(DOCS.read_text(encoding="utf-8"), "## Velden / Fields"):
        match = re.match(r"^\|\s*`([^`]+)`\s*\|", line)
        if not match:
            continue
        cells = _cells(line)
        assert len(cells) == 3, f"docs/kpis.md: a field row has three cells (field, Dutch, English): {line}"
        path = match.group(1)
        assert path not in rows, f"docs/kpis.md defines {path} twice"
        rows[path] = (cells[1], cells[2])
    return rows


def documented_codes() -> dict[str, set[str]]:
    """Field path -> the codes listed for it under *Codes* (a row with an empty field cell continues the last)."""
    codes: dict[str, set[str]] = {}
    current = None
    for line in _section(DOCS.read_text(encoding="utf-8"), "## Codes"):
        if not line.startswith("|") or set(line) <= set("|- "):
            continue
        cells = _cells(line)
        if len(cells) != 4 or not cells[1].startswith("`"):
            continue
        assert cells[2] and cells[3], f"docs/kpis.md: a code needs a Dutch and an English label: {line}"
        current = cells[0].strip("`") or current
        codes.setdefault(current, set()).add(cells[1].strip("`"))
    return codes


def test_every_kpi_field_has_a_dutch_and_an_english_definition():
    fields = field_paths(kpis.Kpis)
    documented = documented_fields()
    missing = sorted(set(fields) - set(documented))
    assert not missing, f"KPI fields without a definition in docs/kpis.md: {missing}"
    gone = sorted(set(documented) - set(fields))
    assert not gone, f"docs/kpis.md defines fields the KPI result no longer has: {gone}"
    for path, (dutch, english) in documented.items():
        assert dutch and english, f"docs/kpis.md: {path} needs a Dutch and an English definition"
        assert dutch != english, f"docs/kpis.md: {path} has the same text in both languages"


def test_every_code_of_a_per_code_field_is_listed():
    empty = kpis.Kpis(municipality_ids=[], period_start="", period_end="", reference_date="")
    per_code = {}
    for path, hint in field_paths(kpis.Kpis).items():
        if typing.get_origin(hint) is not dict:
            continue
        value = empty
        for name in path.split("."):
            value = getattr(value, name)
        # A dict of dicts (registrations.by_referral_source) lists its inner codes; the outer ones are kinds.
        inner = next(iter(value.values()), None)
        per_code[path] = set(inner) if isinstance(inner, dict) else set(value)
    assert per_code, "the walk found no per-code fields"
    documented = documented_codes()
    for path, codes in per_code.items():
        assert documented.get(path, set()) == codes, (
            f"docs/kpis.md lists codes {sorted(documented.get(path, set()))} for {path}, which has {sorted(codes)}")
    assert not set(documented) - set(per_code), f"docs/kpis.md lists codes for {sorted(set(documented) - set(per_code))}"


def test_the_walk_sees_nested_optional_and_listed_dataclasses():
    fields = field_paths(kpis.Kpis)
    assert {"waiting.days_waiting_now.longest", "target.on_track", "districts[].district_code",
            "retention_12_months.ended_early_goals_reached_share", "volunteering.estimated_hours"} <= set(fields)
    assert not any(dataclasses.is_dataclass(t) for t in fields.values())
