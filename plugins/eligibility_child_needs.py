"""Eligibility: a child with ADHD or a disability (problem area ``child_adhd_or_disability``).

Optionally (``max_child_age``) a child of at most that age must live in the
family; a family whose children's ages are unknown is then "missing".
"""
from marshmallow import Schema, fields, validate

from core.plugin_toolkit import Label, hookimpl
from plugins._common import BuiltinPlugin
from plugins._eligibility import finding, not_recorded, recorded

AREA = "child_adhd_or_disability"


class ChildNeedsRule(BuiltinPlugin):
    name = "eligibility.child_needs"
    kind = "eligibility"
    version = "1.0.0"
    title = {"nl": "Kind met ADHD of een beperking", "en": "Child with ADHD or a disability"}
    description = {
        "nl": "Een gezin kan meedoen als er een kind met ADHD of een beperking is; "
              "desgewenst alleen als dat kind niet ouder is dan een ingestelde leeftijd.",
        "en": "A family may take part when a child has ADHD or a disability; "
              "optionally only when a child is no older than a configured age.",
    }

    class Config(Schema):
        max_child_age = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=25))

    @hookimpl
    def koppel_eligibility(self, family, today):
        max_age = self.config["max_child_age"]
        facts = {"problem_area_recorded": AREA in family.problem_areas, "max_child_age": max_age}
        if AREA not in family.problem_areas:
            return finding(self, "not_met", not_recorded(self, [AREA]), facts)
        if max_age is None:
            return finding(self, "met", recorded(self, [AREA]), facts)
        ages = [child.age for child in family.children]
        facts["children_ages"] = ages
        area = Label("problem_area", AREA)
        if any(age is not None and age <= max_age for age in ages):
            return finding(self, "met", self.message(
                "Recorded problem area: %(area)s; a child is %(age)s or younger.", area=area, age=max_age), facts)
        if not ages or None in ages:
            return finding(self, "missing", self.message(
                "Recorded problem area: %(area)s, but no child is known to be %(age)s or younger (the children "
                "or their ages are not recorded).", area=area, age=max_age), facts)
        return finding(self, "not_met", self.message(
            "Recorded problem area: %(area)s, but every child is older than %(age)s.", area=area, age=max_age), facts)
