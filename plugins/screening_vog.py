"""Screening: every adult of a supporting family has a recent VOG (certificate of conduct).

Adults are the members aged 18 or over, and members recorded as adults whose
age is unknown. A VOG counts when it was issued at most ``max_age_years`` plus
``max_age_months`` ago (3 years by default), that is on or after the same day
that many calendar months before today. One finding per family: "fail" when
a VOG is too old, else "missing" when an adult has none (or one dated after
today), else "pass". The explanation names the members by number, from 1 in
the order recorded (``facts`` has each adult's age, date and status).
"""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.plugin_toolkit import N_, SUPPORTING, hookimpl, months_before
from plugins._common import BuiltinPlugin
from plugins._screening import finding, iso, whole_years


def _is_adult(person) -> bool:
    return person.age >= 18 if person.age is not None else person.role == "adult"


class VogCheck(BuiltinPlugin):
    name = "screening.vog"
    kind = "screening"
    version = "1.0.0"
    title = {"nl": "VOG van alle volwassenen", "en": "Certificate of conduct (VOG) for every adult"}
    description = {
        "nl": "Elke volwassene (18+) in een steungezin heeft een Verklaring Omtrent het Gedrag die niet ouder is "
              "dan de ingestelde termijn (standaard 3 jaar).",
        "en": "Every adult (18+) in a supporting family has a certificate of conduct (VOG) no older than the "
              "configured period (3 years by default).",
    }

    class Config(Schema):
        max_age_years = fields.Integer(load_default=3, validate=validate.Range(min=0, max=10))
        max_age_months = fields.Integer(load_default=0, validate=validate.Range(min=0, max=120))

        @validates_schema
        def _some_validity(self, data, **kwargs):
            if data["max_age_years"] == 0 and data["max_age_months"] == 0:
                raise ValidationError(N_("A VOG must stay valid for at least one month."), "max_age_months")

    @hookimpl
    def koppel_screening(self, family, today):
        if family.kind != SUPPORTING:
            return None
        months = self.config["max_age_years"] * 12 + self.config["max_age_months"]
        cutoff = months_before(today, months)
        adults, old, lacking = [], [], []
        for number, person in enumerate(family.members, start=1):
            if not _is_adult(person):
                continue
            issued = person.vog_issued_on
            if issued is None or issued > today:
                status = "not recorded" if issued is None else "after today"
                lacking.append(number)
            elif issued < cutoff:
                status = "too old"
                old.append(number)
            else:
                status = "valid"
            adults.append({"member": number, "age": person.age, "vog_issued_on": iso(issued), "status": status})
        facts = {"adults": adults, "max_age_months": months, "not_before": cutoff.isoformat()}
        if not adults:
            return finding(self, "missing", self.message("No adult members are recorded."), facts)
        if old and lacking:
            return finding(self, "fail", self.message(
                "Members with a VOG that is too old (issued before %(date)s): %(old)s. Members without a VOG: "
                "%(lacking)s.", date=cutoff, old=old, lacking=lacking), facts)
        if old:
            return finding(self, "fail", self.message(
                "The VOG of member %(members)s is too old: it was issued before %(date)s.",
                plural="The VOGs of members %(members)s are too old: they were issued before %(date)s.",
                n=len(old), members=old, date=cutoff), facts)
        if lacking:
            return finding(self, "missing", self.message(
                "No VOG is recorded for member %(members)s.", plural="No VOG is recorded for members %(members)s.",
                n=len(lacking), members=lacking), facts)
        count, in_years = whole_years(months)
        if in_years:
            return finding(self, "pass", self.message(
                "Every adult has a VOG of at most %(n)s year old.",
                plural="Every adult has a VOG of at most %(n)s years old.", n=count), facts)
        return finding(self, "pass", self.message(
            "Every adult has a VOG of at most %(n)s month old.",
            plural="Every adult has a VOG of at most %(n)s months old.", n=count), facts)
