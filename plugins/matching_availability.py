"""Matching on availability: does the supporting family offer the moments the requesting family asks for?

What is asked is every day part per weekday in the requesting family's
``availability`` (``{"mon": ["morning", "afternoon"], ...}``), plus a
weekend when it asks for weekends and an overnight stay when it asks for
that. The score is the share of those asked items that the supporting family
offers (its own ``availability``, ``weekends`` and ``overnight``). An
overnight stay asked but not offered rules the pair out
(``veto_overnight_not_offered``); a weekend asked but not offered does so only
when ``veto_weekends_not_offered`` is set.

Missing facts: when the requesting family asks for nothing (no day parts, no
weekends, no overnight stay), the plugin returns None (not judged). A
supporting family that records no availability offers nothing, and scores 0
on the day parts it is asked for.
"""
from __future__ import annotations

from marshmallow import Schema, fields

from core.plugin_toolkit import DAY_PARTS, WEEKDAYS, Labels, hookimpl
from plugins._common import BuiltinPlugin
from plugins._matching import component, per_requesting_family, weight_field


def _asked(family) -> list[str]:
    """The moments of *family* as codes of the ``availability`` labels, in calendar order: ``wed_afternoon``,
    then ``weekends`` and ``overnight`` when it wants those; unknown codes are ignored."""
    availability = family.availability or {}
    moments = [f"{day}_{part}" for day in WEEKDAYS for part in DAY_PARTS if part in availability.get(day, ())]
    return moments + [flag for flag in ("weekends", "overnight") if getattr(family, flag)]


def _offered(family) -> set[str]:
    """The moments *family* offers, as :func:`_asked` writes them (unknown codes too: nobody asks for those)."""
    moments = {f"{day}_{part}" for day, parts in (family.availability or {}).items() for part in parts}
    moments.update(flag for flag in ("weekends", "overnight") if getattr(family, flag))
    return moments


class AvailabilityOverlap(BuiltinPlugin):
    name = "matching.availability"
    kind = "matching"
    version = "1.0.0"
    title = {"nl": "Beschikbaarheid", "en": "Availability"}
    description = {
        "nl": "Het aandeel van de gevraagde dagdelen per weekdag (en weekenden en logeren, als daarom gevraagd "
              "wordt) dat het steungezin aanbiedt. Logeren gevraagd maar niet aangeboden sluit de koppeling uit.",
        "en": "The share of the asked day parts per weekday (and weekends and overnight stays, when asked) that "
              "the supporting family offers. An overnight stay asked but not offered rules the pair out.",
    }

    class Config(Schema):
        weight = weight_field(1.0)
        veto_overnight_not_offered = fields.Boolean(load_default=True)
        veto_weekends_not_offered = fields.Boolean(load_default=False)

    @hookimpl
    def koppel_match_score(self, requesting, supporting, today):
        asked = self._asked(requesting)
        if not asked:
            return None
        offered = _offered(supporting)
        covered = [m for m in asked if m in offered]
        if len(covered) == len(asked):
            return component(self, 1.0, lambda: self._reason(asked, covered, []))
        missed = [m for m in asked if m not in offered]
        veto = any(flag in missed and self.config[f"veto_{flag}_not_offered"] for flag in ("weekends", "overnight"))
        return component(self, len(covered) / len(asked), lambda: self._reason(asked, covered, missed), veto=veto)

    @per_requesting_family
    def _asked(self, family) -> list[str]:
        return _asked(family)

    def _reason(self, asked: list[str], covered: list[str], missed: list[str]):
        moments = {"offered": Labels("availability", tuple(covered)), "missed": Labels("availability", tuple(missed))}
        if not missed:
            return self.message("Offers the moment asked for: %(offered)s.",
                                plural="Offers all %(n)s moments asked for: %(offered)s.", n=len(asked), **moments)
        if not covered:
            return self.message("Does not offer the moment asked for: %(missed)s.",
                                plural="Offers none of the %(n)s moments asked for: %(missed)s.", n=len(asked),
                                **moments)
        return self.message("Offers %(n)s of the %(total)s moments asked for: %(offered)s; not %(missed)s.",
                            plural="Offers %(n)s of the %(total)s moments asked for: %(offered)s; not %(missed)s.",
                            n=len(covered), total=len(asked), **moments)
