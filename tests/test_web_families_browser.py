"""A coordinator's journey in a real headless Chromium: from a family registered through the public form
to the intake, the triage and the eligibility decision with its reasons in Dutch.

PostgreSQL only (one run per test), as tests/test_web_browser.py. Every main page of the journey gets
``check_page``: axe-core with no serious or critical violation, and screenshots in Dutch and English.
A coordinator of Druten cannot open any of the Aalten pages the journey used (404).
"""
from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.browser import browser, check_page, live_server, live_settings, log_in, new_page, page  # noqa: F401  (fixtures)
from tests.conftest import add_user, enable_policy

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]

POVERTY = {"eligibility.poverty": {"percentage": 120}, "screening.vog": {}}
DRUTEN_COORDINATOR = "coordinator@druten.example"


@pytest.fixture
def registered(app, world):
    """The poverty rule in Aalten, a family registered through the public form, and a coordinator of Druten."""
    from core.auth import roles as R
    from core.extensions import db
    from core.usecases import families
    from tenants.context import cross_tenant_scope, tenant_scope
    from tenants.models import Municipality

    with app.app_context():
        enable_policy(world.ids["aalten"], POVERTY)
        with tenant_scope(world.ids["aalten"]):
            family = families.register_from_form({
                "kind": "requesting", "display_name": "Familie Bakker", "email": "bakker@example.org",
                "phone": None, "postcode": "7121 AB", "house_number": "12", "support_kinds": ["day_part_care"],
                "message": "Graag hulp op woensdag.", "referral_source": "self", "consent_processing": True,
                "consent_wording_version": "2026-01",
                "members": [{"role": "adult", "first_name": "Mila", "date_of_birth": date(1990, 5, 1)},
                            {"role": "child", "first_name": "Noor", "date_of_birth": date(2019, 2, 3)}]})
            db.session.commit()
            family_id = family.id
        with cross_tenant_scope("platform-maintenance"):
            add_user(DRUTEN_COORDINATOR, R.COORDINATOR, municipality=db.session.get(Municipality, world.ids["druten"]))
            db.session.commit()
    return family_id


def test_a_coordinator_finds_a_new_family_does_the_intake_and_triage_and_reads_the_decision(
        page, new_page, world, registered):
    family_url = f"/aalten/families/{registered}"
    log_in(page, world.users["coordinator"])
    page.get_by_role("link", name="Aalten").click()

    # the dashboard
    expect(page).to_have_url(re.compile(r"/aalten/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Aalten")
    expect(page.get_by_role("heading", name="In één oogopslag")).to_be_visible()
    expect(page.get_by_role("heading", name="Gezinnen die het langst wachten")).to_be_visible()
    expect(page.get_by_role("heading", name="Evaluaties die eraan komen of te laat zijn")).to_be_visible()
    check_page(page, "dashboard")

    # the list, through the menu; the family is there, registered
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Gezinnen").click()
    expect(page).to_have_url(re.compile(r"/aalten/families$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Gezinnen")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Familie Bakker"))
    expect(row).to_contain_text("vraaggezin")
    expect(row).to_contain_text("aangemeld")
    check_page(page, "family list")

    # filters are GET parameters
    page.get_by_label("Status").select_option(label="aangemeld")
    page.get_by_role("button", name="Tonen").click()
    expect(page).to_have_url(re.compile(r"status=registered"))
    expect(page.get_by_role("link", name="Familie Bakker")).to_be_visible()

    # a search on the name is a POST: the name stays out of the address
    page.get_by_role("textbox", name="Naam", exact=True).fill("bakker")
    page.get_by_role("button", name="Zoeken").click()
    expect(page.get_by_role("heading", name="Gezinnen met “bakker” in de naam")).to_be_visible()
    assert "bakker" not in page.url.lower()
    page.get_by_role("link", name="Familie Bakker").click()

    # the family page
    expect(page).to_have_url(re.compile(rf"{family_url}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Familie Bakker")
    expect(page.get_by_role("heading", name="Checklist screening")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("7121 AB")
    expect(page.get_by_role("table", name="Gezinsleden")).to_contain_text("Noor")
    check_page(page, "family page")

    # the intake, on its own page
    page.get_by_role("link", name="Intakegesprek vastleggen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Intakegesprek met Familie Bakker")
    check_page(page, "intake form")
    page.get_by_label("Aantekeningen").fill("Kennismaking bij het gezin thuis. Moeder werkt parttime.")
    page.get_by_role("button", name="Intake vastleggen").click()
    expect(page.get_by_role("status")).to_contain_text("De intake is vastgelegd.")
    expect(page.get_by_text("Nu: intake, sinds")).to_be_visible()

    # the triage; then the eligibility decision with its reasons, in Dutch
    page.get_by_label("past binnen het programma").check()
    page.get_by_role("button", name="Triage vastleggen").click()
    expect(page.get_by_role("status")).to_contain_text("De triage is vastgelegd")
    decision = page.locator("section.decision").filter(has_text="Toelating")
    expect(decision).to_contain_text("Laag inkomen (armoede)")
    expect(decision).to_contain_text("Er is geen gezinsinkomen vastgelegd")
    expect(page.locator("dl.facts")).to_contain_text("past binnen het programma")
    check_page(page, "family page after triage")

    # on the waiting list: the policy decides again, and the family can be matched
    page.get_by_label("Nieuwe status").select_option(label="wachtend")
    page.get_by_role("button", name="Status wijzigen").click()
    expect(page.get_by_role("status")).to_contain_text("De status is gewijzigd.")
    expect(page.get_by_text("Nu: wachtend, sinds")).to_be_visible()
    expect(page.get_by_role("table", name="Statusgeschiedenis")).to_contain_text("intakegesprek")
    expect(page.get_by_role("link", name="Steungezin zoeken")).to_have_attribute(
        "href", re.compile(rf"{family_url}/suggestions$"))

    # the registration form for staff
    page.goto("/aalten/families/new")
    expect(page.get_by_role("heading", level=1)).to_have_text("Gezin aanmelden")
    check_page(page, "family registration form")
    page.get_by_role("button", name="Gezin aanmelden").click()  # empty: the error summary names the fields
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Kies het soort gezin.")
    expect(summary).to_contain_text("Vul de gezinsnaam in.")
    check_page(page, "family registration form with errors")

    # a coordinator of Druten cannot open any of these pages
    other = new_page()
    log_in(other, DRUTEN_COORDINATOR)
    expect(other.get_by_role("link", name="Druten")).to_be_visible()
    for url in ("/aalten/", "/aalten/families", "/aalten/families/new", family_url, f"{family_url}/intake"):
        response = other.goto(url)
        assert response.status == 404, url
        expect(other.get_by_role("heading", level=1)).to_have_text("Pagina niet gevonden")
