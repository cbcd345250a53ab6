"""Eligibility: large families may take part.

Met when the requesting family has at least ``min_children`` children (3 by
default) among its recorded members; ``missing`` when no member is recorded
at all (then the number of children is unknown, not zero).

The explanations are messages: English message ids with parameters, written
in the reader's language when a coordinator reads the decision. The Dutch
translations ship with the package, in ``translations/nl/LC_MESSAGES/messages.po``
(compiled to ``messages.mo``; see the package's README).
"""
from pathlib import Path

from marshmallow import Schema, fields, validate

from core.plugin_toolkit import REQUESTING, Finding, Message, Plugin, hookimpl


class LargeFamily(Plugin):
    # The contract (core.plugin_toolkit.Plugin): name = the entry point's name, kind, version, titles.
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
    # Where this package's catalogues are: translations/<language>/LC_MESSAGES/messages.mo
    translations = Path(__file__).resolve().parent / "translations"

    class Config(Schema):
        # Every field has a default, so {} is a valid configuration (the contract checks this).
        min_children = fields.Integer(load_default=3, validate=validate.Range(min=1, max=20),
                                      metadata={"description": "the least number of children that counts as large"})

    @hookimpl
    def koppel_eligibility(self, family, today):
        if family.kind != REQUESTING:
            return None  # the rule does not apply
        least = self.config["min_children"]
        children = len(family.children)
        facts = {"children": children, "min_children": least}
        if not family.members:
            return self._finding("missing", self.message(
                "No members are recorded, so the number of children is unknown."), facts)
        if children >= least:
            return self._finding("met", self.message(
                "%(n)s child is recorded, which is enough (the minimum is %(min)s).",
                plural="%(n)s children are recorded, which is enough (the minimum is %(min)s).",
                n=children, min=least), facts)
        return self._finding("not_met", self.message(
            "%(n)s child is recorded, fewer than the minimum of %(min)s.",
            plural="%(n)s children are recorded, fewer than the minimum of %(min)s.", n=children, min=least), facts)

    def _finding(self, result: str, explanation: Message, facts: dict) -> Finding:
        return Finding(rule=self.name, result=result, effect="include", facts=facts, explanation=explanation)
