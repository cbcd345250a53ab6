"""The business case of a crafted De Wolden-like municipality, figure by figure against values computed by hand.

De Wolden (Drenthe) funds its programme with a lump sum of € 22,000 a year from 1 January 2025. Ten requesting
families with eighteen children had a match in its trial or active phase in 2026; some ended with an outcome that
counts as care prevented. Around them: families that do not count (a match that ended in 2025, one that never
reached its trial, one that starts after the statement's date, one still waiting). Everything is made through the
programme's services, as a coordinator would, on both backends.
"""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from core.auth import roles as R
from core.extensions import db
from core.policy import funding
from core.policy.types import Section
from core.programme import consent, families, matches
from core.reports import business_case
from tenants import onboarding
from tenants.context import cross_tenant_scope, tenant_scope
from tests.conftest import enable_policy

YEAR_2026 = (date(2026, 1, 1), date(2026, 12, 31))
AS_OF = date(2026, 10, 31)  # the statement's date: what was delivered is counted up to it
LUMP_SUM = {"funding.lump_sum": {"amount_per_year": "22000", "starts_on": "2025-01-01"}}


def _requesting(name: str, children: int, registered_on: date):
    members = [{"role": "adult", "first_name": "Ouder", "last_name": name}] + [
        {"role": "child", "first_name": f"Kind {n}", "last_name": name} for n in range(1, children + 1)]
    family = families.create({"kind": "requesting", "display_name": f"Familie {name}", "status": "waiting",
                              "registered_on": registered_on, "members": members})
    consent.give(family, "processing", "2025-01", registered_on)
    return family


def _supporting(name: str, registered_on: date):
    family = families.create({"kind": "supporting", "display_name": f"Steungezin {name}", "status": "available",
                              "capacity_children": 3, "capacity_age_min": 0, "capacity_age_max": 18,
                              "registered_on": registered_on,
                              "members": [{"role": "adult", "first_name": "Steun", "last_name": name,
                                           "vog_issued_on": registered_on}]})
    consent.give(family, "processing", "2025-01", registered_on)
    return family


def _match(requesting, trial_on: date | None, active_on: date | None = None, ended_on: date | None = None,
           outcome: str | None = None, end_reason: str = "goals_reached", proposed_on: date | None = None):
    """A match of *requesting* with a supporting family of its own, taken through its steps on the given days."""
    proposed_on = proposed_on or trial_on - timedelta(days=14)
    supporting = _supporting(requesting.display_name.split(" ", 1)[1], proposed_on - timedelta(days=30))
    match = matches.propose({"requesting_family_id": requesting.id, "supporting_family_id": supporting.id,
                             "proposed_on": proposed_on, "children": 1, "support_kinds": [], "note": None})
    matches.transition(match, "introduction", proposed_on + timedelta(days=7))
    if trial_on:
        matches.transition(match, "trial", trial_on)
    if active_on:
        matches.transition(match, "active", active_on, agreement="Elke woensdagmiddag")
    if ended_on:
        matches.transition(match, "ended", ended_on, end_reason=end_reason, outcome=outcome)
    return match


def de_wolden(policy: dict | None = LUMP_SUM) -> int:
    """The crafted municipality; returns its id (committed)."""
    with cross_tenant_scope("platform-maintenance"):
        drenthe = onboarding.add_consortium("Zuidwest-Drenthe", "zuidwest-drenthe")
        municipality = onboarding.add_municipality(drenthe, name="De Wolden", cbs_code="GM1690", slug="de-wolden",
                                                   inhabitants=24_700)
        db.session.commit()
        tenant_id = municipality.id
    with tenant_scope(tenant_id):
        # the ten families supported in 2026, eighteen children: 2+1+3+2+1+2+2+1+2+2
        jansen = _requesting("Jansen", 2, date(2025, 1, 6))
        de_boer = _requesting("de Boer", 1, date(2025, 9, 1))
        mulder = _requesting("Mulder", 3, date(2025, 10, 1))
        smit = _requesting("Smit", 2, date(2025, 4, 1))
        bos = _requesting("Bos", 1, date(2025, 2, 3))
        kok = _requesting("Kok", 2, date(2025, 8, 4))
        post = _requesting("Post", 2, date(2025, 12, 1))
        hoekstra = _requesting("Hoekstra", 1, date(2026, 3, 2))
        dijkstra = _requesting("Dijkstra", 2, date(2026, 7, 1))
        visser = _requesting("Visser", 2, date(2025, 1, 20))
        _match(jansen, date(2025, 9, 1), date(2025, 10, 27))  # running
        _match(de_boer, date(2025, 11, 3), date(2026, 1, 5))  # running
        _match(mulder, date(2025, 12, 1), ended_on=date(2026, 1, 9), outcome="unknown", end_reason="mismatch")
        _match(mulder, date(2026, 1, 12), date(2026, 3, 9))  # a second match: the family counts once
        _match(smit, date(2025, 6, 2), date(2025, 8, 4), date(2026, 2, 27), "no_further_care")  # care prevented
        _match(bos, date(2025, 4, 7), date(2025, 6, 2), date(2026, 4, 30), "lighter_support")  # care prevented
        _match(kok, date(2025, 10, 6), date(2025, 12, 1), date(2026, 6, 30), "no_further_care")  # care prevented
        _match(post, date(2026, 2, 2), date(2026, 4, 6), date(2026, 9, 30), "professional_youth_care")  # not counted
        _match(hoekstra, date(2026, 5, 4), date(2026, 7, 6))  # running
        _match(dijkstra, date(2026, 9, 7))  # in its trial period
        _match(visser, date(2025, 3, 3), date(2025, 5, 5), date(2026, 1, 1), "unknown")  # one day of 2026
        # families that do not count in 2026 (up to 31 October)
        meijer = _requesting("Meijer", 3, date(2025, 2, 1))
        _match(meijer, date(2025, 3, 3), date(2025, 5, 5), date(2025, 12, 31), "no_further_care")  # ended in 2025
        de_vries = _requesting("de Vries", 2, date(2026, 1, 5))
        _match(de_vries, None, proposed_on=date(2026, 2, 2))  # introduced, never in its trial
        bakker = _requesting("Bakker", 1, date(2026, 9, 1))
        _match(bakker, date(2026, 11, 16))  # begins after the statement's date
        _requesting("Peters", 1, date(2026, 6, 1))  # waiting
        db.session.commit()
    if policy is not None:
        enable_policy(tenant_id, policy)
    return tenant_id


def test_the_business_case_figure_by_figure(app):
    with app.app_context():
        tenant_id = de_wolden()
        case = business_case.for_municipality(tenant_id, YEAR_2026, AS_OF)
        assert (case.municipality, case.period_start, case.period_end, case.as_of) == (
            "De Wolden", date(2026, 1, 1), date(2026, 12, 31), date(2026, 10, 31))
        # costs: 22,000 × 365/365 for 2026, nothing for 2019, before the subsidy began
        assert case.statement.total == case.cost == Decimal("22000.00")
        assert case.statement.municipality_pays == Decimal("22000.00") and case.statement.funds_pay == {}
        assert case.statement.consortium_split == {}
        in_2019 = business_case.for_municipality(tenant_id, (date(2019, 1, 1), date(2019, 12, 31)), AS_OF)
        assert in_2019.statement.total == in_2019.cost == Decimal("0.00")
        assert (in_2019.families, in_2019.children, in_2019.cost_per_family, in_2019.cost_per_child) == (
            0, 0, None, None)
        # reach: the ten families (Mulder once), eighteen children; per family 22,000 / 10, per child 22,000 / 18
        assert (case.families, case.children) == (10, 18)
        assert case.cost_per_family == Decimal("2200.00")
        assert case.cost_per_child == Decimal("1222.22")  # 1222.222…
        # avoided costs: Smit, Bos and Kok ended with care prevented (Post's outcome and Visser's do not count);
        # 3 × (10 % × 80,000 + 90 % × 10,000) × 1 year; the range with 5 % and 20 %
        assert case.avoided.prevented == 3
        assert case.avoided_expected == Decimal("51000.00")  # 3 × (8,000 + 9,000)
        assert case.avoided_low == Decimal("40500.00")  # 3 × (4,000 + 9,500)
        assert case.avoided_high == Decimal("72000.00")  # 3 × (16,000 + 8,000)
        assert len(case.assumptions) == 4


def test_the_statement_date_bounds_reach_and_outcomes(app):
    with app.app_context():
        tenant_id = de_wolden()
        mid_year = business_case.for_municipality(tenant_id, YEAR_2026, date(2026, 6, 29))
        # Dijkstra's trial begins on 7 September; Kok's match ends on 30 June, after this statement date
        assert (mid_year.families, mid_year.children) == (9, 16)
        assert mid_year.avoided.prevented == 2 and mid_year.avoided_expected == Decimal("34000.00")  # 2 × 17,000
        assert mid_year.statement.total == Decimal("22000.00")  # a subsidy is charged for its days in the period
        later = business_case.for_municipality(tenant_id, YEAR_2026, date(2027, 3, 1))
        assert later.as_of == date(2026, 12, 31)  # never after the period's end
        assert (later.families, later.children) == (11, 19)  # Bakker's match began on 16 November


def test_without_a_start_date_the_subsidy_counts_from_the_programmes_start(app):
    with app.app_context():
        tenant_id = de_wolden({"funding.lump_sum": {"amount_per_year": "22000"}})  # a policy stored before
        # the programme began with the first family registered, 6 January 2025 (De Wolden joined Koppel later)
        assert funding.programme_started_on(tenant_id) == date(2025, 1, 6)
        assert funding.compute(tenant_id, date(2019, 1, 1), date(2019, 12, 31), AS_OF).total == Decimal("0.00")
        assert funding.compute(tenant_id, date(2025, 1, 1), date(2025, 12, 31), AS_OF).total == \
            Decimal("21698.63")  # 22,000 × 360/365 (6 January to 31 December) = 21698.630…
        assert funding.compute(tenant_id, *YEAR_2026, AS_OF).total == Decimal("22000.00")


def test_per_match_billing_counts_only_what_was_delivered_up_to_the_statement_date(app):
    with app.app_context():
        tenant_id = de_wolden({"funding.per_match": {"fee_per_match": "1250", "fee_per_active_month": "150"}})
        statement = funding.compute(tenant_id, *YEAR_2026, as_of=date(2026, 6, 30))
        # trials begun 1 January to 30 June 2026: Mulder's second match, Post, Hoekstra (Dijkstra's in September)
        # days running in 1 January to 30 June: Jansen 181, de Boer 181, Mulder 9 + 170, Smit 58, Bos 120, Kok 181,
        # Post 149 (from 2 February), Hoekstra 58 (from 4 May), Visser 1: 1108 days = 1108 / 30.4375 = 36.40 months
        assert [line.amount for line in statement.lines] == [Decimal("3750.00"),  # 3 × 1,250
                                                             Decimal("5460.00")]  # 36.40 × 150
        assert statement.total == Decimal("9210.00") and statement.as_of == date(2026, 6, 30)
        activity = funding.activity(tenant_id, *YEAR_2026, as_of=date(2026, 6, 30))
        assert (activity.matches_started, activity.active_match_months) == (3, Decimal("36.40"))
        # not one day after the statement's date: a day later, every running match adds its day
        next_day = funding.activity(tenant_id, *YEAR_2026, as_of=date(2026, 7, 1))
        # 1 July adds a day for each of the 5 running then (Jansen, de Boer, Mulder, Post, Hoekstra):
        assert next_day.active_match_months == Decimal("36.57")  # 1113 / 30.4375 = 36.5667…
        before = funding.compute(tenant_id, *YEAR_2026, as_of=date(2025, 12, 31))  # before the period began
        assert before.total == Decimal("0.00")


def _cells(section: Section):
    return [cell for row in section.rows for cell in row]


def test_the_sections_read_in_dutch_with_every_assumption_sourced_or_marked_as_own(app):
    with app.app_context():
        tenant_id = de_wolden()
        case = business_case.for_municipality(tenant_id, YEAR_2026, AS_OF)
        found = business_case.sections({"De Wolden": case}, "nl")
    by_title = {section.title: section for section in found}
    assert list(by_title) == ["Kosten en bereik", "Kosten", "Betaald door", "Vermeden kosten", "Aannames"]
    reach = by_title["Kosten en bereik"]
    assert reach.columns == ("Kengetal", "De Wolden")
    assert reach.rows == (("Kosten voor de gemeente in de periode", Decimal("22000.00")),
                          ("Ondersteunde gezinnen", 10), ("Kinderen in de ondersteunde gezinnen", 18),
                          ("Kosten per gezin", Decimal("2200.00")), ("Kosten per kind", Decimal("1222.22")))
    assert reach.notes[0] == "Periode 1 januari 2026 t/m 31 december 2026; wat geleverd is, telt tot en met " \
                             "31 oktober 2026."
    assert by_title["Kosten"].rows == (
        ("Subsidie 2026: 1 januari 2026 t/m 31 december 2026, €\u00a022.000,00 per jaar × 365/365 dagen",
         Decimal("22000.00")),
        ("Totaal", Decimal("22000.00")))
    assert by_title["Betaald door"].rows == (("De Wolden", Decimal("22000.00")),)
    avoided = by_title["Vermeden kosten"]
    assert avoided.rows == (("Beëindigde koppelingen met voorkomen zorg", 3),
                            ("Verwachte vermeden kosten", Decimal("51000.00")),
                            ("Vermeden kosten, laag", Decimal("40500.00")),
                            ("Vermeden kosten, hoog", Decimal("72000.00")))
    method = ("Van de 3 koppelingen die in deze periode eindigden met een uitkomst die telt als voorkomen zorg (geen "
              "verdere hulp nodig of lichtere ondersteuning), nemen we aan dat zonder steungezin 10% (bandbreedte "
              "5–20%) een jaar lang een uithuisplaatsing nodig had gehad, en de rest een jaar lang geïndiceerde "
              "jeugdhulp.")
    assert avoided.notes[0] == method
    assumptions = by_title["Aannames"]
    assert assumptions.columns == ("Aanname", "Waarde", "Bron", "Uitgever", "Jaar", "Link", "Soort bron")
    assert assumptions.rows == (
        ("Aandeel van de voorkomen gevallen dat tot een uithuisplaatsing had geleid", "10% (bandbreedte 5–20%)",
         "Eigen aanname van de gemeente", None, None, None, "eigen aanname"),
        ("Kosten van een uithuisplaatsing", "€\u00a080.000,00 per jaar", "Eigen aanname van de gemeente", None, None,
         None, "eigen aanname"),
        ("Kosten van geïndiceerde jeugdhulp", "€\u00a010.000,00 per jaar", "Eigen aanname van de gemeente", None,
         None, None, "eigen aanname"),
        ("Horizon: hoe lang de voorkomen zorg had geduurd", "1 jaar", "Eigen aanname van de gemeente", None, None,
         None, "eigen aanname"),
    )  # the built-in figures name no source: they are the municipality's own until it gives its own
    assert assumptions.notes and assumptions.notes[0].startswith("Een aanname zonder bron is een eigen aanname")
    _no_english_and_no_bare_fraction(found)


def _no_english_and_no_bare_fraction(found: list[Section]) -> None:
    english = {"Costs", "Costs and reach", "Paid by", "Avoided costs", "Assumptions", "Figure", "Description",
               "Amount", "Payer", "Total", "Source", "Value", "Year", "Publisher", "Assumption", "Municipality"}
    for section in found:
        words = [section.title, *section.columns, *section.notes,
                 *(cell for cell in _cells(section) if isinstance(cell, str))]
        assert not english & set(words), (section.title, english & set(words))
        assert all(isinstance(cell, (str, int, Decimal)) or cell is None for cell in _cells(section)), section.title
        assert all(isinstance(note, str) for note in section.notes), section.title
        for text in words:  # never "0,3 × € 80.000": a fraction of a placement
            assert not re.search(r"\b0[,.]\d+\s*×", text), text


def test_configured_sources_are_printed_with_their_kind_and_old_free_texts_as_the_municipalitys_own(app):
    policy = {"funding.lump_sum": {
        "amount_per_year": "22000", "starts_on": "2025-01-01", "placement_cost_per_year": "95000",
        "placement_cost_source": {"title": "Kostprijs jeugdhulp De Wolden 2025", "publisher": "Gemeente De Wolden",
                                  "year": 2025, "url": "https://www.dewolden.example/kostprijs", "kind": "primary"},
        "placement_share_source": {"title": "Uithuisplaatsingen in Drenthe", "publisher": "Regio Drenthe",
                                   "year": 2024, "kind": "secondary"},
        "care_cost_source": "Gemiddelde van onze jeugdhulpfacturen 2025",
    }}
    with app.app_context():
        tenant_id = de_wolden(policy)
        case = business_case.for_municipality(tenant_id, YEAR_2026, AS_OF)
        dutch, english = business_case.sections({"De Wolden": case}, "nl"), business_case.sections(
            {"De Wolden": case}, "en")
    assert case.avoided_expected == Decimal("55500.00")  # 3 × (10 % × 95,000 + 90 % × 10,000) = 3 × 18,500
    assert case.avoided_low == Decimal("42750.00")  # 3 × (4,750 + 9,500)
    assert case.avoided_high == Decimal("81000.00")  # 3 × (19,000 + 8,000)
    assumptions = {s.title: s for s in dutch}["Aannames"]
    assert assumptions.rows == (
        ("Aandeel van de voorkomen gevallen dat tot een uithuisplaatsing had geleid", "10% (bandbreedte 5–20%)",
         "Uithuisplaatsingen in Drenthe", "Regio Drenthe", "2024", None, "secundaire bron"),
        ("Kosten van een uithuisplaatsing", "€\u00a095.000,00 per jaar", "Kostprijs jeugdhulp De Wolden 2025",
         "Gemeente De Wolden", "2025", "https://www.dewolden.example/kostprijs", "primaire bron"),
        ("Kosten van geïndiceerde jeugdhulp", "€\u00a010.000,00 per jaar",
         "Eigen aanname van de gemeente: Gemiddelde van onze jeugdhulpfacturen 2025", None, None, None,
         "eigen aanname"),  # a free text is the municipality's own description, never a source
        ("Horizon: hoe lang de voorkomen zorg had geduurd", "1 jaar", "Eigen aanname van de gemeente", None, None,
         None, "eigen aanname"),
    )
    in_english = {s.title: s for s in english}["Assumptions"]
    assert [row[2] for row in in_english.rows] == [
        "Uithuisplaatsingen in Drenthe", "Kostprijs jeugdhulp De Wolden 2025",
        "The municipality's own assumption: Gemiddelde van onze jeugdhulpfacturen 2025",
        "The municipality's own assumption"]
    assert [row[6] for row in in_english.rows] == ["secondary source", "primary source", "own assumption",
                                                   "own assumption"]
    for row in assumptions.rows:  # every assumption: a source with its publisher, year and kind, or marked as own
        if row[2].startswith("Eigen aanname van de gemeente"):
            assert row[6] == "eigen aanname"
        else:
            assert row[3] and row[4] and row[6] in ("primaire bron", "secundaire bron")


def test_a_consortium_side_by_side_with_a_total_column(app):
    with app.app_context():
        tenant_id = de_wolden()
        with cross_tenant_scope("platform-maintenance"):
            westerveld = onboarding.add_municipality(_consortium_of(tenant_id), name="Westerveld", cbs_code="GM1701",
                                                     slug="westerveld", inhabitants=20_000)
            db.session.commit()
            other = westerveld.id
        with tenant_scope(other):
            family = _requesting("Zwart", 2, date(2025, 6, 2))
            _match(family, date(2026, 3, 2), date(2026, 5, 4))
            db.session.commit()
        enable_policy(other, {"funding.lump_sum": {"amount_per_year": "11000", "starts_on": "2026-01-01"}})
        cases = {"De Wolden": business_case.for_municipality(tenant_id, YEAR_2026, AS_OF),
                 "Westerveld": business_case.for_municipality(other, YEAR_2026, AS_OF)}
        found = business_case.sections(cases, "nl")
    by_title = {section.title: section for section in found}
    reach = by_title["Kosten en bereik"]
    assert reach.columns == ("Kengetal", "De Wolden", "Westerveld", "Totaal")
    assert reach.rows == (
        ("Kosten voor de gemeente in de periode", Decimal("22000.00"), Decimal("11000.00"), Decimal("33000.00")),
        ("Ondersteunde gezinnen", 10, 1, 11),
        ("Kinderen in de ondersteunde gezinnen", 18, 2, 20),
        ("Kosten per gezin", Decimal("2200.00"), Decimal("11000.00"), Decimal("3000.00")),  # 33,000 / 11
        ("Kosten per kind", Decimal("1222.22"), Decimal("5500.00"), Decimal("1650.00")),  # 33,000 / 20
    )
    avoided = by_title["Vermeden kosten"]
    assert avoided.columns == ("Kengetal", "De Wolden", "Westerveld", "Totaal")
    assert avoided.rows[1] == ("Verwachte vermeden kosten", Decimal("51000.00"), Decimal("0.00"), Decimal("51000.00"))
    assert avoided.notes[0].startswith("De Wolden: Van de 3 koppelingen") and \
        avoided.notes[1].startswith("Westerveld: Geen koppeling eindigde")
    assert by_title["Kosten"].columns == ("Gemeente", "Omschrijving", "Bedrag")
    assert by_title["Kosten"].rows[-1] == ("Westerveld", "Totaal", Decimal("11000.00"))
    assert by_title["Aannames"].columns[0] == "Gemeente" and len(by_title["Aannames"].rows) == 8
    _no_english_and_no_bare_fraction(found)


def _consortium_of(tenant_id: int):
    from tenants.models import Municipality

    return db.session.get(Municipality, tenant_id).consortium


def test_no_business_case_without_a_funding_model(app):
    with app.app_context():
        tenant_id = de_wolden(policy=None)
        assert business_case.for_municipality(tenant_id, YEAR_2026, AS_OF) is None
        assert business_case.sections({}, "nl") == []


def test_the_funding_statement_endpoint_renders_the_business_case(app, client, world):
    from tests.test_policy import _put

    plugins = {**LUMP_SUM, "report.csv": {}}
    assert _put(client, world, "aalten", plugins).status_code == 201
    admin = world.bearer(R.TENANT_ADMIN)
    csv_file = client.get("/api/v1/aalten/funding-statement?year=2026&as_of=2026-10-31&format=csv", headers=admin)
    assert csv_file.status_code == 200, csv_file.get_data(as_text=True)
    text = csv_file.get_data(as_text=True)
    for heading in ("Kosten en bereik", "Ondersteunde gezinnen", "Vermeden kosten", "Aannames",
                    "Eigen aanname van de gemeente"):
        assert heading in text, heading
    assert "Avoided costs" not in text and "Costs" not in text
