"""The standard evaluation plan: the end of the trial, periodic reviews, an extension decision and the end.

With its default configuration it is exactly the platform's default plan
(:func:`core.programme.evaluation_plan.default_plan`):

* ``trial_end`` (moment ``start``) ``trial_weeks`` after the trial began;
* while the match is active and has a planned end: a ``periodic`` review
  (moment ``review``) every ``interval_months`` counted from the day it
  became active, as long as the review falls before the extension decision;
* ``extension_decision`` (moment ``review``) ``extension_notice_weeks``
  before the planned end;
* ``end`` (moment ``end``) on the planned end.

A match that has not started its trial yet has nothing due: the plan is an
empty list (not None, so no later plan takes over).
"""
from __future__ import annotations

from datetime import timedelta

from marshmallow import Schema, fields, validate

from core.plugin_toolkit import ACTIVE, PlannedEvaluation, add_months, hookimpl
from plugins._common import BuiltinPlugin


class StandardPlan(BuiltinPlugin):
    name = "evaluation_plan.standard"
    kind = "evaluation_plan"
    version = "1.0.0"
    title = {"nl": "Standaard evaluatieplan", "en": "Standard evaluation plan"}
    description = {
        "nl": "Een evaluatie aan het eind van de proefperiode, daarna periodiek zolang de koppeling loopt, een "
              "besluit over verlenging enkele weken voor de geplande einddatum en een eindevaluatie. "
              "Standaard: proefperiode 8 weken, elke 6 maanden, verlengingsbesluit 4 weken vooraf.",
        "en": "An evaluation at the end of the trial, then periodic reviews while the match runs, a decision on "
              "extension a few weeks before the planned end, and an end evaluation. By default: an 8-week "
              "trial, every 6 months, the extension decision 4 weeks ahead.",
    }

    class Config(Schema):
        trial_weeks = fields.Integer(load_default=8, strict=True, validate=validate.Range(min=1, max=52))
        interval_months = fields.Integer(load_default=6, strict=True, validate=validate.Range(min=1, max=24))
        extension_notice_weeks = fields.Integer(load_default=4, strict=True, validate=validate.Range(min=0, max=26))

    @hookimpl
    def koppel_evaluation_plan(self, match):
        trial = timedelta(weeks=self.config["trial_weeks"])
        notice = timedelta(weeks=self.config["extension_notice_weeks"])
        interval = self.config["interval_months"]
        items = []
        if match.trial_on:
            items.append(PlannedEvaluation("trial_end", "start", match.trial_on + trial))
        if match.state == ACTIVE and match.active_on and match.planned_end_on:
            decision_on = match.planned_end_on - notice
            due = add_months(match.active_on, interval)
            while due < decision_on:
                items.append(PlannedEvaluation("periodic", "review", due))
                due = add_months(due, interval)
            items.append(PlannedEvaluation("extension_decision", "review", decision_on))
            items.append(PlannedEvaluation("end", "end", match.planned_end_on))
        return items
