"""Screening: the four-eyes principle, approvals by enough different coordinators (``approvals``).

"pass" with approvals of at least ``min_approvals`` different coordinators
(2 by default); fewer is "missing": an approval is still to come. Applies to
supporting families by default; ``family_kinds`` can add requesting families.
"""
from marshmallow import Schema, fields, validate

from core.plugin_toolkit import hookimpl
from plugins._common import BuiltinPlugin
from plugins._screening import finding, kinds_field


class FourEyesCheck(BuiltinPlugin):
    name = "screening.four_eyes"
    four_eyes_overrides = True  # an override of a screening decision needs a second coordinator
    kind = "screening"
    version = "1.0.0"
    title = {"nl": "Vier-ogenprincipe", "en": "Four-eyes principle"}
    description = {
        "nl": "Ten minste het ingestelde aantal verschillende coördinatoren (standaard 2) heeft het gezin "
              "goedgekeurd.",
        "en": "At least the configured number of different coordinators (2 by default) approved the family.",
    }

    class Config(Schema):
        min_approvals = fields.Integer(load_default=2, validate=validate.Range(min=1, max=5))
        family_kinds = kinds_field()

    @hookimpl
    def koppel_screening(self, family, today):
        if family.kind not in self.config["family_kinds"]:
            return None
        approvers, needed = sorted(set(family.approvals)), self.config["min_approvals"]
        facts = {"approved_by": approvers, "min_approvals": needed}
        if len(approvers) >= needed:
            return finding(self, "pass", self.message(
                "Approved by %(n)s coordinator (the minimum is %(min)s).",
                plural="Approved by %(n)s different coordinators (the minimum is %(min)s).",
                n=len(approvers), min=needed), facts)
        # with one approval needed, none is recorded yet
        return finding(self, "missing", self.message(
            "Not yet approved; %(n)s coordinator has to approve.",
            plural="Approved by %(approved)s of the %(n)s different coordinators required.",
            n=needed, approved=len(approvers)), facts)
