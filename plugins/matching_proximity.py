"""Matching on proximity: a supporting family close by scores best.

When both families have coordinates, the score follows the great-circle
distance between them: 1 within ``near_km``, falling linearly to 0 at
``far_km``; beyond ``veto_beyond_km`` (when set) the pair is ruled out.
Otherwise the CBS area codes are compared: the same neighbourhood (buurt)
scores 1, the same district (wijk) ``same_district_score``, anything else 0.
A family without a district code but with a neighbourhood code is placed in
the district that code belongs to (``BU02220101`` lies in ``WK022201``).

Missing facts: when the two families have neither coordinates nor area codes
in common to compare, the plugin returns None (the criterion is not judged
and takes no part in the ranking). The veto needs a distance, so it applies
only when both families have coordinates.
"""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.plugin_toolkit import Message, great_circle_km, hookimpl
from plugins._common import BuiltinPlugin
from plugins._matching import component, score_field, weight_field

_NEIGHBOURHOOD = re.compile(r"^BU([0-9]{6})[0-9]{2}$")


def _district(family) -> str | None:
    if family.district_code:
        return family.district_code
    found = _NEIGHBOURHOOD.match(family.neighbourhood_code or "")
    return f"WK{found.group(1)}" if found else None


def _located(family) -> bool:
    return family.latitude is not None and family.longitude is not None


class Proximity(BuiltinPlugin):
    name = "matching.proximity"
    kind = "matching"
    version = "1.0.0"
    title = {"nl": "Nabijheid", "en": "Proximity"}
    description = {
        "nl": "Een steungezin dichtbij past het best: met coördinaten telt de afstand hemelsbreed (volledig binnen "
              "de 'dichtbij'-afstand, aflopend tot nul bij de 'ver'-afstand, eventueel uitgesloten daarbuiten); "
              "anders telt dezelfde buurt volledig en dezelfde wijk gedeeltelijk.",
        "en": "A supporting family close by fits best: with coordinates the great-circle distance counts (full "
              "score within the 'near' distance, falling to zero at the 'far' distance, optionally ruled out "
              "beyond a limit); otherwise the same neighbourhood counts fully and the same district partly.",
    }

    class Config(Schema):
        weight = weight_field(1.0)
        same_district_score = score_field(0.7)
        near_km = fields.Float(load_default=2.0, validate=validate.Range(min=0, max=100))
        far_km = fields.Float(load_default=10.0, validate=validate.Range(min=0, max=200, min_inclusive=False))
        veto_beyond_km = fields.Float(load_default=None, allow_none=True,
                                      validate=validate.Range(min=0, max=200, min_inclusive=False))

        @validates_schema
        def _far_beyond_near(self, data, **kwargs):
            if data["far_km"] <= data["near_km"]:  # a text of this plugin's catalogue, the distance a parameter
                raise ValidationError({"far_km": [Message(
                    "Must be more than the distance counted as close by (%(near_km)s km).",
                    {"near_km": data["near_km"]}, domain=Proximity.name)]})

    @hookimpl
    def koppel_match_score(self, requesting, supporting, today):
        if _located(requesting) and _located(supporting):
            km = great_circle_km(requesting.latitude, requesting.longitude, supporting.latitude, supporting.longitude)
            return self._by_distance(round(km, 3))  # to the metre, so that a boundary is not missed by a rounding error
        if requesting.neighbourhood_code and requesting.neighbourhood_code == supporting.neighbourhood_code:
            return component(self, 1.0, lambda: self.message("Both families live in neighbourhood %(neighbourhood)s.",
                                                             neighbourhood=requesting.neighbourhood_code))
        district_r, district_s = _district(requesting), _district(supporting)
        if district_r and district_s:
            if district_r == district_s:
                return component(self, self.config["same_district_score"], lambda: self.message(
                    "Both families live in district %(district)s, in different neighbourhoods.", district=district_r))
            return component(self, 0.0, lambda: self.message(
                "The families live in different districts (%(requesting)s and %(supporting)s).",
                requesting=district_r, supporting=district_s))
        return None

    def _by_distance(self, km: float):
        near, far, veto_beyond = self.config["near_km"], self.config["far_km"], self.config["veto_beyond_km"]
        score = 1.0 if km <= near else 0.0 if km >= far else (far - km) / (far - near)
        return component(self, score, lambda: self._distance_reason(km, near, far),
                         veto=veto_beyond is not None and km > veto_beyond)

    def _distance_reason(self, km: float, near: float, far: float):
        distances = {"km": round(km, 1), "near": near, "far": far}  # numbers, written by Babel in the reader's locale
        if km <= near:
            return self.message("The families live %(km)s km apart as the crow flies, within %(near)s km.",
                                **distances)
        if km >= far:
            return self.message("The families live %(km)s km apart as the crow flies: %(far)s km or more.",
                                **distances)
        return self.message("The families live %(km)s km apart as the crow flies, between %(near)s and %(far)s km.",
                            **distances)
