"""Screening: enough references of a supporting family were checked (``references_checked``).

"pass" with at least ``min_references`` (2 by default); fewer is "missing":
the remaining references still have to be checked.
"""
from marshmallow import Schema, fields, validate

from core.plugin_toolkit import SUPPORTING, hookimpl
from plugins._common import BuiltinPlugin
from plugins._screening import finding


class ReferencesCheck(BuiltinPlugin):
    name = "screening.references"
    kind = "screening"
    version = "1.0.0"
    title = {"nl": "Referenties nagetrokken", "en": "References checked"}
    description = {
        "nl": "Van een steungezin zijn ten minste het ingestelde aantal referenties (standaard 2) nagetrokken.",
        "en": "At least the configured number of references (2 by default) of a supporting family were checked.",
    }

    class Config(Schema):
        min_references = fields.Integer(load_default=2, validate=validate.Range(min=1, max=10))

    @hookimpl
    def koppel_screening(self, family, today):
        if family.kind != SUPPORTING:
            return None
        checked, needed = family.references_checked, self.config["min_references"]
        facts = {"references_checked": checked, "min_references": needed}
        if checked >= needed:
            return finding(self, "pass", self.message(
                "%(n)s reference checked (the minimum is %(min)s).",
                plural="%(n)s references checked (the minimum is %(min)s).", n=checked, min=needed), facts)
        # with one reference needed, none is checked yet
        return finding(self, "missing", self.message(
            "No reference checked yet; %(n)s is required.",
            plural="%(checked)s of the %(n)s required references checked.", n=needed, checked=checked), facts)
