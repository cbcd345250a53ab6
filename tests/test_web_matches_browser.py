"""The coordinator's matching journey in a real headless Chromium (PostgreSQL only, as tests/test_web_browser.py):
suggestions, a proposal, introduction, trial, activation with the agreement, an evaluation and the wellbeing
chart; a pick where a rule fails, with the override's reason; notifications and the import with its progress.
A coordinator of Druten cannot open any of these Aalten pages."""
from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from core.auth import roles as R
from core.extensions import db
from core.programme import schemas as S
from core.usecases import families as family_cases
from tenants.context import cross_tenant_scope, tenant_scope

from tests.browser import browser, check_page, live_server, live_settings, log_in, new_page, page  # noqa: F401
from tests.conftest import OPEN_POLICY, add_user, enable_policy
from tests.test_import import FAMILIES, MATCHES, MEMBERS, run_job, workbook

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]

POLICY = {**OPEN_POLICY, "matching.capacity": {}, "match_terms.standard": {}, "outcome.wellbeing": {},
          "outcome.satisfaction": {}}
DRUTEN_COORDINATOR = "coordinator@druten.example"


def _family(data: dict, *statuses: str) -> int:
    start = date.today() - timedelta(days=30)
    consents = tuple((p, "2026-01", start) for p in ("processing", "evaluation_contact"))
    family = family_cases.register(S.FamilyCreateSchema().load({"registered_on": start.isoformat(), **data}),
                                   consents=consents)
    for status in statuses:
        family_cases.change_status(family.id, status, None, None)
    return family.id


@pytest.fixture
def families(app, world) -> dict:
    """Set up through the use cases under the open policy (with a matching plugin, the match terms and the
    outcome instruments): two waiting requesting families, a screened supporting family with a VOG, and one
    whose adult has none. And a coordinator of Druten."""
    aalten = world.ids["aalten"]
    start = (date.today() - timedelta(days=30)).isoformat()
    with app.app_context():
        enable_policy(aalten, POLICY)
        with tenant_scope(aalten):
            ids = {
                "visser": _family({"kind": "requesting", "display_name": "Familie Visser", "problem_areas": ["overload"],
                                   "members": [{"role": "adult", "first_name": "Ria"},
                                               {"role": "child", "first_name": "Tim", "date_of_birth": "2019-04-01"}]},
                                  "waiting"),
                "de_boer": _family({"kind": "requesting", "display_name": "Familie de Boer",
                                    "members": [{"role": "adult", "first_name": "Anouk"}]}, "waiting"),
                "mulder": _family({"kind": "supporting", "display_name": "Familie Mulder", "capacity_children": 2,
                                   "capacity_age_min": 0, "capacity_age_max": 14,
                                   "members": [{"role": "adult", "first_name": "Kees", "vog_issued_on": start}]},
                                  "screening", "available"),
                "bos": _family({"kind": "supporting", "display_name": "Familie Bos", "capacity_children": 1,
                                "capacity_age_min": 0, "capacity_age_max": 14,
                                "members": [{"role": "adult", "first_name": "Henk"}]}, "screening", "available"),
            }
            db.session.commit()
        with cross_tenant_scope("platform-maintenance"):
            from tenants.models import Municipality

            add_user(DRUTEN_COORDINATOR, R.COORDINATOR, municipality=db.session.get(Municipality, world.ids["druten"]))
            db.session.commit()
    return ids


def test_a_coordinator_matches_families_takes_the_match_to_active_and_evaluates_it(new_page, app, world, families):
    page = new_page()
    log_in(page, world.users[R.COORDINATOR])
    visited = []

    # the suggestions for a waiting family: the supporting family with a VOG, with its reasons
    suggestions_url = f"/aalten/families/{families['visser']}/suggestions"
    page.goto(suggestions_url)
    visited.append(suggestions_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Steungezin zoeken voor Familie Visser")
    suggested = page.locator("ol.suggestions > li").filter(has_text="Familie Mulder")
    expect(suggested).to_be_visible()
    check_page(page, "match-suggestions")
    page.get_by_role("button", name=re.compile(r"^Koppeling voorstellen\W+Familie Mulder$")).click()

    # the match page: proposed; introduction, trial, then active with the agreement and its terms
    expect(page.get_by_role("status")).to_contain_text("De koppeling is voorgesteld")
    expect(page).to_have_url(re.compile(r"/aalten/matches/\d+$"))
    visited.append(urlsplit(page.url).path)
    expect(page.get_by_role("heading", level=1)).to_contain_text("voorgesteld")
    check_page(page, "match-proposed")
    page.get_by_role("button", name="Kennismaking vastleggen").click()
    expect(page.get_by_role("status")).to_contain_text("De kennismaking is vastgelegd")
    page.get_by_role("button", name="Proefperiode starten").click()
    expect(page.get_by_role("status")).to_contain_text("De proefperiode is begonnen")
    page.get_by_label("De afspraken tussen de gezinnen").fill("Elke woensdagmiddag na school, om 18 uur terug.")
    page.get_by_label("Hoe vaak de gezinnen elkaar zien").select_option(label="om de week")
    page.get_by_label("Uren per keer").fill("3,5")
    page.get_by_role("button", name="Koppeling actief maken").click()
    expect(page.get_by_role("status")).to_contain_text("De koppeling is actief")
    expect(page.get_by_role("heading", level=1)).to_contain_text("actief")
    agreement = page.locator("section", has=page.get_by_role("heading", name="Afspraken en voorwaarden"))
    expect(agreement).to_contain_text("Elke woensdagmiddag na school")
    expect(agreement).to_contain_text("om de week")
    expect(agreement).to_contain_text("3,5")

    # an evaluation from the policy's instrument
    page.get_by_role("table", name="Evaluaties").get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Evaluatie")
    visited.append(urlsplit(page.url).path)
    check_page(page, "evaluation")
    for question, answer in (("Hoe gaat het opvoeden?", "2"), ("Hoe gaat het met u als ouder?", "3"),
                             ("Hoe gaat het met de kinderen?", "4"), ("Hoe loopt het gezinsleven?", "3")):
        page.get_by_role("group", name=re.compile(re.escape(question))).get_by_label(answer, exact=True).check()
    page.get_by_role("group", name=re.compile("Vraaggezin: hoe tevreden")).get_by_label("5 – Zeer tevreden").check()
    page.get_by_label("Voortgang op de doelen").fill("Meer rust in huis; Tim gaat graag.")
    page.get_by_role("group", name="Besluit").get_by_label("doorgaan zoals het gaat").check()
    page.get_by_role("button", name="Evaluatie afronden").click()

    # back on the match: the wellbeing chart with its table
    expect(page.get_by_role("status")).to_contain_text("De evaluatie is afgerond")
    chart = page.get_by_role("figure", name=re.compile("Welzijnsschalen"))
    expect(chart).to_be_visible()
    expect(chart.locator("svg polyline")).to_have_count(4)
    expect(page.get_by_role("table", name=re.compile("Welzijnsschalen"))).to_contain_text("2")
    check_page(page, "match-active")

    # the match list
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Koppelingen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Koppelingen")
    expect(page.get_by_role("table", name="Koppelingen")).to_contain_text("Familie Visser")
    visited.append("/aalten/matches")
    check_page(page, "matches")

    # a pick where a rule fails: the page names the rule and asks for the reason
    override_url = f"/aalten/families/{families['de_boer']}/suggestions"
    page.goto(override_url)
    page.get_by_label("Steungezin", exact=True).select_option(label=f"Familie Bos ({families['bos']})")
    page.get_by_role("button", name="Koppeling voorstellen", exact=True).click()
    expect(page.get_by_role("heading", name="De regels laten deze koppeling nog niet toe")).to_be_visible()
    expect(page.locator("main")).to_contain_text("VOG van alle volwassenen")
    check_page(page, "match-override")  # switching the language reloads the page: pick the family again
    page.get_by_label("Steungezin", exact=True).select_option(label=f"Familie Bos ({families['bos']})")
    page.get_by_role("button", name="Koppeling voorstellen", exact=True).click()
    page.get_by_label("Reden om af te wijken").fill("De VOG is aangevraagd; de gezinnen kennen elkaar al jaren goed.")
    page.get_by_role("button", name="Toch voorstellen, met reden").click()
    expect(page.get_by_role("status")).to_contain_text("De koppeling is voorgesteld")
    expect(page.locator("main")).to_contain_text("De VOG is aangevraagd")  # the override's reason, in the history

    # notifications
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Meldingen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Meldingen")
    visited.append("/aalten/notifications")
    check_page(page, "notifications")

    # the druten coordinator opens none of these
    other = new_page()
    log_in(other, DRUTEN_COORDINATOR)
    for url in visited:
        response = other.goto(url)
        assert response.status == 404, url
        expect(other.get_by_role("heading", level=1)).to_have_text("Pagina niet gevonden")


def test_the_import_shows_its_progress_and_its_report(new_page, app, world, families):
    page = new_page()
    log_in(page, world.users[R.COORDINATOR])
    page.goto("/aalten/import")
    expect(page.get_by_role("heading", level=1)).to_have_text("Gezinnen en koppelingen importeren")
    check_page(page, "import")
    page.get_by_label("Werkmap (Excel, .xlsx)").set_input_files(files=[{
        "name": "gezinnen.xlsx", "buffer": workbook(families=FAMILIES, members=MEMBERS, matches=MATCHES),
        "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}])
    expect(page.get_by_label("Alleen het bestand controleren: er wordt niets opgeslagen (proefimport)")).to_be_checked()
    page.get_by_role("button", name="Versturen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"Proefimport \d+"))
    expect(page.locator("progress")).to_be_visible()
    expect(page.get_by_role("link", name="Vernieuwen")).to_be_visible()
    check_page(page, "import-job")
    job_id = int(page.url.rstrip("/").split("/")[-1])
    run_job(app, world.ids["aalten"], job_id)
    # htmx asks for the fragment every second: the report appears without reloading the page
    expect(page.locator("main")).to_contain_text("Geen problemen gevonden", timeout=10_000)
    expect(page.get_by_role("table", name="Rijen per tabblad")).to_be_visible()
    check_page(page, "import-report")

    other = new_page()
    log_in(other, DRUTEN_COORDINATOR)
    for url in ("/aalten/import", f"/aalten/import/{job_id}"):
        assert other.goto(url).status == 404, url
