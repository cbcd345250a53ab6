"""Screening: the coordinator visited the family at home (``home_visit_on``).

Applies to supporting families by default; ``family_kinds`` can add
requesting families.
"""
from marshmallow import Schema

from core.hookspecs import hookimpl
from core.policy.plugin import Plugin
from plugins._screening import dated_step, kinds_field


class HomeVisitCheck(Plugin):
    name = "screening.home_visit"
    kind = "screening"
    version = "1.0.0"
    title = {"nl": "Huisbezoek", "en": "Home visit"}
    description = {
        "nl": "De coördinator heeft het gezin thuis bezocht (standaard bij steungezinnen).",
        "en": "The coordinator visited the family at home (supporting families by default).",
    }

    class Config(Schema):
        family_kinds = kinds_field()

    @hookimpl
    def koppel_screening(self, family, today):
        if family.kind not in self.config["family_kinds"]:
            return None
        return dated_step(self, family, today, "home_visit_on", "home visit")
