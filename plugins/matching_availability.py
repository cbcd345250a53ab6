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

from core.hookspecs import hookimpl
from core.policy.plugin import Plugin
from core.programme.vocabulary import DAY_PARTS, WEEKDAYS
from plugins._matching import WEEKDAY_NAMES, component, listing, share_phrase, weight_field


def _day_parts(availability: dict) -> list[tuple[str, str]]:
    """(weekday, day part) pairs in calendar order; unknown codes are ignored."""
    return [(day, part) for day in WEEKDAYS for part in DAY_PARTS if part in (availability or {}).get(day, ())]


def _label(pairs) -> str:
    return listing(f"{WEEKDAY_NAMES[day]} {part}" for day, part in pairs)


class AvailabilityOverlap(Plugin):
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
        asked = _day_parts(requesting.availability)
        if not asked and not requesting.weekends and not requesting.overnight:
            return None
        offered = set(_day_parts(supporting.availability))
        covered = [p for p in asked if p in offered]
        missed = [p for p in asked if p not in offered]
        total, met, reasons, veto = len(asked), len(covered), [], False
        if asked:
            reasons.append(share_phrase(covered, missed, "day part", "day parts", _label))
        for flag, what, veto_key in (("weekends", "weekends", "veto_weekends_not_offered"),
                                     ("overnight", "an overnight stay", "veto_overnight_not_offered")):
            if getattr(requesting, flag):
                total += 1
                if getattr(supporting, flag):
                    met += 1
                    reasons.append(f"{what} asked and offered")
                else:
                    reasons.append(f"{what} asked but not offered")
                    if self.config[veto_key]:
                        veto = True
                        reasons[-1] += ", which rules the pair out"
        reason = "; ".join(reasons)
        return component(self, met / total, reason[0].upper() + reason[1:] + ".", veto=veto)
