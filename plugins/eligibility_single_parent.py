"""Eligibility: a single parent with several children.

Met when the household has one adult and at least ``min_children`` children
(from the recorded members), or when the problem area
``single_parent_several_children`` is recorded (unless ``count_problem_area`` is off).
"""
from marshmallow import Schema, fields, validate

from core.hookspecs import hookimpl
from core.policy.plugin import Plugin
from plugins._eligibility import finding

AREA = "single_parent_several_children"


class SingleParentRule(Plugin):
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
            return finding(self, "met", f"One adult with {children} children (at least {needed}).", facts)
        if area and self.config["count_problem_area"]:
            return finding(self, "met", f"Problem area {AREA} is recorded.", facts)
        if not family.members:
            return finding(self, "missing", "No household members are recorded.", facts)
        return finding(self, "not_met", f"The household has {adults} adult(s) and {children} child(ren); "
                       f"this rule needs one adult and at least {needed} children.", facts)
