"""Match terms: how long a match runs, how often the families meet, and whether children stay overnight.

Programmes differ here: InHuis Steungezinnen agrees 12 months, extended only
when both families want it; Home-Start runs 4 to 18 months. A match's
agreement records the agreed terms at activation, and Koppel refuses terms
outside these (naming the term).
"""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.plugin_toolkit import FREQUENCIES, N_, MatchTerms, hookimpl
from plugins._common import BuiltinPlugin


class StandardTerms(BuiltinPlugin):
    name = "match_terms.standard"
    kind = "match_terms"
    version = "1.0.0"
    title = {"nl": "Afspraken van een koppeling", "en": "Terms of a match"}
    description = {
        "nl": "Hoe lang een koppeling duurt (standaard 12 maanden, hooguit 12; verlengen alleen als beide gezinnen "
              "dat willen), hoe vaak de gezinnen elkaar zien (wekelijks of om de week), hoeveel uur per keer en of "
              "kinderen mogen blijven slapen.",
        "en": "How long a match runs (12 months by default, at most 12; extended only when both families want it), "
              "how often the families meet (every week or every two weeks), how many hours a time, and whether "
              "children may stay overnight.",
    }

    class Config(Schema):
        duration_months_default = fields.Integer(load_default=12, strict=True, validate=validate.Range(min=1, max=60))
        duration_months_min = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=60))
        duration_months_max = fields.Integer(load_default=12, strict=True, validate=validate.Range(min=1, max=60))
        frequencies = fields.List(fields.String(validate=validate.OneOf(FREQUENCIES)),
                                  load_default=lambda: ["weekly", "fortnightly"], validate=validate.Length(min=1))
        hours_per_session_max = fields.Float(load_default=8.0, validate=validate.Range(min=0.5, max=48))
        hours_per_session_default = fields.Float(load_default=4.0, validate=validate.Range(min=0.5, max=48))
        overnight_allowed = fields.Boolean(load_default=False)

        @validates_schema
        def _consistent(self, data, **kwargs):
            if not data["duration_months_min"] <= data["duration_months_default"] <= data["duration_months_max"]:
                raise ValidationError(N_("The default duration must lie between the shortest and the longest."),
                                      "duration_months_default")
            if data["hours_per_session_default"] > data["hours_per_session_max"]:
                raise ValidationError(N_("The default hours must not exceed the most hours a session may take."),
                                      "hours_per_session_default")

    @hookimpl
    def koppel_match_terms(self):
        c = self.config
        frequencies = tuple(f for f in FREQUENCIES if f in c["frequencies"])
        return MatchTerms(
            duration_months_default=c["duration_months_default"], duration_months_min=c["duration_months_min"],
            duration_months_max=c["duration_months_max"], frequencies=frequencies, frequency_default=frequencies[0],
            hours_per_session_max=c["hours_per_session_max"],
            hours_per_session_default=c["hours_per_session_default"], overnight_allowed=c["overnight_allowed"])
