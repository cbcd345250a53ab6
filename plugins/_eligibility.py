"""Shared pieces of the eligibility plugins (not a plugin itself)."""
from __future__ import annotations

from marshmallow import fields, validate

from core.plugin_toolkit import Finding, Labels, Message


def finding(plugin, result: str, explanation: Message, facts: dict, effect: str = "include") -> Finding:
    return Finding(rule=plugin.name, result=result, explanation=explanation, facts=facts, effect=effect)


def areas_field(allowed: tuple[str, ...]) -> fields.List:
    """A non-empty list of problem area codes out of *allowed*, all of them by default."""
    return fields.List(fields.String(validate=validate.OneOf(allowed)), load_default=lambda: list(allowed),
                       validate=validate.Length(min=1))


def recorded(plugin, areas) -> Message:
    """"Recorded problem area: ..." naming *areas* by their labels."""
    areas = tuple(areas)
    return plugin.message("Recorded problem area: %(areas)s.", plural="Recorded problem areas: %(areas)s.",
                          n=len(areas), areas=Labels("problem_area", areas))


def not_recorded(plugin, areas) -> Message:
    """"Not recorded as a problem area: ..." naming *areas* by their labels."""
    areas = tuple(areas)
    return plugin.message("Not recorded as a problem area: %(areas)s.",
                          plural="None of these problem areas is recorded: %(areas)s.",
                          n=len(areas), areas=Labels("problem_area", areas))


def problem_area_finding(plugin, family, areas) -> Finding:
    """Met when one of *areas* is among the family's recorded problem areas."""
    counted = sorted(set(areas))
    found = [area for area in counted if area in family.problem_areas]
    facts = {"problem_areas": sorted(family.problem_areas), "counted_areas": counted}
    if found:
        return finding(plugin, "met", recorded(plugin, found), facts)
    return finding(plugin, "not_met", not_recorded(plugin, counted), facts)
