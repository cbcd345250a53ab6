"""Eligibility: a single parent with several children.

Met when the household has one adult and at least ``min_children`` children
(from the recorded members), or when the problem area
``single_parent_several_children`` is recorded (unless ``count_problem_area`` is off).
"""
from marshmallow import Schema, fields, validate

from core.plugin_toolkit import hookimpl
from plugins._common import BuiltinPlugin
from plugins._eligibility import finding, recorded

AREA = "single_parent_several_children"


class SingleParentRule(BuiltinPlugin):
    name = "eligibility.single_parent"
    kind = "eligibility"
    version = "1.0.0"
    title = {"nl": "Alleenstaande ouder met meerdere kinderen", "en": "Single parent with several children"}
    description = {
        "nl": "Een gezin kan meedoen als er één volwassene is met ten minste het ingestelde aantal kinderen "
              "(standaard 2), of als dat als probleemgebied is vastgelegd.",
        "en": "A family may take part when one adult lives with at least the configured number of children "
              "(2 by default), or when that is recorded as a problem area.",
    }

    class Config(Schema):
        min_children = fields.Integer(load_default=2, validate=validate.Range(min=1, max=10))
        count_problem_area = fields.Boolean(load_default=True)

    @hookimpl
    def koppel_eligibility(self, family, today):
        needed = self.config["min_children"]
        adults, children = len(family.adults), len(family.children)
        area = AREA in family.problem_areas
        facts = {"adults": adults, "children": children, "min_children": needed, "problem_area_recorded": area}
        if adults == 1 and children >= needed:
            return finding(self, "met", self.message(
                "One adult lives with %(n)s child; the rule needs at least %(min)s.",
                plural="One adult lives with %(n)s children; the rule needs at least %(min)s.",
                n=children, min=needed), facts)
        if area and self.config["count_problem_area"]:
            return finding(self, "met", recorded(self, [AREA]), facts)
        if not family.members:
            return finding(self, "missing", self.message("No household members are recorded."), facts)
        if adults == 0:
            explanation = self.message(
                "No adult is recorded; the rule needs one adult with at least %(n)s child.",
                plural="No adult is recorded; the rule needs one adult with at least %(n)s children.", n=needed)
        elif adults > 1:
            explanation = self.message("%(n)s adult is recorded; the rule needs a single adult.",
                                       plural="%(n)s adults are recorded; the rule needs a single adult.", n=adults)
        else:
            explanation = self.message(
                "One adult with %(n)s child is recorded; the rule needs at least %(min)s.",
                plural="One adult with %(n)s children is recorded; the rule needs at least %(min)s.",
                n=children, min=needed)
        return finding(self, "not_met", explanation, facts)
