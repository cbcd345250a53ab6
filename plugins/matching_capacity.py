"""Matching on capacity: has the supporting family room left for these children?

Room left is the supporting family's ``capacity_children`` minus the
children already placed with it in open matches (``children_placed``). No
room left rules the pair out. Otherwise the score is the share of the
requesting family's children there is room for (1 when all fit); when there
is room for some but not all, ``veto_when_short`` rules the pair out as well.

Missing facts: when the supporting family records no capacity, the plugin
returns None (not judged). When the requesting family records no children,
only the veto on no room left applies; with room left it returns None.
"""
from __future__ import annotations

from marshmallow import Schema, fields

from core.plugin_toolkit import hookimpl
from plugins._common import BuiltinPlugin
from plugins._matching import component, weight_field


class CapacityLeft(BuiltinPlugin):
    name = "matching.capacity"
    kind = "matching"
    version = "1.0.0"
    title = {"nl": "Ruimte over", "en": "Capacity left"}
    description = {
        "nl": "Het aantal kinderen dat het steungezin nog kan opvangen (capaciteit min de kinderen in lopende "
              "koppelingen), tegenover het aantal kinderen van het vraaggezin; geen ruimte meer sluit de "
              "koppeling uit.",
        "en": "How many more children the supporting family can take (its capacity less the children in its "
              "open matches), against the requesting family's number of children; no room left rules the "
              "pair out.",
    }

    class Config(Schema):
        weight = weight_field(1.0)
        veto_when_short = fields.Boolean(load_default=False)

    @hookimpl
    def koppel_match_score(self, requesting, supporting, today):
        capacity = supporting.capacity_children
        if capacity is None:
            return None
        placed = supporting.children_placed
        room = capacity - placed
        if room <= 0:
            return component(self, 0.0, lambda: self.message(
                "No room left: the supporting family takes %(n)s child and already has %(placed)s placed.",
                plural="No room left: the supporting family takes %(n)s children and already has %(placed)s placed.",
                n=capacity, placed=placed), veto=True)
        need = len(requesting.children)
        if not need:
            return None
        if room >= need:
            return component(self, 1.0, lambda: self.message(
                "Room enough: the requesting family has %(n)s child, the supporting family has room for %(room)s "
                "more.",
                plural="Room enough: the requesting family has %(n)s children, the supporting family has room for "
                       "%(room)s more.", n=need, room=room))
        # short of room: the requesting family has at least two children
        return component(self, room / need, lambda: self.message(
            "Room for only %(room)s more: the requesting family has %(n)s children.",
            plural="Room for only %(room)s more: the requesting family has %(n)s children.", n=need, room=room),
            veto=self.config["veto_when_short"])
