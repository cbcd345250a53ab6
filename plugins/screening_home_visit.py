"""Screening: the coordinator visited the family at home (``home_visit_on``).

Applies to supporting families by default; ``family_kinds`` can add
requesting families.
"""
from marshmallow import Schema

from core.plugin_toolkit import N_, hookimpl
from plugins._common import BuiltinPlugin
from plugins._screening import StepTexts, dated_step, kinds_field

TEXTS = StepTexts(
    missing=N_("No home visit is recorded."),
    future=N_("The home visit is recorded on %(date)s, which is after today."),
    done=N_("The home visit took place on %(date)s."),
)


class HomeVisitCheck(BuiltinPlugin):
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
        return dated_step(self, family, today, "home_visit_on", TEXTS)
