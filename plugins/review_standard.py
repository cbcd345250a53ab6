"""The programme review's thresholds: when scheduled work reminds and warns.

The monthly programme review warns a municipality when its programme is
stuck (see ``docs/review.md`` for each warning and why its default is what
it is); the daily work reminds of open evaluations, expiring VOGs and
supporting families due for a review. Every threshold has the platform's
default (``ReviewThresholds()``) and a range it is checked against.
"""
from marshmallow import Schema, fields, validate

from core.plugin_toolkit import ReviewThresholds, hookimpl
from plugins._common import BuiltinPlugin

DEFAULTS = ReviewThresholds()


def _whole(default: int, low: int, high: int):
    return fields.Integer(load_default=default, strict=True, validate=validate.Range(min=low, max=high))


class StandardReview(BuiltinPlugin):
    name = "review.standard"
    kind = "programme_review"
    version = "1.0.0"
    title = {"nl": "Signalen van de programmareview", "en": "Signals of the programme review"}
    description = {
        "nl": "Wanneer Koppel herinnert en waarschuwt: een open evaluatie, een VOG die verloopt, een steungezin "
              "zonder evaluatie, en de signalen van de maandelijkse programmareview (geen nieuwe koppeling terwijl "
              "gezinnen wachten, te lang wachten, een wijk zonder steungezin in de buurt, steungezinnen zonder "
              "koppeling, veel uitval bij de triage, de jaardoelstelling buiten bereik).",
        "en": "When Koppel reminds and warns: an open evaluation, an expiring VOG, a supporting family without an "
              "evaluation, and the signals of the monthly programme review (no new match while families wait, "
              "waiting too long, a district without a supporting family within reach, idle supporting families, "
              "many families leaving at triage, the year's target out of reach).",
    }

    class Config(Schema):
        evaluation_reminder_days = _whole(DEFAULTS.evaluation_reminder_days, 1, 90)
        vog_warning_days = _whole(DEFAULTS.vog_warning_days, 7, 365)
        supporting_review_months = _whole(DEFAULTS.supporting_review_months, 1, 36)
        no_match_weeks = _whole(DEFAULTS.no_match_weeks, 2, 52)
        longest_wait_days = _whole(DEFAULTS.longest_wait_days, 7, 730)
        reach_km = fields.Float(load_default=DEFAULTS.reach_km, validate=validate.Range(min=0.5, max=50))
        idle_supporting_months = _whole(DEFAULTS.idle_supporting_months, 2, 24)
        triage_leaving_share = fields.Float(load_default=DEFAULTS.triage_leaving_share,
                                            validate=validate.Range(min=0.05, max=1))
        triage_leaving_min = _whole(DEFAULTS.triage_leaving_min, 1, 100)
        target_pace_from_month = _whole(DEFAULTS.target_pace_from_month, 1, 12)

    @hookimpl
    def koppel_review_thresholds(self):
        return ReviewThresholds(**self.config)
