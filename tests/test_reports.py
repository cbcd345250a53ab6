"""The report builder: every figure of a small crafted municipality against a hand count, a consortium's
members side by side, a funder's report private by construction, and the layout in both languages.

The data is made by inserting model rows directly (as tests/test_kpis.py does); each expected figure is a
literal with its hand count beside it. Period: 1 January to 30 June 2026, reference date 30 June 2026.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import event

from core.extensions import db
from core.messages import Message
from core.policy.types import Suppressed
from core.programme import vocabulary as V
from core.programme.kpis import Period
from core.programme.models import Contact, Evaluation, Family, Match, Member, ProgrammeTarget
from core.reports import builder, layout, privacy
from core.reports.model import FUNDER, STAFF, ReportScope
from core.scheduling.models import EarlyWarning, KpiSnapshot
from tenants import onboarding
from tenants.context import cross_tenant_scope, tenant_scope

PERIOD = Period(date(2026, 1, 1), date(2026, 6, 30))
AS_OF = date(2026, 6, 30)
KEY = b"funder-one-secret-key-0123456789"
OTHER_KEY = b"funder-two-secret-key-9876543210"
W = Suppressed(5)  # a withheld count under the default threshold 4


@dataclass
class Town:
    ids: dict
    families: dict  # name -> id (Aalten)


def add(row):
    db.session.add(row)
    db.session.flush()
    return row


def family(name, kind=V.REQUESTING, registered_on=date(2025, 6, 1), status=V.MATCHED, children=(), **values):
    """A family with one adult (named, with a birth date and an address) and its children (name, birth date)."""
    f = add(Family(kind=kind, display_name=f"Familie {name}", registered_on=registered_on, status=status,
                   street="Dorpsstraat", house_number=str(len(name)), postcode="7121 AB", city="Aalten",
                   phone="0543-123456", email=f"{name.lower()}@example.org", wishes=f"Graag hulp voor {name}",
                   **values))
    add(Member(family_id=f.id, role="adult", first_name=f"Ouder{name}", last_name=name,
               date_of_birth=date(1988, 4, 17)))
    for first, born in children:
        add(Member(family_id=f.id, role="child", first_name=first, last_name=name, date_of_birth=born))
    return f


def match(requesting, supporting, proposed_on, **values):
    state = next((s for s, c in (("cancelled", "cancelled_on"), ("ended", "ended_on"), ("active", "active_on"),
                                 ("trial", "trial_on")) if values.get(c)), "proposed")
    return add(Match(requesting_family_id=requesting.id, supporting_family_id=supporting.id, proposed_on=proposed_on,
                     state=state, note=f"Notitie over {requesting.display_name}", **values))


def evaluation(m, moment, completed_on, scores):
    add(Evaluation(match_id=m.id, kind="periodic" if moment == "start" else "end", moment=moment,
                   due_on=completed_on, completed_on=completed_on, notes="Vrije tekst van de evaluatie",
                   **dict(zip(V.WELLBEING_SCALES, scores))))


def craft_aalten() -> dict:
    """Aalten's programme (call in its tenant scope); returns the families' ids by name."""
    r1 = family("Jansen", registered_on=date(2025, 12, 1),
                children=[("Bo", date(2020, 3, 4)), ("Cas", date(2023, 5, 6))])
    r2 = family("Boer", registered_on=date(2026, 1, 10), children=[("Daan", date(2012, 7, 1))],
                triage_outcome="fits", triage_on=date(2026, 1, 15))
    r3 = family("Smit", registered_on=date(2025, 9, 1), status=V.CLOSED, children=[("Eva", None)])
    r4 = family("Visser", registered_on=date(2026, 4, 1), status=V.WAITING, district_code="WK019701",
                triage_outcome="fits", triage_on=date(2026, 4, 5))
    r5 = family("Mulder", registered_on=date(2024, 3, 1), status=V.CLOSED)
    r6 = family("Bos", registered_on=date(2024, 12, 1))
    r7 = family("Dekker", registered_on=date(2026, 1, 20), status=V.CLOSED, triage_outcome="too_heavy_referred",
                triage_on=date(2026, 2, 1))
    s1 = family("Bakker", V.SUPPORTING, registered_on=date(2025, 6, 1), status=V.AVAILABLE, district_code="WK019701")
    s2 = family("Meijer", V.SUPPORTING, registered_on=date(2026, 1, 5), former_family_id=r3.id)
    s3 = family("Vos", V.SUPPORTING, registered_on=date(2025, 1, 1), status=V.AVAILABLE)
    s4 = family("Peters", V.SUPPORTING, registered_on=date(2024, 11, 1))
    m1 = match(r1, s1, date(2026, 1, 20), introduction_on=date(2026, 1, 25), trial_on=date(2026, 2, 1),
               active_on=date(2026, 3, 1), ended_on=date(2026, 5, 31), end_reason="goals_reached",
               outcome="no_further_care", frequency="fortnightly", hours_per_session=4.0)
    m2 = match(r2, s2, date(2026, 3, 1), introduction_on=date(2026, 3, 5), trial_on=date(2026, 3, 15),
               active_on=date(2026, 4, 15), frequency="weekly", hours_per_session=3.0)
    m3 = match(r3, s3, date(2025, 9, 20), trial_on=date(2025, 10, 1), active_on=date(2025, 11, 1),
               ended_on=date(2026, 1, 31), end_reason="mismatch", outcome="lighter_support")
    match(r4, s1, date(2026, 4, 10), cancelled_on=date(2026, 4, 20))
    match(r5, s3, date(2024, 4, 20), trial_on=date(2024, 5, 1), active_on=date(2024, 6, 1),
          ended_on=date(2025, 3, 1), end_reason="goals_reached", outcome="no_further_care")
    match(r6, s4, date(2025, 1, 1), trial_on=date(2025, 1, 10), active_on=date(2025, 2, 10))
    evaluation(m1, "start", date(2026, 2, 15), (2, 3, 2, 3))
    evaluation(m1, "end", date(2026, 6, 1), (4, 4, 3, 4))
    evaluation(m3, "start", date(2025, 10, 10), (3, 2, 3, 2))
    evaluation(m3, "end", date(2026, 2, 1), (3, 3, 4, 3))
    add(Contact(match_id=m1.id, kind="support_session", occurred_on=date(2026, 3, 10), duration_minutes=120,
                note="Verslag van de middag"))
    add(Contact(match_id=m2.id, kind="support_session", occurred_on=date(2026, 4, 20), duration_minutes=180))
    add(ProgrammeTarget(year=2026, new_matches_min=10, new_matches_max=15, note="Eigen doel"))
    for month, code in ((date(2026, 3, 1), "no_new_match"), (date(2026, 5, 1), "long_wait")):
        add(EarlyWarning(period=month, code=code, figures={}, message=Message(
            "The longest wait is %(longest)s days, above the target of %(threshold)s days (%(waiting)s families wait; "
            "the median wait is %(median)s days).", {"longest": 95, "threshold": 90, "waiting": 1, "median": 95},
            code=code).as_dict()))
    for month, started, running in ((date(2026, 4, 1), 0, 2), (date(2026, 5, 1), 0, 2)):
        add(KpiSnapshot(period=month, figures={"matches": {"started": started, "running_now": running},
                                               "waiting": {"families_waiting_now": 1},
                                               "volunteering": {"logged_hours": 2.0}}))
    return {f.display_name.removeprefix("Familie "): f.id for f in (r1, r2, r3, r4, r5, r6, r7, s1, s2, s3, s4)}


@pytest.fixture
def town(app):
    """Aalten (crafted above) and Berkelland (one match) in Achterhoek; Druten (one match) in another region."""
    with app.app_context():
        with cross_tenant_scope("platform-maintenance"):
            achterhoek = onboarding.add_consortium("Achterhoek", "achterhoek")
            nijmegen = onboarding.add_consortium("Nijmegen", "nijmegen-regio")
            ids = {"achterhoek": achterhoek.id, "nijmegen": nijmegen.id}
            for consortium, name, code, inhabitants in ((achterhoek, "Aalten", "GM0197", 27500),
                                                        (achterhoek, "Berkelland", "GM1859", 44600),
                                                        (nijmegen, "Druten", "GM0225", 19900)):
                ids[name.lower()] = onboarding.add_municipality(consortium, name=name, cbs_code=code,
                                                                slug=name.lower(), inhabitants=inhabitants).id
            db.session.commit()
        with tenant_scope(ids["aalten"]):
            families = craft_aalten()
            db.session.commit()
        for slug in ("berkelland", "druten"):
            with tenant_scope(ids[slug]):
                r = family("Berg", registered_on=date(2026, 2, 1), children=[("Fien", date(2019, 1, 1))])
                s = family("Dijk", V.SUPPORTING, registered_on=date(2025, 2, 1))
                match(r, s, date(2026, 2, 10), trial_on=date(2026, 3, 1), ended_on=date(2026, 6, 1),
                      end_reason="moved", outcome="unknown")
                db.session.commit()
    return Town(ids, families)


def report_of(app, scope, **kwargs):
    with app.app_context():
        try:
            return builder.build(scope, PERIOD, as_of=AS_OF, **kwargs)
        finally:
            db.session.rollback()


def cells(breakdown) -> dict:
    """code -> cells of a breakdown, and "total" -> its totals."""
    return {**dict(zip(breakdown.codes, breakdown.cells)), "total": breakdown.totals}


# ------------------------------------------------------------------------------ the staff report, by hand


def test_every_figure_of_the_staff_report_against_a_hand_count(app, town):
    report = report_of(app, ReportScope(municipality_id=town.ids["aalten"]))
    assert report.name == "Aalten" and report.audience == STAFF and report.threshold == 4
    assert [c.name for c in report.columns] == ["Aalten"]
    (f,) = report.figures
    assert (f.registered_requesting, f.registered_supporting) == (3, 1)  # Boer, Visser, Dekker; Meijer
    assert (f.matches_started, f.matches_ended, f.matches_cancelled) == (2, 2, 1)  # M1, M2; M1, M3; M4
    assert f.open_by_state == {"proposed": 0, "introduction": 0, "trial": 0, "active": 2}  # M2, M6
    assert (f.families_reached, f.children_reached) == (2, 3)  # Jansen (Bo, Cas), Boer (Daan)
    # billed: M1 1 Feb-31 May 120 days, M2 15 Mar-30 Jun 108, M3 1-31 Jan 31, M6 1 Jan-30 Jun 181 = 440 days
    assert f.matches_billed == 4 and f.active_match_months == 14.46  # 440 / 30.4375 = 14.456
    assert f.waiting_now == 1 and f.days_waiting_now == builder.Days(1, 90, 90)  # Visser: 1 Apr to 30 Jun
    # first proposals in the period: Jansen 50 days, Boer 50, Visser 9: nearest-rank median 50, p90 50
    assert f.days_to_first_proposal == builder.Days(3, 50, 50)
    assert f.match_duration_days == builder.Days(2, 119, 122)  # M1 1 Feb-31 May 119; M3 1 Oct-31 Jan 122
    assert f.volunteer_hours_logged == 5.0  # 120 + 180 minutes
    # estimated: M1 fortnightly 4 h, active 1 Mar-31 May (91 days): 0.5 * 4 * 13 = 26; M2 weekly 3 h, active
    # 15 Apr-30 Jun (77 days): 1 * 3 * 11 = 33
    assert f.volunteer_hours_estimated == 59.0 and f.estimated_from_matches == 2
    assert f.matches_without_agreed_terms == 2  # M3, M6
    assert f.supporting_once_helped == 1 and f.started_on_override == 0
    assert f.target == builder.Target(2026, 10, 15, 2, 5.0, "below", False)  # 181/365 of 10 = 4.96
    by = {b.name: cells(b) for b in report.breakdowns}
    assert by["end_reason"]["goals_reached"] == (1,) and by["end_reason"]["mismatch"] == (1,)
    assert by["end_reason"]["total"] == (2,) and by["end_reason"]["not_recorded"] == (0,)
    assert by["outcome"]["no_further_care"] == (1,) and by["outcome"]["lighter_support"] == (1,)
    assert by["triage"] == {"fits": (2,), "too_heavy_referred": (1,), "declined_by_family": (0,), "total": (3,)}
    assert by["age_band"] == {"0_3": (1,), "4_11": (1,), "12_17": (1,), "18_plus": (0,), "unknown": (0,),
                              "total": (3,)}  # Cas 2, Bo 5, Daan 13 on 1 January 2026
    # the KPI's retention: M5 (trial 1 May 2024) ended before its year with goals reached; M6 lasted
    assert by["retention"] == {"lasted_12_months": (1,), "ended_early_goals_reached": (1,), "ended_early_other": (0,),
                               "total": (2,)}
    assert by["reciprocity"] == {"registered_in_period": (1,), "total": None}  # Meijer, once Smit
    assert by["early_warning"]["no_new_match"] == (1,) and by["early_warning"]["total"] == (2,)
    scales = {w.scale: w for w in report.wellbeing}
    # M1 and M3: parenting 2 and 3 at the start, 4 and 3 at the end
    assert scales["parenting"].n == (2,) and (scales["parenting"].start, scales["parenting"].end) == ((2.5,), (3.5,))
    assert (scales["children_wellbeing"].start, scales["children_wellbeing"].end) == ((2.5,), (3.5,))
    trend = {t.figure: t for t in report.trends}["matches_running"]
    assert trend.months == (date(2026, 4, 1), date(2026, 5, 1)) and trend.values == ((2,), (2,))
    assert [(w.month, w.code) for w in report.warnings] == [(date(2026, 3, 1), "no_new_match"),
                                                            (date(2026, 5, 1), "long_wait")]
    assert [(d.district_code, d.supporting_available, d.requesting_waiting) for d in report.districts] == [
        ("WK019701", 1, 1), (None, 1, 0)]
    assert report.billing == () and report.business_cases == ()


def test_the_same_report_however_it_is_called(app, town):
    """From no context, inside another tenant's scope, with the Municipality itself: the same figures."""
    plain = report_of(app, ReportScope(municipality_id=town.ids["aalten"]))
    with app.app_context():
        with tenant_scope(town.ids["druten"]):
            inside = builder.build(ReportScope(municipality_id=town.ids["aalten"]), PERIOD, as_of=AS_OF)
        from tenants.models import Municipality

        by_model = builder.build(db.session.get(Municipality, town.ids["aalten"]), PERIOD, as_of=AS_OF)
        db.session.rollback()
    assert plain == inside == by_model


def test_a_consortium_has_its_members_side_by_side_and_their_total(app, town):
    report = report_of(app, ReportScope(consortium_id=town.ids["achterhoek"]))
    assert report.name == "Achterhoek"
    assert [(c.municipality_id, c.name) for c in report.columns] == [
        (town.ids["aalten"], "Aalten"), (town.ids["berkelland"], "Berkelland"), (None, "Achterhoek")]
    assert [f.matches_started for f in report.figures] == [2, 1, 3]
    assert [f.children_reached for f in report.figures] == [3, 1, 4]
    assert [f.matches_billed for f in report.figures] == [4, 1, 5]
    by = {b.name: cells(b) for b in report.breakdowns}
    assert by["end_reason"]["moved"] == (0, 1, 1) and by["end_reason"]["total"] == (2, 1, 3)
    assert by["age_band"]["4_11"] == (1, 1, 2)  # Bo; Fien (7 on 1 January 2026)
    assert report.warnings == ()  # the consortium's staff see counts of warnings, not their messages
    assert by["early_warning"]["total"] == (2, 0, 2)
    assert [d.municipality for d in report.districts] == ["Aalten", "Aalten"]
    assert "Druten" not in json.dumps([c.name for c in report.columns])


def test_a_report_reads_in_a_fixed_number_of_statements(app, town):
    """The statements do not grow with the families: a municipality with many more costs the same."""
    scope = ReportScope(consortium_id=town.ids["achterhoek"])

    def statements() -> int:
        count = [0]
        with app.app_context():
            def one(*args):
                count[0] += 1
            event.listen(db.engine, "before_cursor_execute", one)
            try:
                builder.build(scope, PERIOD, as_of=AS_OF, audience=FUNDER, pseudonym_key=KEY)
            finally:
                event.remove(db.engine, "before_cursor_execute", one)
                db.session.rollback()
        return count[0]

    before = statements()
    with app.app_context(), tenant_scope(town.ids["berkelland"]):
        for n in range(12):
            r = family(f"Extra{n}", registered_on=date(2026, 1, 2), children=[("Kind", date(2018, 1, 1))])
            s = family(f"Steun{n}", V.SUPPORTING)
            m = match(r, s, date(2026, 1, 5), trial_on=date(2026, 1, 10), ended_on=date(2026, 3, 1),
                      end_reason="other", outcome="unknown")
            evaluation(m, "start", date(2026, 1, 20), (1, 1, 1, 1))
            evaluation(m, "end", date(2026, 3, 1), (2, 2, 2, 2))
        db.session.commit()
    assert statements() == before <= 30


def test_an_audience_language_and_funder_key_are_checked(app, town):
    scope = ReportScope(municipality_id=town.ids["aalten"])
    with app.app_context():
        for kwargs, words in (({"audience": "press"}, "audience"), ({"language": "de"}, "language"),
                              ({"audience": FUNDER}, "key"), ({"audience": FUNDER, "pseudonym_key": b"short"}, "key")):
            with pytest.raises(ValueError, match=words):
                builder.build(scope, PERIOD, as_of=AS_OF, **kwargs)
        with pytest.raises(ValueError):
            ReportScope(municipality_id=1, consortium_id=2)
        with pytest.raises(TypeError):
            builder.build("aalten", PERIOD)


# ------------------------------------------------------------------------------ the funder's report


def test_a_funder_report_gives_exact_paid_counts_and_withholds_small_breakdowns(app, town):
    report = report_of(app, ReportScope(municipality_id=town.ids["aalten"]), audience=FUNDER, pseudonym_key=KEY)
    (f,) = report.figures
    # what a contract pays for is exact
    assert (f.matches_started, f.families_reached, f.children_reached, f.matches_billed, f.active_match_months) == (
        2, 2, 3, 4, 14.46)
    # no staff-only figure, no longest wait, medians of small groups withheld
    assert (f.started_on_override, f.evaluations_overdue, f.supporting_once_helped) == (None, None, None)
    assert f.days_waiting_now == builder.Days(1, W, None)
    assert f.days_to_first_proposal == builder.Days(3, W, W)
    by = {b.name: cells(b) for b in report.breakdowns}
    # outcomes 1 and 1 of 2 ended: both withheld, and as two <5 adding up to 2 are both 1, a zero with them
    assert by["outcome"] == {"no_further_care": (W,), "lighter_support": (W,), "professional_youth_care": (W,),
                             "out_of_home_placement": (0,), "unknown": (0,), "not_recorded": (0,), "total": (2,)}
    # fits 2 and too heavy 1 of 3: both withheld; two <5 adding up to 3 can be 1 and 2 or 2 and 1
    assert by["triage"] == {"fits": (W,), "too_heavy_referred": (W,), "declined_by_family": (0,), "total": (3,)}
    # the retention of a funder is a flow: M6's first year ended on 10 January 2026, and it lasted
    assert by["retention"]["total"] == (1,) and by["retention"]["lasted_12_months"] == (W,)
    assert by["reciprocity"] == {"registered_in_period": (W,), "total": None}
    assert by["early_warning"]["no_new_match"] == (1,)  # counts of warnings are no one's
    assert all(w.start == (W,) and w.end == (W,) and w.n == (2,) for w in report.wellbeing)
    assert report.warnings == () and report.districts == ()
    assert [(b.month_started, b.active_months, b.state) for b in report.billing] == sorted([
        ("2026-02", 3.94, "ended"), ("2026-03", 3.55, "running"), ("2025-10", 1.02, "ended"),
        ("2025-01", 5.95, "running")])
    assert sum(b.active_months for b in report.billing) == pytest.approx(14.46)


def test_pseudonyms_are_stable_for_one_key_and_unlinkable_between_keys(app, town):
    scope = ReportScope(municipality_id=town.ids["aalten"])
    one = report_of(app, scope, audience=FUNDER, pseudonym_key=KEY)
    again = report_of(app, scope, audience=FUNDER, pseudonym_key=KEY)
    other = report_of(app, scope, audience=FUNDER, pseudonym_key=OTHER_KEY)
    mine = [b.pseudonym for b in one.billing]
    assert mine == [b.pseudonym for b in again.billing]
    assert len(set(mine)) == 4 and all(len(p) == 16 and int(p, 16) >= 0 for p in mine)
    assert not set(mine) & {b.pseudonym for b in other.billing}
    expected = privacy.pseudonym(KEY, town.ids["aalten"], town.families["Jansen"])
    assert expected in mine and str(town.families["Jansen"]) not in expected


def test_the_funder_report_of_a_consortium_protects_across_its_members(app, town):
    report = report_of(app, ReportScope(consortium_id=town.ids["achterhoek"]), audience=FUNDER, pseudonym_key=KEY)
    by = {b.name: cells(b) for b in report.breakdowns}
    assert by["end_reason"]["total"] == (2, 1, 3)  # each municipality's total, and the grand total: exact
    for name in ("end_reason", "outcome", "age_band", "triage", "retention"):
        breakdown = report.breakdown(name)
        for row in breakdown.cells:
            assert all(isinstance(v, Suppressed) or v == 0 or v > 4 for v in row), (name, row)
    assert {b.municipality for b in report.billing} == {"Aalten", "Berkelland"}


# ------------------------------------------------------------------------------ the layout


def test_the_layout_in_dutch_and_english(app, town):
    scope = ReportScope(consortium_id=town.ids["achterhoek"])
    for language, title, total, key_figures in (("nl", "Programmarapportage Achterhoek", "Totaal", "Kerncijfers"),
                                                ("en", "Programme report Achterhoek", "Total", "Key figures")):
        report = report_of(app, scope, language=language)
        with app.app_context():
            laid_out = layout.tables(report)
        assert laid_out.title == title
        sections = {s.title: s for s in laid_out.sections}
        assert key_figures in sections
        first = laid_out.sections[0]
        assert first.columns[1:] == ("Aalten", "Berkelland", total)
        for section in laid_out.sections:
            assert all(len(row) == len(section.columns) for row in section.rows), section.title
            for row in section.rows:
                for value in row:
                    assert not isinstance(value, Message), section.title
        charts = [s for s in laid_out.sections if s.chart is not None]
        assert charts and all(s.chart.kind == "line" for s in charts)


def test_the_english_and_dutch_layouts_hold_the_same_numbers(app, town):
    scope = ReportScope(municipality_id=town.ids["aalten"])

    def numbers(language):
        report = report_of(app, scope, language=language)
        with app.app_context():
            return [[v for v in row if isinstance(v, (int, float)) and not isinstance(v, bool)]
                    for s in layout.tables(report).sections for row in s.rows]

    assert numbers("nl") == numbers("en")


def test_the_business_case_is_part_of_the_report(app, town):
    """Aalten's policy enables a funding model, Berkelland's none: the consortium's report holds Aalten's business
    case, whose families supported are the families of the matches billed."""
    from tests.conftest import enable_policy

    with app.app_context():
        enable_policy(town.ids["aalten"], {"funding.lump_sum": {"amount_per_year": "22000.00",
                                                                "starts_on": "2025-01-01"}})
    for audience, key in ((STAFF, None), (FUNDER, KEY)):
        report = report_of(app, ReportScope(consortium_id=town.ids["achterhoek"]), audience=audience,
                           pseudonym_key=key)
        ((name, case),) = report.business_cases
        assert name == "Aalten" and case.families == report.figures[0].matches_billed == 4
        with app.app_context():
            from core.reports import business_case

            expected = [s.title for s in business_case.sections(dict(report.business_cases), "nl")]
            titles = [s.title for s in layout.tables(report).sections]
        assert expected and all(title in titles for title in expected)


@pytest.mark.parametrize("audience", [STAFF, FUNDER])
def test_the_four_renderings_of_a_built_report_agree_on_every_number(app, town, audience):
    """XLSX, CSV (both dialects), PDF and JSON of one built consortium report, each read back from its file (the
    PDF through its text), hold the report's every number, withheld count and date."""
    from core.reports import render
    from tests.test_report_formats_agree import numbers_in, numbers_of

    with app.app_context():
        report = builder.build(ReportScope(consortium_id=town.ids["achterhoek"]), PERIOD, as_of=AS_OF,
                               audience=audience, pseudonym_key=KEY)
        tables = layout.tables(report)
        for media_format in ("xlsx", "csv", "csv-international", "pdf", "json"):
            expected = numbers_in(tables, media_format)
            assert len(expected) > 100
            assert numbers_of(render(report, media_format).content, media_format, tables) == expected, media_format
    withheld = [v for _, _, _, v in numbers_in(tables, "json") if v == str(Suppressed(5))]
    assert bool(withheld) == (audience == FUNDER)
