"""Matching on the children's ages: does the supporting family take children of these ages?

The score is the share of the requesting family's children (of known age)
whose age lies within the supporting family's ``capacity_age_min`` to
``capacity_age_max``, both inclusive; a missing bound is open (no minimum or
no maximum). When none of the children fits, the pair is ruled out
(``veto_when_none_fits``).

Missing facts: when the supporting family records neither age bound, or no
child of the requesting family has a known age, the plugin returns None (not
judged). Children of unknown age are left out of the share and counted in the
reason. The reason writes the ages the supporting family takes the same way
in every language: ``4–12``, or ``4+`` without a maximum.
"""
from __future__ import annotations

from marshmallow import Schema, fields

from core.plugin_toolkit import N_, hookimpl
from plugins._common import BuiltinPlugin
from plugins._matching import component, per_requesting_family, weight_field

#: (singular, plural) per outcome: every child fits, none does, some do; without and with children of unknown age.
TEXTS = {
    ("all", False): (N_("The child, aged %(ages)s, fits: the supporting family takes ages %(range)s."),
                     N_("All %(n)s children, aged %(ages)s, fit: the supporting family takes ages %(range)s.")),
    ("none", False): (N_("The child, aged %(ages)s, does not fit: the supporting family takes ages %(range)s."),
                      N_("None of the %(n)s children, aged %(ages)s, fits: the supporting family takes ages "
                         "%(range)s.")),
    ("some", False): (N_("%(n)s of the %(total)s children fits (aged %(inside)s; not %(outside)s): the supporting "
                         "family takes ages %(range)s."),
                      N_("%(n)s of the %(total)s children fit (aged %(inside)s; not %(outside)s): the supporting "
                         "family takes ages %(range)s.")),
    ("all", True): (N_("The child, aged %(ages)s, fits: the supporting family takes ages %(range)s. Children of "
                       "unknown age, not counted: %(unknown)s."),
                    N_("All %(n)s children, aged %(ages)s, fit: the supporting family takes ages %(range)s. "
                       "Children of unknown age, not counted: %(unknown)s.")),
    ("none", True): (N_("The child, aged %(ages)s, does not fit: the supporting family takes ages %(range)s. "
                        "Children of unknown age, not counted: %(unknown)s."),
                     N_("None of the %(n)s children, aged %(ages)s, fits: the supporting family takes ages "
                        "%(range)s. Children of unknown age, not counted: %(unknown)s.")),
    ("some", True): (N_("%(n)s of the %(total)s children fits (aged %(inside)s; not %(outside)s): the supporting "
                        "family takes ages %(range)s. Children of unknown age, not counted: %(unknown)s."),
                     N_("%(n)s of the %(total)s children fit (aged %(inside)s; not %(outside)s): the supporting "
                        "family takes ages %(range)s. Children of unknown age, not counted: %(unknown)s.")),
}


def age_range(low: int | None, high: int | None) -> str:
    """The ages a family takes, written the same in every language: ``4–12``, ``4+`` (no maximum), ``0–12``."""
    return f"{low or 0}–{high}" if high is not None else f"{low}+"


class ChildrenAges(BuiltinPlugin):
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
        ages = self._ages(requesting)
        if (low is None and high is None) or not ages:
            return None
        inside = [a for a in ages if (low is None or a >= low) and (high is None or a <= high)]
        outside = [a for a in ages if a not in inside]
        veto = not inside and self.config["veto_when_none_fits"]
        return component(self, len(inside) / len(ages),
                         lambda: self._reason(requesting, ages, inside, outside, low, high), veto=veto)

    @per_requesting_family
    def _ages(self, family) -> list[int]:
        """The known ages of *family*'s children, youngest first."""
        return sorted(c.age for c in family.children if c.age is not None)

    def _reason(self, requesting, ages: list[int], inside: list[int], outside: list[int], low, high):
        unknown = len(requesting.children) - len(ages)
        outcome = "all" if not outside else "none" if not inside else "some"
        singular, plural = TEXTS[outcome, bool(unknown)]
        n = len(inside) if outcome == "some" else len(ages)
        return self.message(singular, plural=plural, n=n, total=len(ages), ages=ages, inside=inside,
                            outside=outside, range=age_range(low, high), unknown=unknown)
