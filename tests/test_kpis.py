"""The KPI service: exact figures on small hand-made data, consortium totals, fail-closed (SQLite and PostgreSQL)."""
from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, timedelta

import pytest

from core.extensions import db
from core.programme import generator, kpis
from core.programme import vocabulary as V
from core.programme.models import Contact, Evaluation, Family, Match, ProgrammeTarget
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


def figures(tenant_id: int, period=YEAR, as_of=REF) -> kpis.Kpis:
    with tenant_scope(tenant_id):
        try:
            return kpis.municipality_kpis(tenant_id, period, as_of=as_of)
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
            match(trial_on=date(2025, 6, 15), active_on=date(2025, 8, 10))  # a year ago today, running: retained
            match(trial_on=date(2025, 6, 16), active_on=date(2025, 8, 10))  # not a year yet: not in the cohort
            match(trial_on=date(2025, 1, 10), ended_on=date(2026, 1, 10), end_reason="other")  # on the anniversary: retained
            match(trial_on=date(2025, 1, 10), ended_on=date(2026, 1, 9), end_reason="moved")  # a day short
            match(trial_on=date(2025, 1, 10), ended_on=date(2025, 8, 1), end_reason="goals_reached")  # retained
            match(trial_on=date(2024, 2, 29), ended_on=date(2025, 2, 28), end_reason="mismatch")  # leap day: retained
            match(trial_on=date(2024, 2, 29), ended_on=date(2025, 2, 27), end_reason="mismatch")
            match(proposed_on=date(2024, 5, 1), cancelled_on=date(2024, 5, 10))  # never started
            db.session.commit()
        r = figures(t).retention_12_months
        assert (r.cohort, r.retained, r.rate) == (6, 4, 0.6667)
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
        assert k.volunteering == kpis.Volunteering(support_minutes=240, volunteer_hours=4.0)
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
                "retention": (d["retention_12_months"]["cohort"], d["retention_12_months"]["retained"]),
                "evaluations": d["evaluations"], "minutes": d["volunteering"]["support_minutes"],
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
        assert k.retention_12_months.rate is None and k.target is None and k.districts == []
        assert json.loads(json.dumps(k.to_dict()))["reference_date"] == "2026-06-15"


def test_the_kpi_endpoints(client, world):
    from core.auth import roles as R

    last_year = f"from={date.today() - timedelta(days=365)}&to={date.today()}"
    mine = client.get(f"/api/v1/aalten/kpis?{last_year}", headers=world.bearer(R.COORDINATOR))
    assert mine.status_code == 200, mine.get_json()
    assert mine.get_json()["matches"]["started"] == 1  # the world's one match in Aalten
    regional = client.get(f"/api/v1/consortia/achterhoek/kpis?{last_year}", headers=world.bearer(R.CONSORTIUM_ADMIN))
    assert regional.status_code == 200
    body = regional.get_json()
    assert len(body["municipalities"]) == 2 and body["total"]["matches"]["started"] == 2
    assert client.get("/api/v1/consortia/nijmegen-regio/kpis", headers=world.bearer(R.CONSORTIUM_ADMIN)).status_code == 404
    bad = client.get("/api/v1/aalten/kpis?from=2026-05-01", headers=world.bearer(R.COORDINATOR))
    assert bad.status_code == 422 and "from" in bad.get_json()["errors"]["query"]
