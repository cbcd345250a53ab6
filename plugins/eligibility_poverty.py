"""Eligibility: a low household income, measured against the social minimum.

Met when the net monthly ``household_income`` is at most ``percentage`` percent
(120 by default) of the social minimum for the household type, read from the
members: one adult without children ``single_adult``, one adult with children
``single_parent``, two or more adults ``couple``.

The minimum amounts are configuration, not law encoded here. The defaults are
the Participatiewet (bijstand) norms for people aged 21 to the state pension
age, net per month including holiday allowance, rounded, as they stood around
1 January 2026: about EUR 1,400 for a single adult or a single parent and about
EUR 2,000 for a couple. A municipality sets the current figures, with their
``source`` and ``valid_from``, in its policy; they are shown in every finding.
"""
from datetime import date
from decimal import Decimal

from marshmallow import Schema, fields, validate

from core.plugin_toolkit import Label, hookimpl
from plugins._common import BuiltinPlugin
from plugins._eligibility import finding

AMOUNT = validate.Range(min=1, max=10_000)


class Norms(Schema):
    """Social minimum per household type, in whole euros a month (net)."""

    single_adult = fields.Integer(load_default=1400, validate=AMOUNT)
    single_parent = fields.Integer(load_default=1400, validate=AMOUNT)
    couple = fields.Integer(load_default=2000, validate=AMOUNT)
    source = fields.String(load_default="Participatiewet, bijstandsnormen 21 jaar tot AOW-leeftijd, netto per "
                                        "maand incl. vakantietoeslag, afgerond (controleer de actuele normen)",
                           validate=validate.Length(min=1, max=500))
    valid_from = fields.Date(load_default=date(2026, 1, 1))


def household_type(family) -> str | None:
    adults = len(family.adults)
    if adults == 0:
        return None
    if adults >= 2:
        return "couple"
    return "single_parent" if family.children else "single_adult"


class PovertyRule(BuiltinPlugin):
    name = "eligibility.poverty"
    kind = "eligibility"
    version = "1.0.0"
    title = {"nl": "Laag inkomen (armoede)", "en": "Low income (poverty)"}
    description = {
        "nl": "Een gezin kan meedoen als het netto gezinsinkomen niet hoger is dan een percentage (standaard 120%) "
              "van het sociaal minimum voor het type huishouden. De normbedragen staan in de instellingen.",
        "en": "A family may take part when its net household income is at most a percentage (120% by default) of "
              "the social minimum for its household type. The minimum amounts are part of the configuration.",
    }

    class Config(Schema):
        percentage = fields.Integer(load_default=120, validate=validate.Range(min=50, max=300))
        norms = fields.Nested(Norms, load_default=lambda: Norms().load({}))

    @hookimpl
    def koppel_eligibility(self, family, today):
        norms, percentage = self.config["norms"], self.config["percentage"]
        income, kind = family.household_income, household_type(family)
        facts = {"income": income, "household_type": kind, "percentage": percentage,
                 "norms_source": norms["source"], "norms_valid_from": norms["valid_from"].isoformat()}
        if kind is None:
            return finding(self, "missing", self.message(
                "No adult member is recorded, so the household type is unknown."), facts)
        norm = norms[kind]
        threshold = norm * percentage / 100
        facts.update(norm=norm, threshold=int(threshold) if threshold.is_integer() else round(threshold, 2))
        limit = {"threshold": (Decimal(norm) * percentage / 100).quantize(Decimal("0.01")), "percentage": percentage,
                 "norm": Decimal(norm), "household": Label("household_type", kind)}
        if income is None:
            return finding(self, "missing", self.message(
                "No household income is recorded; the limit is %(threshold)s: %(percentage)s%% of the social "
                "minimum of %(norm)s for %(household)s.", **limit), facts)
        if income * 100 <= norm * percentage:
            return finding(self, "met", self.message(
                "The household income of %(income)s is at most the limit of %(threshold)s: %(percentage)s%% of the "
                "social minimum of %(norm)s for %(household)s.", income=Decimal(income), **limit), facts)
        return finding(self, "not_met", self.message(
            "The household income of %(income)s is above the limit of %(threshold)s: %(percentage)s%% of the social "
            "minimum of %(norm)s for %(household)s.", income=Decimal(income), **limit), facts)
