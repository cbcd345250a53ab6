"""Shared pieces of the eligibility plugins (not a plugin itself)."""
from __future__ import annotations

from marshmallow import fields, validate

from core.policy.types import Finding


def finding(plugin, result: str, explanation: str, facts: dict, effect: str = "include") -> Finding:
    return Finding(rule=plugin.name, result=result, explanation=explanation, facts=facts, effect=effect)


def areas_field(allowed: tuple[str, ...]) -> fields.List:
    """A non-empty list of problem area codes out of *allowed*, all of them by default."""
    return fields.List(fields.String(validate=validate.OneOf(allowed)), load_default=lambda: list(allowed),
                       validate=validate.Length(min=1))


def either(codes) -> str:
    codes = list(codes)
    return codes[0] if len(codes) == 1 else ", ".join(codes[:-1]) + " or " + codes[-1]


def problem_area_finding(plugin, family, areas) -> Finding:
    """Met when one of *areas* is among the family's recorded problem areas."""
    counted = sorted(set(areas))
    found = [area for area in counted if area in family.problem_areas]
    facts = {"problem_areas": sorted(family.problem_areas), "counted_areas": counted}
    if found:
        if len(found) == 1:
            return finding(plugin, "met", f"Problem area {found[0]} is recorded.", facts)
        return finding(plugin, "met", f"Problem areas {' and '.join(found)} are recorded.", facts)
    return finding(plugin, "not_met", f"Problem area {either(counted)} is not recorded.", facts)
