"""Screening: the intake of a requesting family is complete.

Triage is done with the outcome ``fits`` and consent is recorded for each of
``consent_purposes`` (``processing`` by default). "fail" when triage had
another outcome; "missing" when the triage outcome or a consent is not
recorded. Returns nothing for supporting families.
"""
from marshmallow import Schema, fields, validate

from core.hookspecs import hookimpl
from core.policy.plugin import Plugin
from core.programme.vocabulary import CONSENT_PURPOSES, REQUESTING
from plugins._screening import finding, sentence


class RequestingIntakeCheck(Plugin):
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
        if family.triage_outcome not in (None, "fits"):
            return finding(self, "fail", f"The triage outcome is {family.triage_outcome}, not fits.", facts)
        gaps = (["no triage outcome is recorded"] if family.triage_outcome is None else []) + (
            [f"no consent is recorded for {', '.join(absent)}"] if absent else [])
        if gaps:
            return finding(self, "missing", sentence(gaps), facts)
        consent = f" and consent is recorded for {', '.join(required)}" if required else ""
        return finding(self, "pass", f"The triage outcome is fits{consent}.", facts)
