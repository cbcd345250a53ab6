"""Eligibility: large families may take part.

Met when the requesting family has at least ``min_children`` children (3 by
default) among its recorded members; ``missing`` when no member is recorded
at all (then the number of children is unknown, not zero).
"""
from marshmallow import Schema, fields, validate

from core.hookspecs import hookimpl
from core.policy.plugin import Plugin
from core.policy.types import Finding


class LargeFamily(Plugin):
    # The contract (core.policy.plugin.Plugin): name = the entry point's name, kind, version, titles.
    name = "example.large_family"
    kind = "eligibility"
    version = "1.0.0"
    title = {"nl": "Groot gezin", "en": "Large family"}
    description = {
        "nl": "Een vraaggezin kan meedoen als er ten minste een aantal kinderen (standaard 3) in het gezin "
              "geregistreerd is.",
        "en": "A requesting family may take part when at least a number of children (3 by default) are "
              "recorded in the family.",
    }

    class Config(Schema):
        # Every field has a default, so {} is a valid configuration (the contract checks this).
        min_children = fields.Integer(load_default=3, validate=validate.Range(min=1, max=20),
                                      metadata={"description": "the least number of children that counts as large"})

    @hookimpl
    def koppel_eligibility(self, family, today):
        if family.kind != "requesting":
            return None  # the rule does not apply
        least = self.config["min_children"]
        children = len(family.children)
        facts = {"children": children, "min_children": least}
        if not family.members:
            return self._finding("missing", "No members are recorded, so the number of children is unknown.", facts)
        if children >= least:
            return self._finding("met", f"{children} children are recorded; a family with at least {least} "
                                        "children may take part.", facts)
        return self._finding("not_met", f"{children} {'child is' if children == 1 else 'children are'} recorded; "
                                        f"the rule needs at least {least}.", facts)

    def _finding(self, result: str, explanation: str, facts: dict) -> Finding:
        return Finding(rule=self.name, result=result, effect="include", facts=facts, explanation=explanation)
