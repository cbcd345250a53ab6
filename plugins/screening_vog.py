"""Screening: every adult of a supporting family has a recent VOG (certificate of conduct).

Adults are the members aged 18 or over, and members recorded as adults whose
age is unknown. A VOG counts when it was issued at most ``max_age_years`` plus
``max_age_months`` ago (3 years by default). One finding per family: "fail"
when a VOG is too old, else "missing" when an adult has none (or one dated
after today), else "pass". Members are numbered from 1 in the order recorded.
"""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.hookspecs import hookimpl
from core.policy.plugin import Plugin
from core.programme.vocabulary import SUPPORTING
from plugins._screening import finding, iso, months_before, period, sentence


def _is_adult(person) -> bool:
    return person.age >= 18 if person.age is not None else person.role == "adult"


class VogCheck(Plugin):
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
                raise ValidationError("A VOG must stay valid for at least one month.", "max_age_months")

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
            label = f"member {number}" + (f" (age {person.age})" if person.age is not None else "")
            if issued is None or issued > today:
                status = "not recorded" if issued is None else "after today"
                lacking.append(label)
            elif issued < cutoff:
                status = "too old"
                old.append(f"{label}, issued {issued.isoformat()}")
            else:
                status = "valid"
            adults.append({"member": number, "age": person.age, "vog_issued_on": iso(issued), "status": status})
        facts = {"adults": adults, "max_age_months": months, "not_before": cutoff.isoformat()}
        if not adults:
            return finding(self, "missing", "No adult members are recorded.", facts)
        problems = ([f"VOG older than {period(months)}: {'; '.join(old)}"] if old else []) + (
            [f"no VOG recorded: {', '.join(lacking)}"] if lacking else [])
        if problems:
            return finding(self, "fail" if old else "missing", sentence(problems), facts)
        return finding(self, "pass", f"All {len(adults)} adult(s) have a VOG of at most {period(months)} old.", facts)
