"""The KPI service: exact figures on small hand-made data, consortium totals, fail-closed (SQLite and PostgreSQL).

Every dataset is made by inserting model rows directly (not through the
programme services, whose rules change), and every expected figure is a
literal with its hand count beside it.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime, timedelta, timezone

import pytest

from core.extensions import db
from core.programme import generator, kpis
from core.programme import vocabulary as V
from core.programme.models import (
    Contact,
    Decision,
    Evaluation,
    Family,
    FamilyStatusChange,
    Match,
    MatchOverride,
    Member,
    ProgrammeTarget,
)
from tenants import onboarding
from tenants.context import TenantContextError, cross_tenant_scope, tenant_scope

REF = date(2026, 6, 15)
YEAR = kpis.Period.year(2026)  # counted from 1 January up to REF


@pytest.fixture
def towns(app):
    """Doetinchem and Aalten (Achterhoek), Nijmegen (another region)."""
    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        achterhoek = onboarding.add_consortium("Achterhoek", "achterhoek")
        nijmegen = onboarding.add_consortium("Nijmegen", "nijmegen-regio")
        ids = {
            "doetinchem": onboarding.add_municipality(achterhoek, name="Doetinchem", cbs_code="GM0222", slug="doetinchem",
                                                      inhabitants=59300).id,
            "aalten": onboarding.add_municipality(achterhoek, name="Aalten", cbs_code="GM0197", slug="aalten",
                                                  inhabitants=27500).id,
            "nijmegen": onboarding.add_municipality(nijmegen, name="Nijmegen", cbs_code="GM0268", slug="nijmegen",
                                                    inhabitants=182600).id,
        }
        db.session.commit()
    return ids


def family(kind=V.REQUESTING, registered_on=date(2026, 1, 5), status=V.WAITING, **values) -> Family:
    f = Family(kind=kind, display_name=f"Familie {kind}", registered_on=registered_on, status=status, **values)
    db.session.add(f)
    db.session.flush()
    return f


def match(requesting=None, supporting=None, proposed_on=None, **dates) -> Match:
    """A match with the given dates; its state follows from the last of them."""
    requesting = requesting or family()
    supporting = supporting or family(V.SUPPORTING, status=V.MATCHED, capacity_children=3)
    proposed_on = proposed_on or dates.get("trial_on") or dates.get("cancelled_on")
    state = next(s for s, column in (("cancelled", "cancelled_on"), ("ended", "ended_on"), ("active", "active_on"),
                                     ("trial", "trial_on"), ("introduction", "introduction_on")) if dates.get(column)) \
        if any(dates.get(c) for c in ("cancelled_on", "ended_on", "active_on", "trial_on", "introduction_on")) else "proposed"
    m = Match(requesting_family_id=requesting.id, supporting_family_id=supporting.id, proposed_on=proposed_on,
              state=state, **dates)
    db.session.add(m)
    db.session.flush()
    return m


def household(status=V.MATCHED, children=0, adults=1, registered_on=date(2025, 6, 1), **values) -> Family:
    """A requesting family with its members (*adults* and *children*)."""
    f = family(status=status, registered_on=registered_on, **values)
    for role, n in (("adult", adults), ("child", children)):
        for i in range(n):
            db.session.add(Member(family_id=f.id, role=role, first_name=f"{role} {i + 1}"))
    db.session.flush()
    return f


def status_change(f: Family, to_status: str, at: datetime, from_status: str | None = None) -> None:
    db.session.add(FamilyStatusChange(family_id=f.id, from_status=from_status, to_status=to_status, at=at))
    db.session.flush()


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def override(m: Match, at: datetime, step: str = V.PROPOSED) -> MatchOverride:
    """A step of *m* that rested on a coordinator's override (with the override decision it points at)."""
    decision = Decision(family_id=m.requesting_family_id, kind="eligibility", outcome="eligible", findings=[],
                        source=V.OVERRIDE, override_reason="known to the coordinator", decided_at=at)
    db.session.add(decision)
    db.session.flush()
    row = MatchOverride(match_id=m.id, decision_id=decision.id, step=step, at=at)
    db.session.add(row)
    db.session.flush()
    return row


def figures(tenant_id: int, period=YEAR, as_of=REF) -> kpis.Kpis:
    with tenant_scope(tenant_id):
        try:
            return kpis.municipality_kpis(tenant_id, period, as_of=as_of)
        finally:
            db.session.rollback()


def regional(tenant_ids, period=YEAR, as_of=REF) -> kpis.ConsortiumKpis:
    try:
        return kpis.consortium_kpis(tenant_ids, period, as_of=as_of)
    finally:
        db.session.rollback()


def test_registrations_by_kind_and_referral_source(app, towns):
    t = towns["doetinchem"]
    with app.app_context():
        with tenant_scope(t):
            family(registered_on=date(2025, 12, 31), referral_source="cjg")  # before the period
            family(registered_on=date(2026, 1, 1), referral_source="cjg")
            family(registered_on=date(2026, 3, 10), referral_source="school")
            family(V.SUPPORTING, registered_on=date(2026, 6, 15), status=V.REGISTERED, referral_source="self")
            family(registered_on=date(2026, 6, 16), referral_source="gp")  # after the reference date
            db.session.commit()
        with tenant_scope(towns["aalten"]):
            family(registered_on=date(2026, 2, 1), referral_source="cjg")  # another municipality
            db.session.commit()
        r = figures(t).registrations
        assert r.total == 3
        assert r.by_kind == {"requesting": 2, "supporting": 1}
        assert r.by_referral_source["requesting"] == {"cjg": 1, "social_team": 0, "jgz": 0, "gp": 0, "school": 1,
                                                      "self": 0, "other": 0}
        assert r.by_referral_source["supporting"]["self"] == 1
        assert figures(t, kpis.Period(date(2025, 12, 31), date(2026, 12, 31)), date(2026, 12, 31)).registrations.total == 5


def test_waiting_families_and_waiting_time_to_the_first_proposal(app, towns):
    t = towns["doetinchem"]
    with app.app_context():
        with tenant_scope(t):
            proposed = []
            for registered, on in ((date(2025, 11, 1), date(2026, 1, 11)),  # 71 days
                                   (date(2026, 1, 1), date(2026, 1, 31)),  # 30
                                   (date(2026, 2, 1), date(2026, 2, 11)),  # 10
                                   (date(2026, 1, 1), date(2026, 5, 1))):  # 120
                f = family(registered_on=registered, status=V.WAITING)
                match(f, proposed_on=on, cancelled_on=on)
                proposed.append(f)
            match(proposed[0], proposed_on=date(2026, 3, 1))  # a second proposal does not count
            earlier = family(registered_on=date(2025, 6, 1), status=V.MATCHED)
            match(earlier, proposed_on=date(2025, 12, 1), trial_on=date(2025, 12, 20))  # first proposed before the period
            match(earlier, proposed_on=date(2026, 2, 1))
            family(registered_on=date(2026, 6, 1), status=V.WAITING)
            family(registered_on=date(2026, 6, 20), status=V.WAITING)  # after the reference date
            family(registered_on=date(2026, 2, 1), status=V.CLOSED)
            db.session.commit()
        w = figures(t).waiting
        assert w.families_waiting_now == 5  # the four proposed ones (cancelled, so waiting again) and 1 June
        assert w.days_to_first_proposal == kpis.Distribution(count=4, median=30, p90=120)
        assert figures(t, as_of=date(2026, 1, 31)).waiting.days_to_first_proposal == kpis.Distribution(2, 30, 71)
        assert figures(t, kpis.Period.year(2024)).waiting.days_to_first_proposal == kpis.Distribution()


def test_matches_started_ended_cancelled_and_open(app, towns):
    t = towns["doetinchem"]
    with app.app_context():
        with tenant_scope(t):
            match(trial_on=date(2026, 2, 1), active_on=date(2026, 3, 29))  # active now
            match(proposed_on=date(2026, 6, 1), introduction_on=date(2026, 6, 10))  # introduction now
            match(proposed_on=date(2026, 6, 14))  # proposed now
            match(trial_on=date(2026, 6, 1))  # trial now
            match(trial_on=date(2025, 3, 1), active_on=date(2025, 4, 26), ended_on=date(2026, 3, 1),
                  end_reason="goals_reached", outcome="no_further_care")  # 365 days
            match(trial_on=date(2026, 1, 10), ended_on=date(2026, 2, 9), end_reason="mismatch")  # 30 days, no outcome
            match(proposed_on=date(2026, 3, 20), cancelled_on=date(2026, 4, 1))
            match(trial_on=date(2026, 5, 1), ended_on=date(2026, 6, 20), end_reason="moved", outcome="unknown")  # ends after REF
            match(proposed_on=date(2025, 10, 1), trial_on=date(2025, 11, 1), active_on=date(2025, 12, 27),
                  ended_on=date(2025, 12, 31), end_reason="moved", outcome="unknown")  # all before the period
            db.session.commit()
        with tenant_scope(towns["aalten"]):
            match(trial_on=date(2026, 2, 1), active_on=date(2026, 3, 29))
            db.session.commit()
        m = figures(t).matches
        assert (m.started, m.ended, m.cancelled) == (4, 2, 1)
        assert {k: v for k, v in m.ended_by_reason.items() if v} == {"goals_reached": 1, "mismatch": 1}
        assert {k: v for k, v in m.outcomes.items() if v} == {"no_further_care": 1, "not_recorded": 1}
        assert m.duration_days == kpis.Distribution(count=2, median=30, p90=365)
        assert m.open_now == {"proposed": 1, "introduction": 1, "trial": 2, "active": 1}
        assert (m.running_now, m.active_now) == (3, 1)
        later = figures(t, as_of=date(2026, 6, 30)).matches
        assert (later.ended, later.open_now["trial"], later.ended_by_reason["moved"]) == (3, 1, 1)


def test_twelve_month_retention(app, towns):
    t = towns["doetinchem"]
    with app.app_context():
        with tenant_scope(t):
            match(trial_on=date(2025, 6, 15), active_on=date(2025, 8, 10))  # a year ago today, running: lasted
            match(trial_on=date(2025, 6, 16), active_on=date(2025, 8, 10))  # not a year yet: not in the cohort
            match(trial_on=date(2025, 1, 10), ended_on=date(2026, 1, 10), end_reason="other")  # on the anniversary: lasted
            match(trial_on=date(2025, 1, 10), ended_on=date(2026, 1, 9), end_reason="moved")  # a day short: neither
            match(trial_on=date(2025, 1, 10), ended_on=date(2025, 8, 1), end_reason="goals_reached")  # early, goals reached
            match(trial_on=date(2024, 2, 29), ended_on=date(2025, 2, 28), end_reason="mismatch")  # leap day: lasted
            match(trial_on=date(2024, 2, 29), ended_on=date(2025, 2, 27), end_reason="mismatch")  # neither
            match(proposed_on=date(2024, 5, 1), cancelled_on=date(2024, 5, 10))  # never started
            db.session.commit()
        r = figures(t).retention_12_months
        # cohort 6; lasted: a year ago today, on the anniversary, leap day = 3; ended early with goals reached: 1
        assert r == kpis.Retention(cohort=6, lasted_12_months=3, lasted_12_months_share=0.5,
                                   ended_early_goals_reached=1, ended_early_goals_reached_share=0.1667)
        assert figures(t, kpis.Period.year(2024), date(2024, 12, 31)).retention_12_months == kpis.Retention()


def test_evaluations_due_and_overdue(app, towns):
    t = towns["doetinchem"]
    with app.app_context():
        with tenant_scope(t):
            m = match(trial_on=date(2026, 1, 1))
            for due, completed, skipped in (
                (date(2026, 6, 15), None, None),  # due today: due
                (date(2026, 7, 15), None, None),  # 30 days ahead: due
                (date(2026, 7, 16), None, None),  # 31 days ahead: neither
                (date(2026, 6, 14), None, None),  # overdue
                (date(2026, 6, 1), None, "consent_withdrawn"),  # skipped: neither
                (date(2026, 6, 1), date(2026, 6, 2), None),  # completed: neither
                (date(2026, 6, 1), date(2026, 6, 20), None),  # completed after the reference date: overdue then
            ):
                db.session.add(Evaluation(match_id=m.id, kind="periodic", due_on=due, completed_on=completed,
                                          skipped_reason=skipped))
            db.session.commit()
        e = figures(t).evaluations
        assert (e.due_next_30_days, e.overdue) == (2, 2)


def test_volunteer_hours_and_reciprocity(app, towns):
    t = towns["doetinchem"]
    with app.app_context():
        with tenant_scope(t):
            m = match(trial_on=date(2025, 12, 1))
            for kind, on, minutes in (("support_session", date(2026, 1, 1), 90), ("support_session", date(2026, 6, 15), 150),
                                      ("support_session", date(2026, 6, 16), 600), ("support_session", date(2025, 12, 31), 60),
                                      ("phone", date(2026, 2, 1), 30)):
                db.session.add(Contact(match_id=m.id, kind=kind, occurred_on=on, duration_minutes=minutes))
            helped = family(status=V.CLOSED, registered_on=date(2024, 1, 1))
            family(V.SUPPORTING, status=V.AVAILABLE, registered_on=date(2025, 5, 1), former_family_id=helped.id)
            family(V.SUPPORTING, status=V.AVAILABLE, registered_on=date(2026, 2, 1), former_family_id=helped.id)
            family(V.SUPPORTING, status=V.REGISTERED, registered_on=date(2026, 7, 1), former_family_id=helped.id)
            db.session.commit()
        k = figures(t)
        # 90 + 150 minutes of support sessions; the match never became active, so nothing is estimated
        assert k.volunteering == kpis.Volunteering(logged_minutes=240, logged_hours=4.0, estimated_hours=0.0,
                                                   estimated_from_matches=0, matches_without_agreed_terms=0)
        assert k.reciprocity == kpis.Reciprocity(supporting_families_once_helped=2, registered_in_period=1)


def test_supply_and_demand_per_district(app, towns):
    t = towns["doetinchem"]
    with app.app_context():
        with tenant_scope(t):
            for kind, status, district in ((V.REQUESTING, V.WAITING, "WK022201"), (V.REQUESTING, V.WAITING, "WK022201"),
                                           (V.REQUESTING, V.WAITING, "WK022202"), (V.REQUESTING, V.WAITING, None),
                                           (V.SUPPORTING, V.AVAILABLE, "WK022201"), (V.SUPPORTING, V.AVAILABLE, "WK022203"),
                                           (V.SUPPORTING, V.AVAILABLE, "WK022203"), (V.SUPPORTING, V.MATCHED, "WK022202"),
                                           (V.REQUESTING, V.MATCHED, "WK022203")):
                family(kind, status=status, district_code=district)
            db.session.commit()
        assert [asdict(d) for d in figures(t).districts] == [
            {"district_code": "WK022201", "supporting_available": 1, "requesting_waiting": 2},
            {"district_code": "WK022202", "supporting_available": 0, "requesting_waiting": 1},
            {"district_code": "WK022203", "supporting_available": 2, "requesting_waiting": 0},
            {"district_code": None, "supporting_available": 0, "requesting_waiting": 1},
        ]


def test_progress_against_the_programme_target(app, towns):
    t = towns["doetinchem"]
    with app.app_context():
        with tenant_scope(t):
            for trial in (date(2026, 1, 5), date(2026, 3, 1), date(2026, 6, 15), date(2026, 6, 20), date(2025, 12, 31)):
                match(trial_on=trial)
            db.session.add(ProgrammeTarget(year=2026, new_matches_min=10, new_matches_max=15))
            db.session.commit()
        assert figures(t).target == kpis.TargetProgress(
            year=2026, new_matches_min=10, new_matches_max=15, new_matches=3, counted_until="2026-06-15",
            share_of_min=0.3, status="below", pro_rata_min=4.5, on_track=False)  # 10 × 166/365 days
        # A past reference date counts up to that day; a period of another year has no target.
        assert figures(t, as_of=date(2026, 1, 31)).target.new_matches == 1
        assert figures(t, kpis.Period.year(2025)).target is None


def test_consortium_totals_are_the_sum_of_their_members_and_leave_others_out(app, towns):
    members = [towns["doetinchem"], towns["aalten"]]
    today = date(2026, 11, 23)
    period = kpis.Period.year(2026)
    with app.app_context():
        generator.generate(list(towns.values()), 150, 60, seed=4, today=today)
        report = kpis.consortium_kpis(members, period, as_of=today)
        db.session.rollback()
        assert report.municipality_ids == members and [k.municipality_ids for k in report.municipalities] == [[m] for m in members]
        alone = [figures(m, period, today) for m in members]
        outsider = figures(towns["nijmegen"], period, today)
        # Each member's figures are what it sees in its own tenant scope.
        assert [k.to_dict() for k in report.municipalities] == [k.to_dict() for k in alone]

        def counts(k: kpis.Kpis) -> dict:
            """Every figure that adds up (leaving out percentiles, rates and target shares)."""
            d = k.to_dict()
            return {
                "registrations": d["registrations"], "waiting": d["waiting"]["families_waiting_now"],
                "matches": {key: value for key, value in d["matches"].items() if key != "duration_days"},
                "triage": d["triage"], "days_waiting_now": d["waiting"]["days_waiting_now"]["count"],
                "reach": d["reach"],
                "retention": tuple(d["retention_12_months"][key] for key in (
                    "cohort", "lasted_12_months", "ended_early_goals_reached")),
                "evaluations": d["evaluations"], "minutes": d["volunteering"]["logged_minutes"],
                "hours_estimated_from": (d["volunteering"]["estimated_from_matches"],
                                         d["volunteering"]["matches_without_agreed_terms"]),
                "reciprocity": d["reciprocity"], "new_matches": d["target"]["new_matches"],
                "target_min": d["target"]["new_matches_min"], "districts": d["districts"],
            }

        def add(a, b):
            if isinstance(a, dict):
                return {key: add(a[key], b[key]) for key in a}
            if isinstance(a, tuple):
                return tuple(x + y for x, y in zip(a, b))
            return a + b

        total = counts(report.total)
        first, second = counts(alone[0]), counts(alone[1])
        summed = {key: first[key] + second[key] if key == "districts" else add(first[key], second[key]) for key in first}
        assert total == summed
        assert report.total.matches.started > 0 and outsider.matches.started > 0
        with_outsider = kpis.consortium_kpis([*members, towns["nijmegen"]], period, as_of=today)
        db.session.rollback()
        assert with_outsider.total.matches.started == report.total.matches.started + outsider.matches.started
        # Percentiles of the total are over every member's rows.
        both = report.total.waiting.days_to_first_proposal
        assert both.count == sum(k.waiting.days_to_first_proposal.count for k in alone)
        assert min(k.waiting.days_to_first_proposal.median for k in alone) <= both.median \
            <= max(k.waiting.days_to_first_proposal.median for k in alone)
        assert report.total.target.municipalities_with_target == 2
        json.dumps(report.to_dict())


def test_consortium_percentiles_are_over_every_members_rows(app, towns):
    doetinchem, aalten = towns["doetinchem"], towns["aalten"]
    with app.app_context():
        for tenant_id, durations in ((doetinchem, (10, 30)), (aalten, (20, 40, 50))):
            with tenant_scope(tenant_id):
                for days in durations:
                    match(trial_on=date(2026, 1, 1), ended_on=date(2026, 1, 1) + timedelta(days=days), end_reason="moved")
                db.session.commit()
        report = kpis.consortium_kpis([doetinchem, aalten], YEAR, as_of=REF)
        db.session.rollback()
        assert [k.matches.duration_days for k in report.municipalities] == [kpis.Distribution(2, 10, 30),
                                                                            kpis.Distribution(3, 40, 50)]
        assert report.total.matches.duration_days == kpis.Distribution(5, 30, 50)  # of 10, 20, 30, 40, 50


def test_kpis_need_the_municipalitys_tenant_context(app, towns):
    t = towns["doetinchem"]
    with app.app_context():
        with pytest.raises(TenantContextError):
            kpis.municipality_kpis(t, YEAR, as_of=REF)
        with tenant_scope(towns["aalten"]), pytest.raises(TenantContextError):
            kpis.municipality_kpis(t, YEAR, as_of=REF)
        db.session.rollback()
        # The SQL itself fails closed too: no statement on tenant data runs without a scope.
        with pytest.raises(TenantContextError):
            kpis._compute([t], YEAR, REF, with_total=False)
        db.session.rollback()


def test_an_empty_municipality_has_zeros_and_serialises(app, towns):
    with app.app_context():
        k = figures(towns["nijmegen"])
        assert k.registrations.total == 0 and k.matches.duration_days == kpis.Distribution()
        assert k.retention_12_months.lasted_12_months_share is None and k.target is None and k.districts == []
        assert k.retention_12_months.ended_early_goals_reached_share is None
        assert k.waiting.days_waiting_now == kpis.WaitingAge() and k.reach == kpis.Reach()
        assert k.volunteering == kpis.Volunteering()
        assert json.loads(json.dumps(k.to_dict()))["reference_date"] == "2026-06-15"


def test_the_kpi_endpoints(app, client, world):
    from core.auth import roles as R

    # Matches of our own in 2020, inserted directly: the figures of 2020 as of its last day leave out whatever
    # the world fixture records (it works relative to today).
    year, as_of = kpis.Period.year(2020), date(2020, 12, 31)
    with app.app_context():
        for slug, trials in (("aalten", (date(2020, 3, 1),)), ("berkelland", (date(2020, 4, 1), date(2020, 5, 1)))):
            with tenant_scope(world.ids[slug]):
                for trial in trials:
                    match(household(children=2, registered_on=date(2019, 10, 1)),
                          family(V.SUPPORTING, status=V.MATCHED, registered_on=date(2019, 10, 1)),
                          trial_on=trial, active_on=trial + timedelta(days=28), frequency="weekly", hours_per_session=2.0)
                db.session.commit()
        expected = json.loads(json.dumps(figures(world.ids["aalten"], year, as_of).to_dict()))
    query = "from=2020-01-01&to=2020-12-31&as_of=2020-12-31"
    mine = client.get(f"/api/v1/aalten/kpis?{query}", headers=world.bearer(R.COORDINATOR))
    assert mine.status_code == 200, mine.get_json()
    assert mine.get_json() == expected
    assert mine.get_json()["matches"]["started"] == 1  # our one match in Aalten
    assert mine.get_json()["reach"] == {"requesting_families": 1, "children": 2}
    regional = client.get(f"/api/v1/consortia/achterhoek/kpis?{query}", headers=world.bearer(R.CONSORTIUM_ADMIN))
    assert regional.status_code == 200
    body = regional.get_json()
    assert len(body["municipalities"]) == 2 and body["total"]["matches"]["started"] == 3  # 1 in Aalten, 2 in Berkelland
    assert body["municipalities"][0] == expected
    assert body["total"]["volunteering"]["estimated_from_matches"] == 3
    assert client.get("/api/v1/consortia/nijmegen-regio/kpis", headers=world.bearer(R.CONSORTIUM_ADMIN)).status_code == 404
    bad = client.get("/api/v1/aalten/kpis?from=2026-05-01", headers=world.bearer(R.COORDINATOR))
    assert bad.status_code == 422 and "from" in bad.get_json()["errors"]["query"]


# --------------------------------------------------------------------------- the figures added for the programme
# Each test below crafts rows in Doetinchem and Aalten (and Nijmegen, which must stay out of the Achterhoek
# total), then checks Doetinchem alone and the Achterhoek total against counts made by hand.

def test_waiting_list_age_since_families_started_waiting(app, towns):
    doetinchem, aalten, nijmegen = towns["doetinchem"], towns["aalten"], towns["nijmegen"]
    with app.app_context():
        with tenant_scope(doetinchem):
            family(registered_on=date(2026, 1, 1))  # never changed status: waits since registering, 165 days
            back = family(registered_on=date(2025, 10, 1))
            status_change(back, V.WAITING, utc(2025, 11, 1, 10), V.SCREENING)
            status_change(back, V.MATCHED, utc(2026, 1, 10, 9), V.WAITING)
            # 22:30 UTC on 31 May is 00:30 on 1 June in Dutch summer time: waiting again since 1 June, 14 days
            status_change(back, V.WAITING, utc(2026, 5, 31, 22, 30), V.MATCHED)
            # 23:30 UTC on 31 December is 00:30 on 1 January in Dutch winter time: 165 days
            new_year = family(registered_on=date(2025, 1, 1))
            status_change(new_year, V.WAITING, utc(2025, 12, 31, 23, 30), V.INTAKE)
            long = family(registered_on=date(2025, 6, 15))
            status_change(long, V.WAITING, utc(2025, 7, 1, 8), V.SCREENING)  # 1 July 2025: 349 days
            status_change(long, V.PAUSED, utc(2026, 6, 17, 8), V.WAITING)  # after the reference date: not yet
            status_change(long, V.WAITING, utc(2026, 6, 20, 8), V.PAUSED)
            family(registered_on=date(2026, 6, 16))  # registered after the reference date: left out
            matched = family(status=V.MATCHED, registered_on=date(2025, 1, 1))  # not waiting: left out
            status_change(matched, V.WAITING, utc(2025, 2, 1, 9))
            family(V.SUPPORTING, status=V.AVAILABLE, registered_on=date(2024, 1, 1))  # supporting: left out
            db.session.commit()
        with tenant_scope(aalten):
            family(registered_on=date(2024, 6, 15))  # 730 days
            family(registered_on=date(2026, 6, 15))  # registered today: 0 days
            march = family(registered_on=date(2026, 3, 1))
            status_change(march, V.WAITING, utc(2026, 3, 16, 12), V.SCREENING)  # 16 March: 91 days
            db.session.commit()
        with tenant_scope(nijmegen):
            family(registered_on=date(2020, 1, 1))  # another region: not in the Achterhoek's figures
            db.session.commit()

        w = figures(doetinchem).waiting
        # Doetinchem: 14, 165, 165, 349 days; median = rank ⌈0.5 × 4⌉ = 2 → 165; longest 349
        assert w.families_waiting_now == 4
        assert w.days_waiting_now == kpis.WaitingAge(count=4, median=165, longest=349)
        # On 31 May the family waiting again since (Dutch) 1 June still counts from 1 November 2025: 211 days;
        # the others 150 (1 January), 150, 334 (1 July) → median rank 2 of 150, 150, 211, 334 = 150
        assert figures(doetinchem, as_of=date(2026, 5, 31)).waiting.days_waiting_now == kpis.WaitingAge(4, 150, 334)
        report = regional([doetinchem, aalten])
        assert report.municipalities[1].waiting.days_waiting_now == kpis.WaitingAge(3, 91, 730)  # 0, 91, 730
        # Achterhoek: 0, 14, 91, 165, 165, 349, 730; median rank ⌈3.5⌉ = 4 → 165; longest 730 (not Nijmegen's)
        assert report.total.waiting.families_waiting_now == 7
        assert report.total.waiting.days_waiting_now == kpis.WaitingAge(count=7, median=165, longest=730)
        # The time to a first proposal stays beside it (nobody here was proposed).
        assert report.total.waiting.days_to_first_proposal == kpis.Distribution()


def test_triage_outcomes_and_end_reasons(app, towns):
    doetinchem, aalten, nijmegen = towns["doetinchem"], towns["aalten"], towns["nijmegen"]

    def triaged(outcome, on):
        family(status=V.CLOSED, registered_on=date(2025, 12, 1), triage_outcome=outcome, triage_on=on)

    with app.app_context():
        with tenant_scope(doetinchem):
            triaged("fits", date(2026, 1, 1))  # first day of the period
            triaged("fits", date(2026, 6, 15))  # the reference date
            triaged("fits", date(2025, 12, 31))  # before the period
            triaged("fits", date(2026, 6, 16))  # after the reference date
            triaged("too_heavy_referred", date(2026, 3, 1))
            triaged("declined_by_family", date(2026, 2, 1))
            triaged("declined_by_family", date(2026, 4, 1))
            family(registered_on=date(2026, 2, 1))  # not triaged
            match(household(), trial_on=date(2026, 1, 10), ended_on=date(2026, 2, 20), end_reason="requesting_family_declined")
            match(household(), trial_on=date(2026, 1, 10), ended_on=date(2026, 3, 20),
                  end_reason="escalated_to_professional_care", outcome="professional_youth_care")
            db.session.commit()
        with tenant_scope(aalten):
            triaged("fits", date(2026, 5, 5))
            triaged("too_heavy_referred", date(2026, 2, 2))
            triaged("too_heavy_referred", date(2026, 2, 3))
            match(household(), trial_on=date(2026, 1, 10), ended_on=date(2026, 4, 1),
                  end_reason="escalated_to_professional_care")
            db.session.commit()
        with tenant_scope(nijmegen):
            triaged("declined_by_family", date(2026, 1, 15))
            match(household(), trial_on=date(2026, 1, 10), ended_on=date(2026, 4, 1), end_reason="requesting_family_declined")
            db.session.commit()

        # Doetinchem: fits on 1 January and 15 June; too heavy on 1 March; declined on 1 February and 1 April
        assert figures(doetinchem).triage == kpis.Triage(fits=2, too_heavy_referred=1, declined_by_family=2)
        report = regional([doetinchem, aalten])
        assert report.municipalities[1].triage == kpis.Triage(fits=1, too_heavy_referred=2, declined_by_family=0)
        # Achterhoek: fits 2 + 1, too heavy 1 + 2, declined 2 + 0 (Nijmegen's declined family left out)
        assert report.total.triage == kpis.Triage(fits=3, too_heavy_referred=3, declined_by_family=2)
        # End reasons: declined by the requesting family 1 (Doetinchem), escalated 1 + 1
        assert {k: v for k, v in report.total.matches.ended_by_reason.items() if v} == {
            "requesting_family_declined": 1, "escalated_to_professional_care": 2}


def test_families_and_children_reached(app, towns):
    doetinchem, aalten, nijmegen = towns["doetinchem"], towns["aalten"], towns["nijmegen"]
    with app.app_context():
        with tenant_scope(doetinchem):
            three = household(children=3)
            with_child = family(V.SUPPORTING, status=V.MATCHED, registered_on=date(2025, 1, 1))
            db.session.add(Member(family_id=with_child.id, role="child", first_name="Noor"))  # a supporting child
            match(three, with_child, trial_on=date(2026, 2, 1))  # 3 children
            match(three, trial_on=date(2026, 4, 1))  # the same family again: its children count once
            match(household(children=1, adults=2), trial_on=date(2026, 6, 15))  # the reference date: 1 child
            earlier = household(children=2)
            match(earlier, trial_on=date(2025, 12, 31))  # started before the period
            match(earlier, proposed_on=date(2026, 3, 1))  # proposed, not started
            match(household(children=2), trial_on=date(2026, 6, 16))  # starts after the reference date
            match(household(children=0), trial_on=date(2026, 3, 1))  # a family reached, no children
            db.session.commit()
        with tenant_scope(aalten):
            match(household(children=2), trial_on=date(2026, 1, 1))  # 2 children
            match(household(children=1), trial_on=date(2026, 5, 20), ended_on=date(2026, 6, 1),
                  end_reason="mismatch")  # started in the period (ended since): 1 child
            db.session.commit()
        with tenant_scope(nijmegen):
            match(household(children=4), trial_on=date(2026, 2, 1))  # another region
            db.session.commit()

        k = figures(doetinchem)
        assert k.matches.started == 4  # three's two, the one of 15 June, the childless family's
        # families: three, the one of 15 June, the childless one = 3; children: 3 + 1 + 0 = 4
        assert k.reach == kpis.Reach(requesting_families=3, children=4)
        report = regional([doetinchem, aalten])
        assert report.municipalities[1].reach == kpis.Reach(requesting_families=2, children=3)  # 2 + 1 children
        # Achterhoek: families 3 + 2 = 5, children 4 + 3 = 7 (Nijmegen's 4 left out)
        assert report.total.reach == kpis.Reach(requesting_families=5, children=7)


def test_twelve_month_retention_two_separate_figures(app, towns):
    doetinchem, aalten, nijmegen = towns["doetinchem"], towns["aalten"], towns["nijmegen"]
    with app.app_context():
        with tenant_scope(doetinchem):  # the cohort: trial started on or before 15 June 2025
            match(household(), trial_on=date(2025, 6, 15))  # a year ago today, running: lasted
            match(household(), trial_on=date(2025, 6, 16))  # not a year yet: not in the cohort
            match(household(), trial_on=date(2025, 1, 10), ended_on=date(2026, 1, 10), end_reason="other")  # lasted
            match(household(), trial_on=date(2025, 1, 10), ended_on=date(2025, 9, 1),
                  end_reason="goals_reached")  # ended early, goals reached
            match(household(), trial_on=date(2025, 1, 10), ended_on=date(2025, 10, 1), end_reason="mismatch")  # neither
            match(household(), trial_on=date(2024, 3, 1), ended_on=date(2025, 3, 1),
                  end_reason="goals_reached")  # on the anniversary: lasted, not "early"
            match(household(), proposed_on=date(2024, 5, 1), cancelled_on=date(2024, 5, 10))  # never started
            db.session.commit()
        with tenant_scope(aalten):
            match(household(), trial_on=date(2024, 9, 1), ended_on=date(2025, 3, 1), end_reason="goals_reached")  # early
            match(household(), trial_on=date(2024, 9, 1), ended_on=date(2025, 2, 1), end_reason="goals_reached")  # early
            match(household(), trial_on=date(2025, 2, 1), active_on=date(2025, 3, 29))  # running: lasted
            db.session.commit()
        with tenant_scope(nijmegen):
            match(household(), trial_on=date(2024, 1, 1), ended_on=date(2024, 2, 1), end_reason="mismatch")
            db.session.commit()

        # Doetinchem: cohort 5; lasted 3 (3/5); ended early with goals reached 1 (1/5)
        assert figures(doetinchem).retention_12_months == kpis.Retention(
            cohort=5, lasted_12_months=3, lasted_12_months_share=0.6,
            ended_early_goals_reached=1, ended_early_goals_reached_share=0.2)
        report = regional([doetinchem, aalten])
        assert report.municipalities[1].retention_12_months == kpis.Retention(3, 1, 0.3333, 2, 0.6667)
        # Achterhoek: cohort 5 + 3 = 8; lasted 3 + 1 = 4 (4/8); early with goals reached 1 + 2 = 3 (3/8)
        assert report.total.retention_12_months == kpis.Retention(
            cohort=8, lasted_12_months=4, lasted_12_months_share=0.5,
            ended_early_goals_reached=3, ended_early_goals_reached_share=0.375)


def test_volunteer_hours_logged_and_estimated(app, towns):
    doetinchem, aalten, nijmegen = towns["doetinchem"], towns["aalten"], towns["nijmegen"]

    def active(on, frequency=None, hours=None, **dates):
        """A match that became active on *on* (its trial began last year) with the agreed terms given."""
        return match(household(), trial_on=date(2025, 12, 1) if on >= date(2025, 12, 1) else on - timedelta(days=56),
                     active_on=on, frequency=frequency, hours_per_session=hours, **dates)

    # The period counted: 1 January to 15 June 2026, 166 days.
    with app.app_context():
        with tenant_scope(doetinchem):
            # 1 Jan – 25 Mar (ends 26 Mar) = 84 days = 12 weeks × 1 session × 2.5 h = 30.0
            active(date(2025, 9, 1), "weekly", 2.5, ended_on=date(2026, 3, 26), end_reason="goals_reached")
            active(date(2026, 4, 7), "fortnightly", 4.0)  # 7 Apr – 15 Jun = 70 days = 10 weeks × ½ × 4 h = 20.0
            active(date(2026, 3, 17), "monthly", 2.0)  # 17 Mar – 15 Jun = 91 days = 13 weeks × 12/52 × 2 h = 6.0
            active(date(2026, 6, 15), "weekly", 7.0)  # the reference date only: 1/7 week × 7 h = 1.0
            active(date(2026, 6, 16), "weekly", 3.0)  # active after the reference date: nothing
            active(date(2025, 6, 1), "weekly", 3.0, ended_on=date(2026, 1, 1), end_reason="moved")  # ended on day 1
            active(date(2026, 2, 1))  # no agreed terms: counted apart
            active(date(2026, 5, 1), "weekly", None, ended_on=date(2026, 6, 1), end_reason="moved")  # no hours agreed
            active(date(2025, 3, 1), ended_on=date(2025, 12, 31), end_reason="moved")  # no terms, ended last year
            m = match(household(), trial_on=date(2026, 1, 1))  # in trial, never active: not counted either way
            for kind, on, minutes in (("support_session", date(2026, 3, 1), 150), ("support_session", date(2026, 6, 15), 42),
                                      ("support_session", date(2026, 6, 16), 600), ("support_session", date(2025, 12, 31), 60),
                                      ("phone", date(2026, 2, 1), 30)):
                db.session.add(Contact(match_id=m.id, kind=kind, occurred_on=on, duration_minutes=minutes))
            db.session.commit()
        with tenant_scope(aalten):
            active(date(2026, 1, 6), "weekly", 1.5)  # 6 Jan – 15 Jun = 161 days = 23 weeks × 1.5 h = 34.5
            # 1 – 28 Jan (ends 29 Jan) = 28 days = 4 weeks × ½ × 3 h = 6.0
            active(date(2025, 12, 1), "fortnightly", 3.0, ended_on=date(2026, 1, 29), end_reason="moved")
            m = active(date(2026, 3, 1), "monthly", None)  # no hours agreed: counted apart
            db.session.add(Contact(match_id=m.id, kind="support_session", occurred_on=date(2026, 4, 1), duration_minutes=90))
            db.session.commit()
        with tenant_scope(nijmegen):
            m = active(date(2026, 1, 1), "weekly", 10.0)  # another region
            db.session.add(Contact(match_id=m.id, kind="support_session", occurred_on=date(2026, 4, 1), duration_minutes=600))
            db.session.commit()

        # Doetinchem: logged 150 + 42 = 192 minutes = 3.2 h; estimated 30 + 20 + 6 + 1 = 57.0 h from 4 matches,
        # 2 active matches without agreed terms
        assert figures(doetinchem).volunteering == kpis.Volunteering(
            logged_minutes=192, logged_hours=3.2, estimated_hours=57.0, estimated_from_matches=4,
            matches_without_agreed_terms=2)
        # Up to a past reference date, 28 January: only the first match was active, 1 – 28 Jan = 4 weeks × 2.5 h
        assert figures(doetinchem, as_of=date(2026, 1, 28)).volunteering == kpis.Volunteering(0, 0.0, 10.0, 1, 0)
        report = regional([doetinchem, aalten])
        assert report.municipalities[1].volunteering == kpis.Volunteering(90, 1.5, 40.5, 2, 1)  # 34.5 + 6.0
        # Achterhoek: logged 192 + 90 = 282 minutes = 4.7 h; estimated 57.0 + 40.5 = 97.5 h from 4 + 2 matches;
        # without agreed terms 2 + 1 (Nijmegen's left out)
        assert report.total.volunteering == kpis.Volunteering(
            logged_minutes=282, logged_hours=4.7, estimated_hours=97.5, estimated_from_matches=6,
            matches_without_agreed_terms=3)


def test_matches_started_on_an_override(app, towns):
    doetinchem, aalten, nijmegen = towns["doetinchem"], towns["aalten"], towns["nijmegen"]
    with app.app_context():
        with tenant_scope(doetinchem):
            override(match(household(), proposed_on=date(2026, 1, 20), trial_on=date(2026, 2, 1)),
                     utc(2026, 1, 20, 10))  # started on an override; the override made in the period
            twice = match(household(), proposed_on=date(2025, 12, 20), trial_on=date(2026, 3, 1),
                          active_on=date(2026, 4, 10), frequency="weekly", hours_per_session=2.0)
            override(twice, utc(2025, 12, 20, 10))  # started on an override (counted once); made last year
            override(twice, utc(2026, 4, 10, 10), V.ACTIVE)  # made in the period
            match(household(), trial_on=date(2026, 3, 1))  # started without one
            override(match(household(), trial_on=date(2025, 11, 1), active_on=date(2026, 2, 1), frequency="weekly",
                           hours_per_session=2.0), utc(2026, 2, 1, 10), V.ACTIVE)  # started last year; made in the period
            override(match(household(), proposed_on=date(2026, 5, 1)), utc(2026, 5, 1, 10))  # not started; in the period
            # 22:30 UTC on 15 June is 00:30 on 16 June in Dutch time: after the reference date, so neither counts
            override(match(household(), trial_on=date(2026, 6, 10)), utc(2026, 6, 15, 22, 30), V.ACTIVE)
            # 23:30 UTC on 31 December is 00:30 on 1 January in Dutch time: in the period; started on it
            override(match(household(), proposed_on=date(2026, 1, 1), trial_on=date(2026, 1, 5)), utc(2025, 12, 31, 23, 30))
            db.session.commit()
        with tenant_scope(aalten):
            override(match(household(), proposed_on=date(2026, 3, 15), trial_on=date(2026, 4, 1)), utc(2026, 3, 15, 9))
            match(household(), trial_on=date(2026, 5, 1))
            db.session.commit()
        with tenant_scope(nijmegen):
            override(match(household(), proposed_on=date(2026, 1, 15), trial_on=date(2026, 2, 1)), utc(2026, 1, 15, 9))
            db.session.commit()

        m = figures(doetinchem).matches
        # started in the period: 1 Feb, 1 Mar (twice), 1 Mar, 10 Jun, 5 Jan = 5; of those on an override:
        # 1 Feb, 1 Mar (twice), 5 Jan = 3. Overrides made in the period: 20 Jan, 10 Apr, 1 Feb, 1 May, 1 Jan = 5
        assert (m.started, m.started_on_override, m.overrides_recorded) == (5, 3, 5)
        # By the reference date of 16 June the late override has been made: 4 on an override, 6 made
        later = figures(doetinchem, as_of=date(2026, 6, 16)).matches
        assert (later.started_on_override, later.overrides_recorded) == (4, 6)
        report = regional([doetinchem, aalten])
        a = report.municipalities[1].matches
        assert (a.started, a.started_on_override, a.overrides_recorded) == (2, 1, 1)
        # Achterhoek: started 5 + 2 = 7; on an override 3 + 1 = 4; overrides made 5 + 1 = 6 (Nijmegen's left out)
        t = report.total.matches
        assert (t.started, t.started_on_override, t.overrides_recorded) == (7, 4, 6)


def test_triage_fields_follow_the_vocabulary():
    from dataclasses import fields

    assert tuple(f.name for f in fields(kpis.Triage)) == V.TRIAGE_OUTCOMES


def test_a_kpi_call_runs_a_few_statements_however_many_municipalities(app, towns):
    from sqlalchemy import event

    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append(statement)

    with app.app_context():
        generator.generate(list(towns.values()), 40, 15, seed=7, today=REF)
        engines = set(db.engines.values())  # regional figures run as the cross-tenant role, on its engine
        for engine in engines:
            event.listen(engine, "before_cursor_execute", record)
        try:
            figures(towns["doetinchem"])
            one = len(statements)
            statements.clear()
            regional(list(towns.values()))
            three = len(statements)
        finally:
            for engine in engines:
                event.remove(engine, "before_cursor_execute", record)
    # registrations, families, matches, ends, overrides, reach, waiting age, first proposal, duration,
    # evaluations, contacts, target: 12, whatever the number of municipalities or rows
    assert one == three == 12
