"""The coordinator's dashboard and the family pages (list, registration, family page, intake, triage).

On both backends: what the pages show, that bad input names the field with a 4xx and writes nothing,
that another municipality's family answers 404, that a name search is a POST and no name lands in a
URL, and that the statements of each main page do not grow with its rows (no N+1).
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.programme.models import Consent, Contact, Decision, Evaluation, Family, IntakeMeeting, Match
from core.scheduling.models import EarlyWarning, KpiSnapshot
from tenants.context import tenant_scope
from tests.conftest import enable_policy as _enable_policy
from tests.queries import count_statements

POVERTY = {"eligibility.poverty": {"percentage": 120}, "screening.vog": {}}


@pytest.fixture
def coordinator(client, world):
    world.login(client, world.users["coordinator"])
    return client


def enable_policy(app, tenant_id: int, plugins: dict) -> None:
    with app.app_context():
        _enable_policy(tenant_id, plugins)


def _count(app, world, model, slug="aalten", **where) -> int:
    with app.app_context(), tenant_scope(world.ids[slug]):
        statement = select(func.count()).select_from(model)
        for name, value in where.items():
            statement = statement.where(getattr(model, name) == value)
        return db.session.scalar(statement)


def _family(app, world, family_id, slug="aalten") -> Family:
    with app.app_context(), tenant_scope(world.ids[slug]):
        family = db.session.get(Family, family_id)
        db.session.expunge(family)
        return family


def _register(app, world, slug="aalten", **overrides) -> int:
    """A requesting family registered through the public form's use case."""
    from core.usecases import families

    data = {"kind": "requesting", "display_name": "Familie Bakker", "email": "bakker@example.org", "phone": None,
            "postcode": "7121 AB", "house_number": "12", "support_kinds": ["day_part_care"], "message": None,
            "referral_source": "self", "consent_processing": True, "consent_wording_version": "2026-01",
            "members": [{"role": "adult", "first_name": "Mila"}, {"role": "child", "first_name": "Noor"}],
            **overrides}
    with app.app_context(), tenant_scope(world.ids[slug]):
        family = families.register_from_form(data)
        db.session.commit()
        return family.id


def _version(client, url: str) -> str:
    return re.search(r'name="[a-z-]*version" type="hidden" value="(\d+)"|name="[a-z-]*version" value="(\d+)"',
                     client.get(url).get_data(as_text=True)).group(1)


# --------------------------------------------------------------------------- the dashboard

def test_the_dashboard_shows_waiting_families_evaluations_warnings_trends_and_targets(app, coordinator, world):
    from core.programme import families

    today = date.today()
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        family_id = families.create({"kind": "requesting", "display_name": "Familie Wachtlang", "status": "waiting",
                                     "registered_on": today - timedelta(days=30)}).id
        db.session.add(KpiSnapshot(period=(today.replace(day=1) - timedelta(days=1)).replace(day=1), figures={
            "waiting": {"families_waiting_now": 7, "days_waiting_now": {"count": 7, "median": 40, "longest": 90}},
            "registrations": {"total": 5}, "matches": {"started": 2, "running_now": 3}}))
        db.session.add(EarlyWarning(period=today.replace(day=1), code="long_wait", subject="", figures={"n": 1},
                                    message={"text": "Families wait long: %(n)s.", "params": {"n": 1}}))
        evaluation = db.session.scalar(select(Evaluation).where(Evaluation.match_id == world.records["aalten"]["match"]))
        evaluation.due_on = today - timedelta(days=3)
        db.session.commit()
    response = coordinator.get("/aalten/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Aalten" in html and "Achterhoek" in html
    assert f'/aalten/families/{family_id}"' in html  # the longest-waiting family, linked
    assert "Familie Wachtlang" in html and "Familie Jansen" in html  # the latter: its evaluation
    assert "te laat" in html  # the overdue evaluation
    assert "Families wait long: 1." in html  # the early warning
    assert "<svg" in html and "trend-waiting-caption" in html  # a trend chart with its table
    assert "<caption" in html and ">7<" in html
    assert "10–15" in html  # the target of this year against the new matches


def test_the_dashboard_without_data_says_so(app, client, world):
    world.login(client, world.users["tenant_admin"])
    html = client.get("/druten/").get_data(as_text=True)  # not theirs
    assert client.get("/druten/").status_code == 404
    html = client.get("/aalten/").get_data(as_text=True)
    assert "De trends verschijnen na de eerste maandelijkse" in html or "trend" in html.lower()


def test_the_dashboard_reads_a_fixed_number_of_statements(app, coordinator, world):
    coordinator.get("/aalten/")
    with app.app_context(), count_statements(db.engine) as few:
        assert coordinator.get("/aalten/").status_code == 200
    _many_families(app, world, 40)
    with app.app_context(), count_statements(db.engine) as many:
        assert coordinator.get("/aalten/").status_code == 200
    assert len(many) == len(few), "\n".join(many)
    assert_scoped(many)


def test_the_dashboards_figures_agree_with_the_kpi_service(app, world):
    """The dashboard counts a few KPIs itself (in fewer statements): they are the KPI service's figures."""
    from core.programme import kpis
    from core.usecases import dashboard

    _many_families(app, world, 3)  # 3 waiting since today, a match with an evaluation
    today = date.today()
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        from core.programme import families

        from core.programme.models import FamilyStatusChange

        for i, days in enumerate((3, 40, 41, 90, 200)):  # families that started waiting at different times
            family = families.create({"kind": "requesting", "display_name": f"Familie Wacht {i}", "status": "waiting",
                                      "registered_on": today - timedelta(days=days + 10)})
            db.session.flush()
            db.session.execute(FamilyStatusChange.__table__.update()
                               .where(FamilyStatusChange.family_id == family.id)
                               .values(at=datetime.combine(today - timedelta(days=days), time(12), tzinfo=timezone.utc)))
        db.session.commit()
        figures = dashboard.overview(today).figures
        expected = kpis.municipality_kpis(world.ids["aalten"], kpis.Period.year(today.year), today)
    assert figures.families_waiting == expected.waiting.families_waiting_now > 0
    assert figures.median_wait == expected.waiting.days_waiting_now.median == 3  # 0 0 0 [3] 40 41 90 200
    assert figures.longest_wait == expected.waiting.days_waiting_now.longest == 200
    assert figures.evaluations_due == expected.evaluations.due_next_30_days
    assert figures.evaluations_overdue == expected.evaluations.overdue
    assert figures.matches_running == expected.matches.running_now
    assert figures.matches_started == expected.matches.started
    assert (figures.target.new_matches, figures.target.pro_rata_min, figures.target.on_track) == (
        expected.target.new_matches, expected.target.pro_rata_min, expected.target.on_track)


TENANT_TABLES = re.compile(r'\b(FROM|JOIN) "?(family|member|match|evaluation|contact|consent|decision|approval|'
                           r'intake_meeting|duplicate_flag|kpi_snapshot|early_warning|programme_target|'
                           r'family_status_change)"?\b')


def assert_scoped(statements: list[str]) -> None:
    """Every read of a tenant's table names the tenant (the ORM layer of isolation; SQLite has no RLS)."""
    for statement in statements:
        if statement.lstrip().upper().startswith("SELECT") and TENANT_TABLES.search(statement):
            assert "tenant_id" in statement, statement


def _many_families(app, world, n: int, slug: str = "aalten") -> None:
    """*n* more requesting families waiting, each with members, a contact, a consent; with matches and
    evaluations for some."""
    from core.programme import consent, contacts, families, matches

    with app.app_context(), tenant_scope(world.ids[slug]):
        for i in range(n):
            family = families.create({
                "kind": "requesting", "display_name": f"Familie Veel {i}", "status": "waiting",
                "district_code": f"WK0197{i % 5:02d}", "registered_on": date.today() - timedelta(days=i),
                "members": [{"role": "adult", "first_name": f"A{i}"}, {"role": "child", "first_name": f"K{i}"}]})
            consent.give(family, "processing", "2026-01", date.today())
            contacts.log({"kind": "phone", "occurred_on": date.today(), "duration_minutes": 10, "note": None},
                         family_id=family.id)
            if i % 10 == 0:
                supporting = families.create({"kind": "supporting", "display_name": f"Steun Veel {i}",
                                              "status": "available", "capacity_children": 3})
                consent.give(supporting, "processing", "2026-01", date.today())
                match = matches.propose({"requesting_family_id": family.id, "supporting_family_id": supporting.id,
                                         "proposed_on": date.today(), "children": 1, "support_kinds": [], "note": None})
                db.session.add(Evaluation(match_id=match.id, kind="periodic", due_on=date.today()))
        db.session.commit()


# --------------------------------------------------------------------------- the list and the search

def test_the_list_shows_families_with_status_kind_waiting_time_and_filters_by_get(app, coordinator, world):
    html = coordinator.get("/aalten/families").get_data(as_text=True)
    assert "Familie Jansen" in html and "Familie de Vries" in html
    assert "vraaggezin" in html and "wacht" in html
    html = coordinator.get("/aalten/families?kind=supporting").get_data(as_text=True)
    assert "Familie de Vries" in html and "Familie Jansen<" not in html
    html = coordinator.get("/aalten/families?status=matched&kind=requesting&sort=waiting").get_data(as_text=True)
    assert "Familie Jansen" in html and "Familie de Vries" not in html
    assert "Familie Jansen" not in coordinator.get("/druten/families").get_data(as_text=True)


def test_a_bad_filter_names_the_field_with_a_4xx(coordinator):
    response = coordinator.get("/aalten/families?status=asleep")
    assert response.status_code == 422
    assert 'href="#status"' in response.get_data(as_text=True)


def test_the_list_pages_with_a_signed_cursor(app, coordinator, world):
    _many_families(app, world, 55)
    html = coordinator.get("/aalten/families?sort=name").get_data(as_text=True)
    cursor = re.search(r'cursor=([^"&]+)', html).group(1)
    second = coordinator.get(f"/aalten/families?sort=name&cursor={cursor}")
    assert second.status_code == 200
    assert coordinator.get("/aalten/families?cursor=forged").status_code == 400


def test_the_name_search_is_a_post_and_no_name_lands_in_a_url(app, coordinator, world):
    response = coordinator.post("/aalten/families", data={"q": "vries", "kind": "", "status": "", "district": "",
                                                          "sort": "name"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Familie de Vries" in html and ">Familie Jansen</a>" not in html
    # no URL on the page carries the name searched for
    for url in re.findall(r'(?:href|action)="([^"]*)"', html):
        assert "vries" not in url.lower()
    assert 'method="get"' in html and 'name="q"' in html
    # the search box is in the POST form, never in the GET form
    get_form = html.split('method="get"')[1].split("</form>")[0]
    assert 'name="q"' not in get_form
    too_short = coordinator.post("/aalten/families", data={"q": "v"})
    assert too_short.status_code == 422 and 'href="#q"' in too_short.get_data(as_text=True)


def test_the_list_reads_a_fixed_number_of_statements(app, coordinator, world):
    coordinator.get("/aalten/families")
    with app.app_context(), count_statements(db.engine) as few:
        assert coordinator.get("/aalten/families").status_code == 200
    _many_families(app, world, 40)
    with app.app_context(), count_statements(db.engine) as many:
        assert coordinator.get("/aalten/families").status_code == 200
    assert len(many) == len(few), "\n".join(many)
    assert_scoped(many)
    with app.app_context(), count_statements(db.engine) as searched:
        assert coordinator.post("/aalten/families", data={"q": "veel"}).status_code == 200
    assert len(searched) == len(few), "\n".join(searched)


# --------------------------------------------------------------------------- registration by a coordinator

def test_a_coordinator_registers_a_family_with_its_members(app, coordinator, world):
    enable_policy(app, world.ids["aalten"], POVERTY)
    response = coordinator.post("/aalten/families/new", data={
        "kind": "requesting", "display_name": "Familie Smit", "postcode": "7121 ab", "house_number": "3",
        "referral_source": "cjg", "support_kinds": ["day_part_care"], "problem_areas": ["poverty"],
        "household_income": "1200",
        "member1_role": "adult", "member1_first_name": "Sara", "member1_date_of_birth": "1988-04-01",
        "member2_role": "child", "member2_first_name": "Tim", "member2_date_of_birth": "2019-09-09",
        "member3_role": "adult", "member3_first_name": ""})
    assert response.status_code == 302, re.findall(r'<li><a href="#[^"]*">[^<]*', response.get_data(as_text=True))
    family_id = int(response.headers["Location"].rsplit("/", 1)[1])
    family = _family(app, world, family_id)
    assert family.display_name == "Familie Smit" and family.postcode == "7121 AB" and family.household_income == 1200
    page = coordinator.get(f"/aalten/families/{family_id}").get_data(as_text=True)
    assert "Sara" in page and "Tim" in page
    assert "Laag inkomen" in page  # the poverty plugin's finding, in Dutch
    assert "De registratie is" not in page


def test_bad_registration_names_the_field_writes_nothing(app, coordinator, world):
    before = _count(app, world, Family)
    response = coordinator.post("/aalten/families/new", data={
        "kind": "requesting", "display_name": "", "postcode": "12345", "referral_source": "cjg"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'href="#display_name"' in html and 'href="#postcode"' in html
    # a member's error from the schema is put on that member's field
    response = coordinator.post("/aalten/families/new", data={
        "kind": "requesting", "display_name": "Familie Fout", "referral_source": "cjg",
        "member1_role": "child", "member1_first_name": "Kim", "member1_date_of_birth": "2999-01-01"})
    assert response.status_code == 422
    assert 'href="#member1_date_of_birth"' in response.get_data(as_text=True)
    assert _count(app, world, Family) == before


# --------------------------------------------------------------------------- the family page

def test_the_family_page_shows_facts_decision_consent_contacts_history_and_matches(app, coordinator, world):
    family_id = world.records["aalten"]["family"]
    response = coordinator.get(f"/aalten/families/{family_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for text in ("Familie Jansen", "Anna", "Screening", "overloaded", "verwerking", "Statusgeschiedenis"):
        assert text.lower() in html.lower(), text
    assert "Koppeling" in html or "Match" in html
    assert _audit_reads(app, world, family_id) >= 1  # the read is audited, as the API's


def _audit_reads(app, world, family_id) -> int:
    from sqlalchemy import text

    with app.app_context(), tenant_scope(world.ids["aalten"]):
        return db.session.execute(text("SELECT count(*) FROM audit_event WHERE action = 'family.read' "
                                       "AND object_id = :id"), {"id": str(family_id)}).scalar()


def test_another_municipalitys_family_answers_404(app, coordinator, world):
    druten_family = world.records["druten"]["family"]
    for url in (f"/aalten/families/{druten_family}", f"/aalten/families/{druten_family}/intake"):
        assert coordinator.get(url).status_code == 404
    assert coordinator.post(f"/aalten/families/{druten_family}/triage",
                            data={"triage-outcome": "fits", "triage-on": date.today().isoformat()}).status_code == 404
    assert coordinator.get(f"/druten/families/{druten_family}").status_code == 404


def test_intake_then_triage_shows_the_new_eligibility_decision_with_its_reasons(app, coordinator, world):
    enable_policy(app, world.ids["aalten"], POVERTY)
    family_id = _register(app, world)
    version = _version(coordinator, f"/aalten/families/{family_id}/intake")
    response = coordinator.post(f"/aalten/families/{family_id}/intake",
                                data={"held_on": date.today().isoformat(), "notes": "Kennismaking", "version": version})
    assert response.status_code == 302
    assert _family(app, world, family_id).status == "intake"
    assert _count(app, world, IntakeMeeting, family_id=family_id) == 1

    version = str(_family(app, world, family_id).version)
    response = coordinator.post(f"/aalten/families/{family_id}/triage", data={
        "triage-outcome": "fits", "triage-on": date.today().isoformat(), "triage-version": version})
    assert response.status_code == 302
    html = coordinator.get(response.headers["Location"]).get_data(as_text=True)
    assert "Toelating" in html
    assert "Er is geen gezinsinkomen vastgelegd" in html  # the poverty plugin's reason, in Dutch


def test_a_stale_version_is_refused_with_a_4xx_and_nothing_written(app, coordinator, world):
    family_id = _register(app, world)
    response = coordinator.post(f"/aalten/families/{family_id}/intake",
                                data={"held_on": date.today().isoformat(), "version": "999"})
    assert response.status_code == 409
    assert "in de tussentijd" in response.get_data(as_text=True) or "error-summary" in response.get_data(as_text=True)
    assert _count(app, world, IntakeMeeting, family_id=family_id) == 0


def test_bad_intake_and_triage_name_the_field(app, coordinator, world):
    family_id = _register(app, world)
    version = str(_family(app, world, family_id).version)
    response = coordinator.post(f"/aalten/families/{family_id}/intake",
                                data={"held_on": (date.today() + timedelta(days=3)).isoformat(), "version": version})
    assert response.status_code == 422 and 'href="#held_on"' in response.get_data(as_text=True)
    response = coordinator.post(f"/aalten/families/{family_id}/triage",
                                data={"triage-outcome": "maybe", "triage-version": version})
    assert response.status_code == 422 and 'href="#triage-outcome"' in response.get_data(as_text=True)
    assert _count(app, world, IntakeMeeting, family_id=family_id) == 0
    assert _family(app, world, family_id).triage_outcome is None


def test_a_refused_status_change_is_a_409_in_the_error_summary(app, coordinator, world):
    family_id = world.records["aalten"]["supporting"]
    before = _family(app, world, family_id)
    response = coordinator.post(f"/aalten/families/{family_id}/status",
                                data={"status-status": "waiting", "status-version": str(before.version)})
    assert response.status_code == 409
    assert "error-summary" in response.get_data(as_text=True)
    assert _family(app, world, family_id).status == before.status


def test_triage_of_a_supporting_family_is_a_409(app, coordinator, world):
    family_id = world.records["aalten"]["supporting"]
    version = str(_family(app, world, family_id).version)
    response = coordinator.post(f"/aalten/families/{family_id}/triage", data={
        "triage-outcome": "fits", "triage-on": date.today().isoformat(), "triage-version": version})
    assert response.status_code == 409


def test_contacts_consent_and_overrides(app, client, world):
    enable_policy(app, world.ids["aalten"], POVERTY)
    family_id = _register(app, world)
    world.login(client, world.users["person"])
    response = client.post(f"/aalten/families/{family_id}/contacts", data={
        "contact-kind": "phone", "contact-occurred_on": date.today().isoformat(), "contact-duration_minutes": "30",
        "contact-note": "gebeld"})
    assert response.status_code == 302
    assert _count(app, world, Contact, family_id=family_id) == 1
    bad = client.post(f"/aalten/families/{family_id}/contacts", data={
        "contact-kind": "phone", "contact-occurred_on": date.today().isoformat(), "contact-duration_minutes": "9999"})
    assert bad.status_code == 422 and 'href="#contact-duration_minutes"' in bad.get_data(as_text=True)
    assert _count(app, world, Contact, family_id=family_id) == 1

    version = str(_family(app, world, family_id).version)
    response = client.post(f"/aalten/families/{family_id}/consents", data={
        "consent-purpose": "evaluation_contact", "consent-wording_version": "2026-01",
        "consent-given_on": date.today().isoformat(), "consent-version": version})
    assert response.status_code == 302
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        consent_id = db.session.scalar(select(Consent.id).where(Consent.family_id == family_id,
                                                                Consent.purpose == "evaluation_contact"))
        decision = db.session.scalar(select(Decision).where(Decision.family_id == family_id,
                                                            Decision.kind == "eligibility"))
        decision_id, outcome = decision.id, decision.outcome
    version = str(_family(app, world, family_id).version)
    response = client.post(f"/aalten/families/{family_id}/consents/{consent_id}/withdraw",
                           data={"withdraw-version": version})
    assert response.status_code == 302

    assert outcome != "eligible"
    short = client.post(f"/aalten/families/{family_id}/decisions/{decision_id}/override",
                        data={f"override-{decision_id}-outcome": "eligible", f"override-{decision_id}-reason": "ok"})
    assert short.status_code == 422 and f'href="#override-{decision_id}-reason"' in short.get_data(as_text=True)
    response = client.post(f"/aalten/families/{family_id}/decisions/{decision_id}/override", data={
        f"override-{decision_id}-outcome": "eligible",
        f"override-{decision_id}-reason": "Het inkomen is bekend bij het sociaal team en laag genoeg."})
    assert response.status_code == 302
    html = client.get(f"/aalten/families/{family_id}").get_data(as_text=True)
    assert "Het inkomen is bekend bij het sociaal team" in html


def test_the_family_page_reads_a_fixed_number_of_statements(app, coordinator, world):
    from core.programme import contacts

    family_id = world.records["aalten"]["family"]
    coordinator.get(f"/aalten/families/{family_id}")
    with app.app_context(), count_statements(db.engine) as few:
        assert coordinator.get(f"/aalten/families/{family_id}").status_code == 200
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        for i in range(12):
            contacts.log({"kind": "visit", "occurred_on": date.today(), "duration_minutes": 60, "note": f"bezoek {i}"},
                         family_id=family_id)
            db.session.add(IntakeMeeting(family_id=family_id, held_on=date.today(), notes=f"gesprek {i}"))
        for i in range(3):
            supporting = Family(kind="supporting", display_name=f"Steun {i}", status="available")
            db.session.add(supporting)
            db.session.flush()
            db.session.add(Match(requesting_family_id=family_id, supporting_family_id=supporting.id,
                                 proposed_on=date.today(), state="cancelled", cancelled_on=date.today()))
        db.session.commit()
    with app.app_context(), count_statements(db.engine) as many:
        assert coordinator.get(f"/aalten/families/{family_id}").status_code == 200
    assert len(many) == len(few), "\n".join(many)
    assert_scoped(many)


def test_four_eyes_approvals_and_an_override_confirmed_by_a_second_coordinator(app, client, world):
    """A supporting family: two coordinators approve; an override of its screening decision counts once a
    second coordinator confirmed it, and the one who made it cannot confirm it."""
    from core.usecases import decisions

    enable_policy(app, world.ids["aalten"], {"screening.vog": {}, "screening.four_eyes": {}})
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        from core.programme import families as family_service

        family = family_service.create({"kind": "supporting", "display_name": "Familie Steun", "status": "screening",
                                        "members": [{"role": "adult", "first_name": "Eva"}]})
        decision = decisions.decide("screening", family)
        db.session.commit()
        family_id, decision_id = family.id, decision.id
    world.login(client, world.users["person"])
    html = client.get(f"/aalten/families/{family_id}").get_data(as_text=True)
    assert "Vier-ogenprincipe" in html and "VOG van Eva" in html

    version = str(_family(app, world, family_id).version)
    assert client.post(f"/aalten/families/{family_id}/approve",
                       data={"approve-note": "Goed gesprek", "approve-version": version}).status_code == 302
    version = str(_family(app, world, family_id).version)
    again = client.post(f"/aalten/families/{family_id}/approve", data={"approve-version": version})
    assert again.status_code == 409 and "error-summary" in again.get_data(as_text=True)

    response = client.post(f"/aalten/families/{family_id}/decisions/{decision_id}/override", data={
        f"override-{decision_id}-outcome": "passed",
        f"override-{decision_id}-reason": "De VOG is aangevraagd en komt volgende week binnen."})
    assert response.status_code == 302
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        override = db.session.scalar(select(Decision).where(Decision.overrides_id == decision_id))
        override_id = override.id
        assert override.confirmed_at is None
    html = client.get(f"/aalten/families/{family_id}").get_data(as_text=True)
    assert "wacht op een tweede coördinator" in html
    assert f"/decisions/{override_id}/confirm" not in html  # not for the one who made it
    refused = client.post(f"/aalten/families/{family_id}/decisions/{override_id}/confirm")
    assert refused.status_code == 409

    client.post("/logout")
    world.login(client, world.users["person2"])
    html = client.get(f"/aalten/families/{family_id}").get_data(as_text=True)
    assert f"/decisions/{override_id}/confirm" in html
    assert client.post(f"/aalten/families/{family_id}/decisions/{override_id}/confirm").status_code == 302
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        assert db.session.get(Decision, override_id).confirmed_at is not None
    assert "Bevestigd door" in client.get(f"/aalten/families/{family_id}").get_data(as_text=True)
