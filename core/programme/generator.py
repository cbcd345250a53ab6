"""A deterministic generator of realistic programme data, for tests and benchmarks.

``generate(municipality_ids, families_per_tenant, matches_per_tenant, seed=..., today=...)``
writes, for each municipality, three years of a steungezinnen programme up to
*today*: requesting and supporting families (about 60/40) with members,
addresses in CBS districts and neighbourhoods derived from the municipality's
code, consent, intake meetings, eligibility and screening decisions with
findings, status histories; matches through their lifecycle with transitions,
extensions, evaluations and contacts (``support_session`` contacts carry the
volunteer hours); a few supporting families that were once requesting
families (``former_family_id``); and a programme target per year.

The data follows the services' rules: a family is ``matched`` while it has a
match in trial or active, a supporting family never has more children in open
matches than its ``capacity_children`` (at any date, not only today),
evaluations follow the default evaluation plan, and nothing is dated after
*today*.

Determinism: a municipality's data depends only on *seed*, *today*, the two
sizes and the municipality's CBS code (``random.Random`` seeded with them), so
the same call gives the same data, whatever order the municipalities come in.
Database ids depend on what the database already holds.

Speed: each municipality is planned in Python first, then written with bulk
Core ``INSERT``s (``executemany``, in batches; ids come back through
``RETURNING`` in parameter order) inside that municipality's
``tenant_scope``, one transaction per municipality.
"""
from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable

from sqlalchemy import insert, select, text

from core.crypto import fields as encrypted
from core.extensions import db
from core.programme import vocabulary as V
from core.policy.types import MatchFacts
from core.programme.matches import WAIT_AGAIN
from core.programme.evaluation_plan import EXTENSION_NOTICE, add_months, after_end, default_plan
from core.programme.models import (
    Consent,
    Contact,
    Decision,
    Evaluation,
    Family,
    FamilyStatusChange,
    IntakeMeeting,
    Match,
    MatchExtension,
    MatchTransition,
    Member,
    ProgrammeTarget,
)
from tenants.context import tenant_scope
from tenants.models import Municipality

YEARS = 3
SUPPORTING_SHARE = 0.4

# --------------------------------------------------------------------------- vocabulary of names and places

BOYS = ("Daan", "Sem", "Lucas", "Levi", "Finn", "Noah", "Bram", "Jesse", "Luuk", "Milan", "Thijs", "Ruben", "Lars",
        "Jayden", "Tim", "Thomas", "Max", "Sven", "Gijs", "Stijn", "Mees", "Julian", "Teun", "Hugo", "Siem", "Jens")
GIRLS = ("Emma", "Julia", "Mila", "Tess", "Sophie", "Zoë", "Sara", "Nora", "Evi", "Lotte", "Fleur", "Anna", "Lieke",
         "Saar", "Noor", "Lisa", "Eva", "Fenna", "Isa", "Roos", "Femke", "Liv", "Nina", "Yara", "Maud", "Jip")
ADULT_MEN = ("Jan", "Peter", "Mark", "Erik", "Bas", "Joost", "Martijn", "Dennis", "Sander", "Wouter", "Jeroen",
             "Rob", "Kees", "Niels", "Michiel", "Arjen", "Roel", "Henk", "Marco", "Bart", "Ronald", "Gerrit")
ADULT_WOMEN = ("Anouk", "Marieke", "Linda", "Sanne", "Esther", "Kim", "Ingrid", "Monique", "Petra", "Iris", "Wendy",
               "Judith", "Annemiek", "Janneke", "Hanneke", "Mirjam", "Karin", "Ellen", "Suzanne", "Miranda", "Ilse")
SURNAMES = ("de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser", "Smit",
            "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker",
            "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer", "van der Linden", "Kok", "Jacobs",
            "de Haan", "Vermeulen", "van den Heuvel", "van der Veen", "van den Broek", "de Bruijn", "de Bruin",
            "van der Heijden", "Schouten", "van Beek", "Willems", "van Vliet", "van de Ven", "Hoekstra", "Maas",
            "Verhoeven", "Koster", "van Dam", "van der Wal", "Prins", "Blom", "Huisman", "Wiggers", "Hulshof",
            "Te Brake", "Ten Have", "Nijhuis", "Wolters", "Klein Gunnewiek", "Eppink", "Roelofsen", "Hermsen")
#: Names of newcomers' families, by the language the family speaks.
NEWCOMER_NAMES = {
    "ar": (("Ahmad", "Omar", "Yusuf", "Khaled"), ("Fatima", "Amal", "Rania", "Noor"), ("Haddad", "Al-Hassan", "Khalil", "Darwish", "Mansour")),
    "ti": (("Tesfay", "Yonas", "Dawit", "Amanuel"), ("Selam", "Helen", "Mebrat", "Saba"), ("Tesfaye", "Gebremedhin", "Haile", "Kidane")),
    "tr": (("Mehmet", "Emre", "Murat", "Hakan"), ("Ayşe", "Elif", "Zeynep", "Fatma"), ("Yılmaz", "Kaya", "Demir", "Şahin", "Çelik")),
    "pl": (("Piotr", "Tomasz", "Marek", "Paweł"), ("Anna", "Katarzyna", "Magdalena", "Agnieszka"), ("Kowalski", "Nowak", "Wiśniewski", "Wójcik")),
    "en": (("James", "Michael", "David", "Daniel"), ("Sarah", "Emily", "Laura", "Rachel"), ("Smith", "Brown", "Wilson", "Taylor")),
}
STREETS = ("Kerkstraat", "Dorpsstraat", "Schoolstraat", "Molenweg", "Stationsstraat", "Julianastraat", "Beatrixstraat",
           "Wilhelminalaan", "Beukenlaan", "Eikenlaan", "Lindelaan", "Kastanjelaan", "Berkenstraat", "Meidoornstraat",
           "Prinses Irenestraat", "Nieuwstraat", "Hoofdstraat", "Marktstraat", "Veldweg", "Esweg", "Slingerweg",
           "Tuinstraat", "Burgemeester Jansenstraat", "Koestraat", "Weverstraat", "Smidsstraat", "Zonnebloemstraat")
REFERRER_ORGANISATIONS = {
    "cjg": "Centrum voor Jeugd en Gezin {city}",
    "social_team": "Sociaal team {city}",
    "jgz": "Jeugdgezondheidszorg GGD",
    "gp": "Huisartsenpraktijk {street}",
    "school": "Basisschool De Regenboog",
    "other": "Vluchtelingenwerk {city}",
}
POSTCODE_LETTERS = [a + b for a in "ABCDEFGHJKLMNPRTVWXZ" for b in "ABCDEFGHJKLMNPRSTVWXZ" if a + b not in ("SA", "SD", "SS")]

# --------------------------------------------------------------------------- programme mix

REFERRAL_WEIGHTS = {"cjg": 24, "social_team": 24, "jgz": 10, "gp": 8, "school": 12, "self": 16, "other": 6}
PROBLEM_WEIGHTS = {"overload": 30, "single_parent_several_children": 0, "child_adhd_or_disability": 18, "kopp": 14,
                   "kov": 5, "poverty": 0, "newcomer": 0, "isolation": 16}
LANGUAGE_SETS = ((("nl",), 80), (("nl", "en"), 7), (("ar", "nl"), 4), (("ar",), 2), (("tr", "nl"), 3), (("pl",), 2),
                 (("ti",), 2))
#: How matches end (of those that end), and what follows.
END_WEIGHTS = {"goals_reached": 50, "requesting_family_declined": 8, "supporting_family_stopped": 9, "mismatch": 10,
               "escalated_to_professional_care": 8, "moved": 7, "consent_withdrawn": 2, "other": 6}
OUTCOME_WEIGHTS = {
    "goals_reached": {"no_further_care": 55, "lighter_support": 35, "unknown": 10},
    "escalated_to_professional_care": {"professional_youth_care": 80, "out_of_home_placement": 20},
    "mismatch": {"lighter_support": 30, "unknown": 70},
    "supporting_family_stopped": {"lighter_support": 40, "unknown": 60},
    "requesting_family_declined": {"no_further_care": 30, "unknown": 70},
    "moved": {"unknown": 100},
    "consent_withdrawn": {"unknown": 100},
    "other": {"lighter_support": 30, "professional_youth_care": 10, "unknown": 60},
}
CANCEL_REASONS = ("the families did not click at the introduction", "the requesting family withdrew",
                  "the supporting family is no longer available", "circumstances changed")
DATE_OF = {V.PROPOSED: "proposed_on", V.INTRODUCTION: "introduction_on", V.TRIAL: "trial_on",
           V.ACTIVE: "active_on", V.ENDED: "ended_on", V.CANCELLED: "cancelled_on"}


def _weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _at(day: date, rng: random.Random) -> datetime:
    """A working-hours moment (UTC) on *day*."""
    return datetime.combine(day, time(rng.randint(7, 15), rng.randint(0, 59)), tzinfo=timezone.utc)


# --------------------------------------------------------------------------- the plan of one municipality

@dataclass
class Geography:
    """Districts (wijken), neighbourhoods (buurten) and postcodes of one municipality."""

    city: str
    districts: list[str]
    neighbourhoods: dict[str, list[str]]
    postcodes: dict[str, list[int]]  # district -> postcode numbers
    weights: list[int]
    centre: tuple[float, float]

    @classmethod
    def of(cls, municipality: Municipality, rng: random.Random) -> Geography:
        digits = municipality.cbs_code[2:]
        number = int(digits)
        districts = [f"WK{digits}{d:02d}" for d in range(1, rng.randint(3, 8) + 1)]
        neighbourhoods = {d: [f"BU{d[2:]}{b:02d}" for b in range(1, rng.randint(2, 6) + 1)] for d in districts}
        base = 1000 + (number * 53) % 8700
        postcodes = {d: [base + 10 * i + j for j in range(rng.randint(3, 9))] for i, d in enumerate(districts)}
        weights = [rng.randint(1, 6) for _ in districts]
        centre = (51.0 + (number % 97) / 97 * 2.2, 4.2 + (number % 89) / 89 * 2.6)
        return cls(municipality.name, districts, neighbourhoods, postcodes, weights, centre)


@dataclass
class Plan:
    """Everything one municipality gets, before ids exist. Family and match references are list indexes."""

    requesting: list[dict] = field(default_factory=list)
    supporting: list[dict] = field(default_factory=list)
    matches: list[dict] = field(default_factory=list)
    #: Rows of child tables as (family or match index, row); ``family`` indexes run over
    #: requesting then supporting families.
    members: list[tuple[int, dict]] = field(default_factory=list)
    status_changes: list[tuple[int, dict]] = field(default_factory=list)
    intake_meetings: list[tuple[int, dict]] = field(default_factory=list)
    decisions: list[tuple[int, dict]] = field(default_factory=list)
    consents: list[tuple[int, dict]] = field(default_factory=list)
    transitions: list[tuple[int, dict]] = field(default_factory=list)
    extensions: list[tuple[int, dict]] = field(default_factory=list)
    evaluations: list[tuple[int, dict]] = field(default_factory=list)
    contacts: list[tuple[int | None, int | None, dict]] = field(default_factory=list)  # (family, match, row)
    targets: list[dict] = field(default_factory=list)


class _Planner:
    def __init__(self, municipality: Municipality, families: int, matches: int, seed: int, today: date):
        self.rng = random.Random(f"koppel:{seed}:{municipality.cbs_code}:{families}:{matches}:{today.isoformat()}")
        self.today = today
        self.start = date(today.year - YEARS, today.month, min(today.day, 28))
        self.span = (today - self.start).days
        self.geo = Geography.of(municipality, self.rng)
        self.n_supporting = round(families * SUPPORTING_SHARE)
        self.n_requesting = families - self.n_supporting
        self.n_matches = matches
        self.plan = Plan()
        self.status_events: dict[int, list[tuple[date, str, str]]] = {}  # family index -> (day, status, reason)
        self.consents_of: dict[int, list[dict]] = {}  # family index -> its consent rows

    # ---------------------------------------------------------------- helpers

    def day(self, earliest: date, low: int, high: int) -> date:
        return earliest + timedelta(days=self.rng.randint(low, high))

    def address(self) -> dict:
        rng, geo = self.rng, self.geo
        district = rng.choices(geo.districts, weights=geo.weights)[0]
        number = rng.choice(geo.postcodes[district])
        lat, lon = geo.centre
        return {
            "street": rng.choice(STREETS),
            "house_number": str(rng.randint(1, 180)) + (rng.choice("ab") if rng.random() < 0.08 else ""),
            "postcode": f"{number} {rng.choice(POSTCODE_LETTERS)}",
            "city": geo.city,
            "district_code": district,
            "neighbourhood_code": rng.choice(geo.neighbourhoods[district]),
            "latitude": round(lat + rng.uniform(-0.04, 0.04), 5),
            "longitude": round(lon + rng.uniform(-0.06, 0.06), 5),
        }

    def people(self, languages: tuple[str, ...], adults: int, children: int,
               adult_ages: tuple[int, int]) -> tuple[str, list[dict]]:
        """A family name and its members (adults first)."""
        rng = self.rng
        foreign = next((lang for lang in languages if lang in NEWCOMER_NAMES), None)
        if foreign:
            men, women, surnames = NEWCOMER_NAMES[foreign]
            boys, girls = men + BOYS[:6], women + GIRLS[:6]
        else:
            men, women, surnames, boys, girls = ADULT_MEN, ADULT_WOMEN, SURNAMES, BOYS, GIRLS
        surname = rng.choice(surnames)
        members = []
        for i in range(adults):
            first = rng.choice(women if (i == 0) == (rng.random() < 0.8) else men)
            age = rng.randint(*adult_ages)
            born = self.today - timedelta(days=age * 365 + rng.randint(0, 364))
            members.append({"role": "adult", "first_name": first,
                            "last_name": surname if i == 0 or rng.random() < 0.5 else rng.choice(surnames),
                            "date_of_birth": born, "vog_issued_on": None})
        for _ in range(children):
            born = self.today - timedelta(days=rng.randint(0, 17 * 365 + 300))
            members.append({"role": "child", "first_name": rng.choice(boys if rng.random() < 0.5 else girls),
                            "last_name": surname, "date_of_birth": born, "vog_issued_on": None})
        display = "Familie " + surname[0].upper() + surname[1:]
        return display, members

    def contact_details(self, members: list[dict], n: int) -> dict:
        first = members[0]["first_name"].lower().replace(" ", "")
        return {"phone": f"06{self.rng.randint(10_000_000, 99_999_999)}", "email": f"{first}.{n}@example.nl"}

    def availability(self) -> tuple[dict, bool, bool]:
        rng = self.rng
        days = sorted(rng.sample(range(7), rng.randint(1, 3)))
        availability = {V.WEEKDAYS[d]: sorted(rng.sample(V.DAY_PARTS, rng.randint(1, 2)), key=V.DAY_PARTS.index)
                        for d in days}
        weekends = any(d >= 5 for d in days) or rng.random() < 0.2
        return availability, weekends, weekends and rng.random() < 0.35

    def status(self, family: int, day: date, status: str, reason: str) -> None:
        self.status_events.setdefault(family, []).append((day, status, reason))

    def consent(self, family: int, purpose: str, given_on: date) -> None:
        version = "2024-01" if given_on < date(2025, 1, 1) else "2025-01"
        row = {"purpose": purpose, "wording_version": version, "given_on": given_on, "withdrawn_on": None,
               "recorded_by_user_id": None}
        self.plan.consents.append((family, row))
        self.consents_of.setdefault(family, []).append(row)

    def intake(self, family: int, day: date) -> None:
        self.plan.intake_meetings.append((family, {"held_on": day, "notes": None}))
        self.plan.contacts.append((family, None, {"kind": "visit", "occurred_on": day,
                                                  "duration_minutes": self.rng.randint(45, 90), "note": "Intakegesprek"}))
        self.status(family, day, V.INTAKE, "intake meeting")

    # ---------------------------------------------------------------- families

    def families(self) -> None:
        for i in range(self.n_requesting):
            self.requesting_family(i)
        for i in range(self.n_supporting):
            self.supporting_family(self.n_requesting + i)

    def requesting_family(self, index: int) -> None:
        rng, today = self.rng, self.today
        registered = self.start + timedelta(days=int(self.span * rng.random() ** 0.85))
        languages = rng.choices([s for s, _ in LANGUAGE_SETS], weights=[w for _, w in LANGUAGE_SETS])[0]
        adults = 1 if rng.random() < 0.42 else 2
        children = rng.choices((1, 2, 3, 4, 5), weights=(30, 35, 21, 10, 4))[0]
        display, members = self.people(languages, adults, children, (21, 48))
        income = int(rng.lognormvariate(7.65, 0.38)) // 10 * 10  # net per month, median ~2,100
        problems = set()
        if adults == 1 and children >= 2:
            problems.add("single_parent_several_children")
        if income < 1_700:
            problems.add("poverty")
        newcomer = languages[0] != "nl" and rng.random() < 0.8
        if newcomer:
            problems.add("newcomer")
        for _ in range(rng.randint(1, 2)):
            problems.add(_weighted(rng, PROBLEM_WEIGHTS))
        source = _weighted(rng, REFERRAL_WEIGHTS)
        address = self.address()
        availability, weekends, overnight = self.availability()
        family = {
            "kind": V.REQUESTING, "display_name": display, **address, **self.contact_details(members, index),
            "languages": list(languages),
            "support_kinds": sorted(rng.sample(V.SUPPORT_KINDS[:4], rng.randint(1, 2)), key=V.SUPPORT_KINDS.index),
            "availability": availability, "weekends": weekends, "overnight": overnight,
            "wishes": rng.choice((None, "Graag een gezin met kinderen van dezelfde leeftijd.",
                                  "Iemand die ook tijd heeft voor huiswerk.", "Dichtbij school.")),
            "registered_on": registered, "referral_source": source,
            "referrer_name": None if source == "self" else f"{rng.choice(ADULT_WOMEN)} {rng.choice(SURNAMES)}",
            "referrer_organisation": None if source == "self" else REFERRER_ORGANISATIONS[source].format(
                city=self.geo.city, street=address["street"]),
            "referrer_email": None if source == "self" else f"verwijzer.{index}@example.nl",
            "problem_areas": sorted(problems, key=V.PROBLEM_AREAS.index),
            "household_income": income,
            "arrival_year": today.year - rng.randint(0, 8) if newcomer else None,
            "in_professional_care": rng.random() < 0.05,
            "triage_outcome": None, "triage_on": None,
            "children": children,
            # filled by the matching: when the family may first be proposed, and whether it left the queue
            "ready_on": None, "left_on": None,
        }
        self.plan.requesting.append(family)
        self.plan.members.extend((index, m) for m in members)
        self.status(index, registered, V.REGISTERED, "registered")
        self.consent(index, "processing", registered)
        intake = self.day(registered, 5, 35)
        if intake > today:
            return
        self.intake(index, intake)
        if family["referrer_email"] and rng.random() < 0.75:
            self.consent(index, "share_with_referrer", intake)
        if rng.random() < 0.92:
            self.consent(index, "evaluation_contact", intake)
        triage = self.day(intake, 0, 10)
        if triage > today:
            return
        outcome = rng.choices(V.TRIAGE_OUTCOMES, weights=(86, 8, 6))[0]
        family["triage_outcome"], family["triage_on"] = outcome, triage
        if outcome == "too_heavy_referred":
            family["in_professional_care"] = True
            self.status(index, triage, V.CLOSED, "too heavy for the programme; referred")
            return
        if outcome == "declined_by_family":
            self.status(index, triage, V.CLOSED, "the family declined")
            return
        eligible = not family["in_professional_care"] or rng.random() < 0.3
        decided = triage + timedelta(days=rng.randint(0, 7))
        if decided > today:
            return
        findings = [
            {"rule": "children_under_18", "result": "met", "facts": {"children": children},
             "explanation": "Er wonen kinderen jonger dan 18 in het gezin."},
            {"rule": "lives_in_municipality", "result": "met", "facts": {"postcode": address["postcode"]},
             "explanation": f"Het gezin woont in {self.geo.city}."},
            {"rule": "no_referred_youth_care", "result": "met" if eligible else "not_met",
             "facts": {"in_professional_care": family["in_professional_care"]},
             "explanation": "Geen geïndiceerde jeugdhulp." if eligible else "Het gezin krijgt al geïndiceerde jeugdhulp."},
        ]
        self.plan.decisions.append((index, {"kind": "eligibility", "outcome": "eligible" if eligible else "not_eligible",
                                            "findings": findings, "policy_version": 1 if decided.year < today.year else 2,
                                            "decided_at": _at(decided, rng)}))
        if not eligible:
            self.status(index, decided, V.CLOSED, "not eligible")
            return
        self.status(index, decided, V.WAITING, "eligible; waiting for a supporting family")
        family["ready_on"] = decided

    def supporting_family(self, index: int) -> None:
        rng, today = self.rng, self.today
        registered = self.start - timedelta(days=120) + timedelta(days=int((self.span + 60) * rng.random() ** 1.4))
        languages = rng.choices([s for s, _ in LANGUAGE_SETS], weights=[w for _, w in LANGUAGE_SETS])[0]
        if languages[0] != "nl" and rng.random() < 0.7:
            languages = ("nl",)
        adults = 1 if rng.random() < 0.22 else 2
        children = rng.choices((0, 1, 2, 3), weights=(30, 25, 30, 15))[0]
        display, members = self.people(languages, adults, children, (28, 66))
        address = self.address()
        availability, weekends, overnight = self.availability()
        capacity = rng.choices((1, 2, 3), weights=(45, 40, 15))[0]
        family = {
            "kind": V.SUPPORTING, "display_name": display, **address, **self.contact_details(members, index),
            "languages": list(languages),
            "support_kinds": sorted(rng.sample(V.SUPPORT_KINDS, rng.randint(1, 3)), key=V.SUPPORT_KINDS.index),
            "availability": availability, "weekends": weekends, "overnight": overnight,
            "capacity_children": capacity, "capacity_age_min": rng.choice((0, 0, 2, 4)),
            "capacity_age_max": rng.choice((12, 14, 17, 17)),
            "preferences": rng.choice((None, "Liefst jonge kinderen.", "Wij hebben een hond.", "Geen overnachtingen.")),
            "registered_on": registered, "referral_source": "self",
            "references_checked": 0, "training_attended_on": None, "home_visit_on": None, "agreement_signed_on": None,
            "former_family_id": None,
            # filled below: the window in which it may be matched
            "available_from": None, "available_until": None, "stop_status": None,
        }
        self.plan.supporting.append(family)
        first_member = len(self.plan.members)
        self.plan.members.extend((index, m) for m in members)
        self.status(index, registered, V.REGISTERED, "registered")
        self.consent(index, "processing", registered)
        intake = self.day(registered, 5, 30)
        if intake > today:
            return
        self.intake(index, intake)
        if rng.random() < 0.95:
            self.consent(index, "evaluation_contact", intake)
        if rng.random() < 0.15:
            stopped = self.day(intake, 3, 40)
            if stopped <= today:
                self.status(index, stopped, V.CLOSED, "decided not to go on after the intake")
            return
        screening = self.day(intake, 1, 10)
        if screening > today:
            return
        self.status(index, screening, V.SCREENING, "screening started")
        vog = self.day(screening, 7, 35)
        training = self.day(screening, 10, 50)
        visit = self.day(screening, 5, 30)
        for offset in range(adults):
            _, member = self.plan.members[first_member + offset]
            if vog <= today:
                member["vog_issued_on"] = vog
        if training <= today:
            family["training_attended_on"] = training
        if visit <= today:
            family["home_visit_on"] = visit
        family["references_checked"] = 2 if visit <= today else rng.randint(0, 1)
        decided = max(vog, training, visit) + timedelta(days=rng.randint(0, 10))
        if decided > today:
            return
        passed = rng.random() < 0.93
        findings = [
            {"rule": "vog_for_every_adult", "result": "pass" if passed or rng.random() < 0.5 else "fail",
             "facts": {"adults": adults, "vog_issued_on": vog.isoformat()},
             "explanation": "Elke volwassene heeft een VOG van minder dan drie maanden oud."},
            {"rule": "two_references", "result": "pass", "facts": {"references_checked": 2},
             "explanation": "Twee referenties nagebeld."},
            {"rule": "training_attended", "result": "pass", "facts": {"on": training.isoformat()},
             "explanation": "De training voor steungezinnen is gevolgd."},
            {"rule": "home_visit", "result": "pass" if passed else "fail", "facts": {"on": visit.isoformat()},
             "explanation": "Huisbezoek afgelegd."},
        ]
        self.plan.decisions.append((index, {"kind": "screening", "outcome": "passed" if passed else "failed",
                                            "findings": findings, "policy_version": 1 if decided.year < today.year else 2,
                                            "decided_at": _at(decided, rng)}))
        if not passed:
            self.status(index, decided, V.CLOSED, "screening not passed")
            return
        family["agreement_signed_on"] = min(today, self.day(decided, 0, 7))
        family["available_from"] = decided
        self.status(index, decided, V.AVAILABLE, "screening passed")
        if rng.random() < 0.3:
            until = self.day(decided, 120, 900)
            if until <= today:
                family["available_until"] = until
                family["stop_status"] = V.PAUSED if rng.random() < 0.2 else V.CLOSED

    # ---------------------------------------------------------------- matches

    def matching(self) -> None:
        rng, today, plan = self.rng, self.today, self.plan
        supporting = [(f["available_from"], self.n_requesting + i) for i, f in enumerate(plan.supporting)
                      if f["available_from"] is not None]
        supporting.sort()
        self.pool_dates = [d for d, _ in supporting]
        self.pool = [i for _, i in supporting]
        self.by_district: dict[str, list[int]] = {}
        for _, i in supporting:
            self.by_district.setdefault(plan.supporting[i - self.n_requesting]["district_code"], []).append(i)
        self.load: dict[int, list[tuple[date, date | None, int]]] = {}  # supporting index -> [start, end, children]

        candidates = []
        for i, family in enumerate(plan.requesting):
            if family["ready_on"] is None:
                continue
            wait = int(min(420, max(3, rng.lognormvariate(4.0, 0.75))))  # median ~55 days
            proposal = family["ready_on"] + timedelta(days=wait)
            if proposal <= today:
                candidates.append((i, proposal))
        rng.shuffle(candidates)
        matched = set()
        for i, proposal in candidates:
            if len(plan.matches) >= self.n_matches:
                break
            while proposal is not None and proposal <= today and len(plan.matches) < self.n_matches:
                made, proposal = self.match(i, proposal)
                if made:
                    matched.add(i)
        for i, _ in candidates:  # never matched: most of those waiting long gave up
            family = plan.requesting[i]
            if i not in matched and rng.random() < (0.85 if (today - family["ready_on"]).days > 300 else 0.3):
                left = self.day(family["ready_on"], 60, 400)
                if left <= today:
                    family["left_on"] = left
                    self.status(i, left, V.CLOSED, "withdrew while waiting")

    def find_supporting(self, requesting: dict, start: date, end: date | None, children: int) -> int | None:
        """A supporting family available over [start, end) with room for *children* more."""
        rng = self.rng
        reachable = bisect.bisect_right(self.pool_dates, start)
        if not reachable:
            return None
        local = self.by_district.get(requesting["district_code"], [])
        tries = [rng.choice(local) for _ in range(12)] if local else []
        tries += [self.pool[rng.randrange(reachable)] for _ in range(40)]
        for s in tries:
            family = self.plan.supporting[s - self.n_requesting]
            if family["available_from"] > start:
                continue
            until = family["available_until"]
            if until is not None and (end is None or end > until):
                continue
            if self.fits(s, family["capacity_children"], start, end, children):
                return s
        return None

    def fits(self, s: int, capacity: int, start: date, end: date | None, children: int) -> bool:
        intervals = self.load.get(s, [])
        points = [start] + [a for a, _, _ in intervals if start < a and (end is None or a < end)]
        for t in points:
            placed = sum(c for a, b, c in intervals if a <= t and (b is None or t < b))
            if placed + children > capacity:
                return False
        return True

    def match(self, r: int, proposed: date) -> tuple[bool, date | None]:
        """Plan one match of requesting family *r* proposed on *proposed*.

        Returns whether a supporting family was found, and when the family is
        proposed again (after a cancellation or a mismatch), if ever.
        """
        rng, today, plan = self.rng, self.today, self.plan
        family = plan.requesting[r]
        children = min(family["children"], rng.choices((1, 2, 3), weights=(55, 35, 10))[0])
        # The whole life of the match first; then everything after today is cut off.
        intro = self.day(proposed, 5, 21)
        trial = self.day(intro, 7, 28)
        active: date | None = self.day(trial, 49, 63)
        reason = None
        cancelled = rng.random() < 0.09
        if cancelled:
            if rng.random() < 0.4 and (intro - proposed).days >= 2:
                closed = self.day(proposed, 1, (intro - proposed).days - 1)
            else:
                closed = self.day(intro, 1, 4)  # before the trial would start
        else:
            reason = _weighted(rng, END_WEIGHTS)
            if reason == "mismatch" and rng.random() < 0.6:
                closed = self.day(trial, 10, 55)  # during the trial
            elif reason == "goals_reached":
                closed = self.day(trial, 300, 560)
            else:
                closed = self.day(trial, 40, 420)
            if closed <= active:
                active = None
        end = closed if closed <= today else None
        supporting = self.find_supporting(family, proposed, end, children)
        if supporting is None:
            return False, None
        self.load.setdefault(supporting, []).append((proposed, end, children))

        if cancelled:
            steps = [(V.PROPOSED, proposed), (V.INTRODUCTION, intro), (V.CANCELLED, closed)]
            if closed < intro:
                steps.pop(1)
        else:
            steps = [(V.PROPOSED, proposed), (V.INTRODUCTION, intro), (V.TRIAL, trial), (V.ACTIVE, active),
                     (V.ENDED, closed)]
        steps = [(state, on) for state, on in steps if on is not None and on <= today]
        m = {"proposed_on": None, "introduction_on": None, "trial_on": None, "active_on": None, "ended_on": None,
             "cancelled_on": None, "planned_end_on": None, "agreement": None, "agreement_recorded_on": None,
             "end_reason": None, "outcome": None, "children": children, "requesting": r, "supporting": supporting,
             "frequency": None, "hours_per_session": None, "overnight_stays": None}
        for state, on in steps:
            m[DATE_OF[state]] = on
        m["state"] = steps[-1][0]
        supporting_kinds = plan.supporting[supporting - self.n_requesting]["support_kinds"]
        m["support_kinds"] = [k for k in family["support_kinds"] if k in supporting_kinds] or family["support_kinds"][:1]
        if m["active_on"]:
            m["agreement"] = "Om de week op zaterdag van 10 tot 16 uur; het steungezin haalt en brengt."
            m["agreement_recorded_on"] = m["active_on"]
            m["planned_end_on"] = m["active_on"] + timedelta(days=365)
            m.update(frequency="fortnightly", hours_per_session=6.0, overnight_stays=False)
        if m["state"] == V.ENDED:
            m["end_reason"] = reason
            m["outcome"] = _weighted(rng, OUTCOME_WEIGHTS[reason])
        index = len(plan.matches)
        plan.matches.append(m)
        previous = None
        for state, on in steps:
            why = rng.choice(CANCEL_REASONS) if state == V.CANCELLED else (reason if state == V.ENDED else None)
            plan.transitions.append((index, {"from_state": previous, "to_state": state, "on": on, "at": _at(on, rng),
                                             "reason": why}))
            previous = state
        self.extensions(index, m)
        self.evaluations(index, m, r)
        self.contacts(index, m)
        # The requesting family follows the match (as ``matches._families_follow`` does).
        if m["introduction_on"]:
            self.status(r, m["introduction_on"], V.MATCHED, "introduction")
        if m["state"] == V.CANCELLED and m["introduction_on"]:
            self.status(r, m["cancelled_on"], V.WAITING, "match cancelled")
        if m["state"] == V.ENDED:
            back = V.WAITING if reason in WAIT_AGAIN else V.CLOSED
            self.status(r, m["ended_on"], back, "match ended")
            if reason == "consent_withdrawn":
                for consent in self.consents_of.get(r, []):
                    if consent["purpose"] == "processing" and consent["withdrawn_on"] is None:
                        consent["withdrawn_on"] = m["ended_on"]
            if back == V.WAITING and rng.random() < 0.7:
                return True, self.day(m["ended_on"], 10, 120)
            return True, None
        if m["state"] == V.CANCELLED and rng.random() < 0.75:
            return True, self.day(m["cancelled_on"], 7, 90)
        return True, None

    def extensions(self, index: int, m: dict) -> None:
        """Extend a match that goes on past its planned end (both families agreed)."""
        if not m["planned_end_on"]:
            return
        horizon = m["ended_on"] or self.today
        while m["planned_end_on"] < horizon:
            decided = m["planned_end_on"] - EXTENSION_NOTICE
            new_end = add_months(m["planned_end_on"], 6)
            if m["ended_on"] and new_end > m["ended_on"] and m["end_reason"] == "goals_reached":
                new_end = m["ended_on"]
            self.plan.extensions.append((index, {"decided_on": decided, "previous_end_on": m["planned_end_on"],
                                                 "new_end_on": new_end, "both_families_agree": True,
                                                 "note": "Beide gezinnen willen graag verder."}))
            m["planned_end_on"] = new_end

    def evaluations(self, index: int, m: dict, r: int) -> None:
        """The default evaluation plan, up to the end of the match; completed, skipped or still open."""
        rng, today = self.rng, self.today
        if not m["trial_on"]:
            return
        items = default_plan(MatchFacts(
            id=index, state=V.ACTIVE if m["active_on"] else V.TRIAL, proposed_on=m["proposed_on"],
            introduction_on=m["introduction_on"], trial_on=m["trial_on"], active_on=m["active_on"],
            planned_end_on=m["planned_end_on"]))
        if m["ended_on"]:
            items = after_end(items, m["ended_on"])
        no_contact = not any(c["purpose"] == "evaluation_contact" for c in self.consents_of.get(r, []))
        for kind, moment, due in items:
            row = {"kind": kind, "moment": moment, "due_on": due, "completed_on": None, "skipped_reason": None,
                   "satisfaction_requesting": None, "satisfaction_supporting": None, "goal_progress": None,
                   "parenting": None, "parent_wellbeing": None, "children_wellbeing": None, "family_management": None,
                   "decision": None, "notes": None}
            if no_contact:
                row["skipped_reason"] = "no_consent"
            elif due <= today:
                late = rng.random() < (0.3 if (today - due).days < 60 else 0.03)
                completed = due + timedelta(days=rng.randint(-7, 21))
                if not late and completed <= today:
                    row["completed_on"] = completed
                    scale = lambda: min(5, max(0, round(rng.gauss(3.2, 1.0))))  # noqa: E731
                    row.update(satisfaction_requesting=min(5, max(1, round(rng.gauss(4.0, 0.8)))),
                               satisfaction_supporting=min(5, max(1, round(rng.gauss(4.1, 0.7)))),
                               parenting=scale(), parent_wellbeing=scale(), children_wellbeing=scale(),
                               family_management=scale(),
                               goal_progress=rng.choice(("Gaat goed; de ouder heeft meer rust.",
                                                         "De kinderen kijken uit naar het weekend.",
                                                         "Afspraken over halen en brengen bijgesteld.")),
                               decision="end" if kind == "end" else rng.choices(("continue", "adjust", "end"),
                                                                                 weights=(85, 12, 3))[0])
            self.plan.evaluations.append((index, row))

    def contacts(self, index: int, m: dict) -> None:
        """Coordinator contacts around the match, and the volunteers' support sessions while it runs."""
        rng, today = self.rng, self.today
        contacts = self.plan.contacts
        contacts.append((None, index, {"kind": "meeting", "occurred_on": m["proposed_on"],
                                       "duration_minutes": rng.randint(45, 90), "note": "Matchgesprek"}))
        if m["introduction_on"]:
            contacts.append((None, index, {"kind": "visit", "occurred_on": m["introduction_on"],
                                           "duration_minutes": rng.randint(60, 120), "note": "Kennismaking"}))
        if not m["trial_on"]:
            return
        last = m["ended_on"] or today
        day = m["trial_on"]
        weekend = "weekend_stay" in m["support_kinds"]
        while day <= last:
            minutes = rng.randint(600, 1440) if weekend and rng.random() < 0.3 else rng.choice((120, 180, 240, 300, 360))
            contacts.append((None, index, {"kind": "support_session", "occurred_on": day, "duration_minutes": minutes,
                                           "note": None}))
            day += timedelta(days=rng.randint(10, 28))
        day = m["trial_on"] + timedelta(days=rng.randint(20, 40))
        while day <= last:
            contacts.append((None, index, {"kind": rng.choice(("phone", "phone", "email", "visit")), "occurred_on": day,
                                           "duration_minutes": rng.randint(10, 45), "note": None}))
            day += timedelta(days=rng.randint(45, 90))

    # ---------------------------------------------------------------- after the matches

    def reciprocity(self) -> None:
        """A few supporting families were helped themselves once (a requesting family whose goals were reached)."""
        rng, plan = self.rng, self.plan
        helped = sorted((m["ended_on"], m["requesting"]) for m in plan.matches if m["end_reason"] == "goals_reached")
        used = set()
        for i, family in enumerate(plan.supporting):
            if not helped or rng.random() > 0.06:
                continue
            k = bisect.bisect_left(helped, (family["registered_on"], -1))
            if k == 0:
                continue
            ended, r = helped[rng.randrange(k)]
            if r not in used:
                used.add(r)
                family["former_family_id"] = r

    def finish_statuses(self) -> None:
        plan = self.plan
        # supporting families: matched from the introduction while at least one match goes on
        periods: dict[int, list[tuple[date, date | None]]] = {}
        stopped: dict[int, date] = {}
        for m in plan.matches:
            if m["introduction_on"]:
                periods.setdefault(m["supporting"], []).append((m["introduction_on"], m["ended_on"] or m["cancelled_on"]))
            if m["end_reason"] == "supporting_family_stopped":
                stopped[m["supporting"]] = max(m["ended_on"], stopped.get(m["supporting"], m["ended_on"]))
        for s, spans in periods.items():
            events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans if b is not None],
                            key=lambda e: (e[0], e[1]))
            running = 0
            for day, delta in events:
                before = running
                running += delta
                if before == 0 and running > 0:
                    self.status(s, day, V.MATCHED, "match started")
                elif before > 0 and running == 0:
                    self.status(s, day, V.AVAILABLE, "match ended")
            if s in stopped and all(end is not None and end <= stopped[s] for _, end in spans):
                self.status(s, stopped[s], V.CLOSED, "stopped as a supporting family")
        for i, family in enumerate(plan.supporting):
            if family["available_until"]:
                reason = "pausing for a while" if family["stop_status"] == V.PAUSED else "stopped as a supporting family"
                self.status(self.n_requesting + i, family["available_until"], family["stop_status"], reason)

    def histories(self) -> list[dict]:
        """Status change rows and each family's final status."""
        finals = []
        families = self.plan.requesting + self.plan.supporting
        for index in range(len(families)):
            events = sorted(self.status_events.get(index, []), key=lambda e: e[0])  # stable: same-day order kept
            previous, at = None, None
            for day, status, reason in events:
                if status == previous:
                    continue
                moment = _at(day, self.rng)
                at = moment if at is None or moment > at else at + timedelta(minutes=5)  # same day: in order
                self.plan.status_changes.append((index, {"from_status": previous, "to_status": status, "reason": reason,
                                                         "at": at, "by_user_id": None}))
                previous = status
            finals.append((previous, at))
        return finals

    def targets(self) -> None:
        per_year = self.n_matches / YEARS
        for year in range(self.today.year - YEARS + 1, self.today.year + 1):
            low = max(1, int(per_year * self.rng.uniform(0.7, 0.95)))
            self.plan.targets.append({"year": year, "new_matches_min": low,
                                      "new_matches_max": int(low * self.rng.uniform(1.2, 1.5)),
                                      "note": "Afgesproken met de wethouder."})

    def run(self) -> tuple[Plan, list[tuple[str, datetime]]]:
        self.families()
        self.matching()
        self.reciprocity()
        self.finish_statuses()
        finals = self.histories()
        self.targets()
        return self.plan, finals


# --------------------------------------------------------------------------- writing

_PLANNING_ONLY = ("children", "ready_on", "left_on", "available_from", "available_until", "stop_status")


def _insert(table, rows: list[dict], batch_size: int, *, returning: bool = False) -> list[int]:
    """Insert *rows* in batches; with *returning*, their new ids in the order of *rows*.

    On PostgreSQL the ids are drawn from the table's sequence first and
    inserted explicitly, which keeps every batch on psycopg's fast
    ``executemany`` pipeline; elsewhere they come back through ``RETURNING``.
    """
    if not rows:
        return []
    ids: list[int] = []
    statement = insert(table)
    if returning and db.session.get_bind().dialect.name == "postgresql":
        ids = list(db.session.scalars(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
            {"table": table.name, "n": len(rows)}))
        rows = [{**row, "id": i} for row, i in zip(rows, ids)]
        returning = False
    elif returning:
        statement = statement.returning(table.c.id, sort_by_parameter_order=True)
    for start in range(0, len(rows), batch_size):
        # encrypted columns are sealed here: Core INSERTs do not pass through the ORM's events (core/crypto)
        chunk = encrypted.seal_rows(table, [dict(row) for row in rows[start:start + batch_size]],
                                    db.session.connection())
        result = db.session.execute(statement, chunk)
        if returning:
            ids.extend(result.scalars().all())
    return ids


def _write(plan: Plan, finals: list, tenant_id: int, today: date, batch_size: int) -> dict[str, int]:
    created = _at(today, random.Random(0))
    common = {"tenant_id": tenant_id}

    def family_row(family: dict, final) -> dict:
        status, changed = final
        row = {k: v for k, v in family.items() if k not in _PLANNING_ONLY}
        base = {"version": 1, "status": status, "status_changed_at": changed, "external_ref": None,
                "capacity_children": None, "capacity_age_min": None, "capacity_age_max": None, "wishes": None,
                "preferences": None, "referrer_name": None, "referrer_organisation": None, "referrer_email": None,
                "referrer_phone": None, "problem_areas": [], "household_income": None, "arrival_year": None,
                "in_professional_care": False, "triage_outcome": None, "triage_on": None, "references_checked": 0,
                "training_attended_on": None, "home_visit_on": None, "agreement_signed_on": None,
                "former_family_id": None, "created_at": _at(family["registered_on"], random.Random(1)),
                "updated_at": changed}
        return {**base, **row, **common}

    n_req = len(plan.requesting)
    requesting_ids = _insert(Family.__table__, [family_row(f, finals[i]) for i, f in enumerate(plan.requesting)],
                             batch_size, returning=True)
    supporting_rows = []
    for i, f in enumerate(plan.supporting):
        row = family_row(f, finals[n_req + i])
        if f["former_family_id"] is not None:
            row["former_family_id"] = requesting_ids[f["former_family_id"]]
        supporting_rows.append(row)
    family_ids = requesting_ids + _insert(Family.__table__, supporting_rows, batch_size, returning=True)

    def child_rows(pairs, key: str, ids: list[int], extra: dict | None = None) -> list[dict]:
        return [{**row, key: ids[i], **common, **(extra or {})} for i, row in pairs]

    _insert(Member.__table__, child_rows(plan.members, "family_id", family_ids, {"external_ref": None}), batch_size)
    _insert(FamilyStatusChange.__table__, child_rows(plan.status_changes, "family_id", family_ids), batch_size)
    _insert(IntakeMeeting.__table__, child_rows(plan.intake_meetings, "family_id", family_ids,
                                                {"coordinator_user_id": None, "created_at": created}), batch_size)
    _insert(Decision.__table__, child_rows(plan.decisions, "family_id", family_ids,
                                           {"decided_by_user_id": None, "overrides_id": None, "override_reason": None,
                                            "source": V.HISTORICAL, "confirmed_by_user_id": None,
                                            "confirmed_at": None}),
            batch_size)
    _insert(Consent.__table__, child_rows(plan.consents, "family_id", family_ids), batch_size)
    match_rows = []
    for m in plan.matches:
        row = {k: v for k, v in m.items() if k not in ("requesting", "supporting")}
        match_rows.append({**row, "requesting_family_id": family_ids[m["requesting"]],
                           "supporting_family_id": family_ids[m["supporting"]], "version": 1,
                           "coordinator_user_id": None, "note": None, "external_ref": None,
                           "created_at": _at(m["proposed_on"], random.Random(2)), **common})
    match_ids = _insert(Match.__table__, match_rows, batch_size, returning=True)
    _insert(MatchTransition.__table__, child_rows(plan.transitions, "match_id", match_ids, {"by_user_id": None}),
            batch_size)
    _insert(MatchExtension.__table__, child_rows(plan.extensions, "match_id", match_ids, {"by_user_id": None}),
            batch_size)
    _insert(Evaluation.__table__, child_rows(plan.evaluations, "match_id", match_ids, {"by_user_id": None}), batch_size)
    _insert(Contact.__table__, [{**row, "family_id": None if f is None else family_ids[f],
                                 "match_id": None if k is None else match_ids[k], "by_user_id": None, **common}
                                for f, k, row in plan.contacts], batch_size)
    _insert(ProgrammeTarget.__table__, [{**t, **common} for t in plan.targets], batch_size)
    return {
        "families": len(family_ids), "requesting": n_req, "supporting": len(plan.supporting),
        "members": len(plan.members), "status_changes": len(plan.status_changes),
        "intake_meetings": len(plan.intake_meetings), "decisions": len(plan.decisions),
        "consents": len(plan.consents), "matches": len(match_ids), "transitions": len(plan.transitions),
        "extensions": len(plan.extensions), "evaluations": len(plan.evaluations), "contacts": len(plan.contacts),
        "targets": len(plan.targets),
    }


def plan_municipality(municipality: Municipality, families: int, matches: int, *, seed: int = 0,
                      today: date | None = None) -> Plan:
    """The data one municipality would get, in memory (no database writes). Deterministic."""
    plan, _ = _Planner(municipality, families, matches, seed, today or date.today()).run()
    return plan


def generate(municipality_ids: Iterable[int], families_per_tenant: int, matches_per_tenant: int, *, seed: int = 0,
             today: date | None = None, batch_size: int = 2000) -> dict[int, dict[str, int]]:
    """Write programme data for each municipality; returns the row counts per municipality id.

    ``matches_per_tenant`` is reached when the families allow it (about one
    match per two families or fewer); with too few families there are fewer
    matches. Commits once per municipality, inside its ``tenant_scope``.
    """
    today = today or date.today()
    counts = {}
    for municipality_id in municipality_ids:
        municipality = db.session.scalar(select(Municipality).where(Municipality.id == municipality_id))
        if municipality is None:
            raise ValueError(f"no municipality {municipality_id}")
        planner = _Planner(municipality, families_per_tenant, matches_per_tenant, seed, today)
        plan, finals = planner.run()
        with tenant_scope(municipality_id):
            try:
                counts[municipality_id] = _write(plan, finals, municipality_id, today, batch_size)
                db.session.commit()
            except BaseException:
                db.session.rollback()
                raise
    return counts
