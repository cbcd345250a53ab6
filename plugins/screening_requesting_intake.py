"""Screening: the intake of a requesting family is complete.

Triage is done with the outcome ``fits`` and consent is recorded for each of
``consent_purposes`` (``processing`` by default). "fail" when triage had
another outcome; "missing" when the triage outcome or a consent is not
recorded. Returns nothing for supporting families.
"""
from marshmallow import Schema, fields, validate

from core.plugin_toolkit import CONSENT_PURPOSES, REQUESTING, Label, Labels, hookimpl
from plugins._common import BuiltinPlugin
from plugins._screening import finding


class RequestingIntakeCheck(BuiltinPlugin):
    name = "screening.requesting_intake"
    kind = "screening"
    version = "1.0.0"
    title = {"nl": "Intake vraaggezin afgerond", "en": "Requesting family's intake complete"}
    description = {
        "nl": "De triage van het vraaggezin is gedaan met de uitkomst 'past' en de toestemming voor "
              "gegevensverwerking is vastgelegd.",
        "en": "The requesting family's triage is done with the outcome 'fits' and its consent to the processing "
              "of its data is recorded.",
    }

    class Config(Schema):
        consent_purposes = fields.List(fields.String(validate=validate.OneOf(CONSENT_PURPOSES)),
                                       load_default=lambda: ["processing"])

    @hookimpl
    def koppel_screening(self, family, today):
        if family.kind != REQUESTING:
            return None
        required = sorted(set(self.config["consent_purposes"]))
        absent = [purpose for purpose in required if purpose not in family.consents]
        facts = {"triage_outcome": family.triage_outcome, "consents": sorted(family.consents),
                 "required_consents": required}
        fits = Label("triage_outcome", "fits")
        if family.triage_outcome not in (None, "fits"):
            return finding(self, "fail", self.message(
                "The triage outcome is '%(outcome)s', not '%(fits)s'.",
                outcome=Label("triage_outcome", family.triage_outcome), fits=fits), facts)
        if family.triage_outcome is None and absent:
            return finding(self, "missing", self.message(
                "No triage outcome is recorded, and no consent for: %(purposes)s.",
                purposes=Labels("consent_purpose", tuple(absent))), facts)
        if family.triage_outcome is None:
            return finding(self, "missing", self.message("No triage outcome is recorded."), facts)
        if absent:
            return finding(self, "missing", self.message(
                "No consent is recorded for: %(purposes)s.", purposes=Labels("consent_purpose", tuple(absent))), facts)
        if required:
            return finding(self, "pass", self.message(
                "The triage outcome is '%(fits)s' and consent is recorded for: %(purposes)s.",
                fits=fits, purposes=Labels("consent_purpose", tuple(required))), facts)
        return finding(self, "pass", self.message("The triage outcome is '%(fits)s'.", fits=fits), facts)
