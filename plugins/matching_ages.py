"""Matching on the children's ages: does the supporting family take children of these ages?

The score is the share of the requesting family's children (of known age)
whose age lies within the supporting family's ``capacity_age_min`` to
``capacity_age_max``, both inclusive; a missing bound is open (no minimum or
no maximum). When none of the children fits, the pair is ruled out
(``veto_when_none_fits``).

Missing facts: when the supporting family records neither age bound, or no
child of the requesting family has a known age, the plugin returns None (not
judged). Children of unknown age are left out of the share and named in the
reason.
"""
from __future__ import annotations

from marshmallow import Schema, fields

from core.hookspecs import hookimpl
from core.policy.plugin import Plugin
from plugins._matching import component, listing, plural, weight_field


def _range(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f"{low} to {high}"
    return f"{low} and older" if low is not None else f"up to {high}"


class ChildrenAges(Plugin):
    name = "matching.ages"
    kind = "matching"
    version = "1.0.0"
    title = {"nl": "Leeftijden van de kinderen", "en": "Children's ages"}
    description = {
        "nl": "Het aandeel kinderen van het vraaggezin met een leeftijd binnen de leeftijden die het steungezin "
              "opvangt; past geen enkel kind, dan is de koppeling uitgesloten.",
        "en": "The share of the requesting family's children whose age lies within the ages the supporting "
              "family takes; when no child fits, the pair is ruled out.",
    }

    class Config(Schema):
        weight = weight_field(1.0)
        veto_when_none_fits = fields.Boolean(load_default=True)

    @hookimpl
    def koppel_match_score(self, requesting, supporting, today):
        low, high = supporting.capacity_age_min, supporting.capacity_age_max
        ages = sorted(c.age for c in requesting.children if c.age is not None)
        if (low is None and high is None) or not ages:
            return None
        inside = [a for a in ages if (low is None or a >= low) and (high is None or a <= high)]
        outside = [a for a in ages if a not in inside]
        takes = f"the supporting family takes children aged {_range(low, high)}"
        if not outside:
            reason = (f"The child (aged {ages[0]}) fits: {takes}." if len(ages) == 1
                      else f"All {len(ages)} children (aged {listing(ages)}) fit: {takes}.")
        elif not inside:
            reason = (f"The child (aged {ages[0]}) does not fit: {takes}." if len(ages) == 1
                      else f"No child fits (aged {listing(ages)}): {takes}.")
        else:
            reason = (f"{len(inside)} of {plural(len(ages), 'child', 'children')} fit "
                      f"(aged {listing(inside)}; not {listing(outside)}): {takes}.")
        veto = not inside and self.config["veto_when_none_fits"]
        if veto:
            reason = reason[:-1] + "; this rules the pair out."
        unknown = len(requesting.children) - len(ages)
        if unknown:
            reason += f" {plural(unknown, 'child', 'children')} of unknown age left out."
        return component(self, len(inside) / len(ages), reason, veto=veto)
