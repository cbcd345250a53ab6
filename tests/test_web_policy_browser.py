"""The policy journey in a real headless Chromium: a tenant admin switches the poverty rule on with a
threshold of their own, reads the effects on the waiting families, saves with a note and finds the new
version in the history; the region admin sees the difference from the template; a user of another
municipality or region opens none of these pages."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from core.auth import roles as R
from core.extensions import db
from tests.browser import (  # noqa: F401  (fixtures)
    assert_accessible,
    browser,
    check_page,
    live_server,
    live_settings,
    log_in,
    new_page,
    page,
    screenshot,
    set_language,
)
from tests.conftest import add_user, enable_policy

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]

POVERTY_CARD = "#cfg-plugin-eligibility-poverty"


def propose_poverty(page: Page, percentage: str) -> None:
    """On the policy page: switch "no conditions" off and the poverty rule on with *percentage*, and ask for
    the effects."""
    card = page.locator(POVERTY_CARD)
    language = page.locator("html").get_attribute("lang")
    page.get_by_label({"nl": "Aan: Geen voorwaarden", "en": "On: No conditions"}[language]).uncheck()
    card.get_by_label({"nl": "Aan: Laag inkomen (armoede)", "en": "On: Low income (poverty)"}[language]).check()
    card.locator("summary").click()  # the settings open
    card.get_by_label("Percentage", exact=True).fill(percentage)
    page.get_by_role("button", name={"nl": "Bekijk de gevolgen", "en": "See the effects"}[language]).click()


def check_preview(page: Page, percentage: str) -> None:
    """check_page for the preview, the result of a POST: in the other language the proposal is made again."""
    for language in ("nl", "en"):
        if page.locator("html").get_attribute("lang") != language:
            set_language(page, language)  # back on the policy page (the preview is not a page to reload)
            expect(page).to_have_url(re.compile(r"/aalten/admin/policy$"))
            propose_poverty(page, percentage)
        assert_accessible(page)
        screenshot(page, "policy-preview")
    set_language(page, "nl")


def test_a_tenant_admin_switches_on_the_poverty_rule_sees_the_effects_and_saves(page, new_page, world, app):
    with app.app_context():
        enable_policy(world.ids["aalten"], {"eligibility.no_conditions": {}})
    log_in(page, world.users[R.TENANT_ADMIN])
    page.goto("/aalten/")
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Beleid").click()
    expect(page).to_have_url(re.compile(r"/aalten/admin/policy$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Beleid")
    expect(page.get_by_role("heading", name="Wie mag meedoen")).to_be_visible()
    card = page.locator(POVERTY_CARD)
    expect(card.get_by_role("heading", level=3)).to_have_text("Laag inkomen (armoede)")
    expect(card.get_by_label("Aan: Laag inkomen (armoede)")).not_to_be_checked()
    check_page(page, "policy")

    # a value the schema refuses: the message at the field and in the summary, nothing saved
    propose_poverty(page, "20")
    expect(page.get_by_role("heading", level=1)).to_have_text("Beleid")
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("Laag inkomen (armoede), Percentage: Moet minstens 50 en hoogstens 300 zijn.")
    expect(card.get_by_label("Percentage", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(card.locator("#cfg-config-eligibility-poverty-percentage-error")).to_have_text(
        "Moet minstens 50 en hoogstens 300 zijn.")
    assert_accessible(page)
    summary.get_by_role("link").click()  # the link leads to the field
    expect(page).to_have_url(re.compile(r"#cfg-config-eligibility-poverty-percentage$"))

    # a good value: the effects first
    card.get_by_label("Percentage", exact=True).fill("150")
    page.get_by_role("button", name="Bekijk de gevolgen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Gevolgen van de wijziging")
    expect(page.get_by_text("Er is nog niets opgeslagen.")).to_be_visible()
    changes = page.locator("ul.policy-change")
    expect(changes).to_contain_text("Aangezet: Laag inkomen (armoede)")
    expect(changes).to_contain_text("Uitgezet: Geen voorwaarden")
    lost = page.locator(".card", has_text="zijn niet meer toegelaten").locator(".figure")
    expect(lost).to_have_text("1")
    expect(page.get_by_role("heading", name="Gezinnen die niet meer zijn toegelaten")).to_be_visible()
    check_preview(page, "150")

    # saving: the proposal travels in the form of the preview page
    expect(page).to_have_url(re.compile(r"/aalten/admin/policy$"))
    propose_poverty(page, "150")
    page.get_by_label("Toelichting bij deze wijziging").fill("Armoede als voorwaarde (besluit wethouder)")
    page.get_by_role("button", name="Opslaan", exact=True).click()

    expect(page).to_have_url(re.compile(r"/aalten/admin/policy/versions$"))
    expect(page.get_by_role("status")).to_have_text("Het beleid is opgeslagen als versie 2.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Versiegeschiedenis van het beleid")
    newest = page.locator("table.policy-versions tbody tr").first
    expect(newest.locator("th")).to_have_text("2")
    expect(newest).to_contain_text("tenant-admin")
    expect(newest).to_contain_text("Aangezet: Laag inkomen (armoede)")
    expect(newest).to_contain_text("Armoede als voorwaarde (besluit wethouder)")
    check_page(page, "policy-versions")

    page.get_by_role("link", name="Terug naar het beleid").click()
    expect(page.locator(POVERTY_CARD).get_by_label("Aan: Laag inkomen (armoede)")).to_be_checked()
    expect(page.locator(POVERTY_CARD).get_by_label("Percentage", exact=True)).to_have_value("150")

    # the region's administrator sees Aalten's difference from the template
    region = new_page()
    log_in(region, world.users[R.CONSORTIUM_ADMIN])
    region.goto("/regio/achterhoek/template")
    expect(region.get_by_role("heading", level=1)).to_have_text("Beleidssjabloon")
    aalten = region.locator("tr", has=region.get_by_role("rowheader", name="Aalten"))
    expect(aalten).to_contain_text("Ook aan: Laag inkomen (armoede)")
    check_page(region, "policy-template")

    # nobody of another municipality or region opens these pages
    from tenants.context import cross_tenant_scope
    from tenants.models import Consortium, Municipality

    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        add_user("beheer@druten.example", R.TENANT_ADMIN, municipality=db.session.get(Municipality, world.ids["druten"]))
        add_user("regio@nijmegen.example", R.CONSORTIUM_ADMIN,
                 consortium=db.session.get(Consortium, world.ids["nijmegen"]))
        db.session.commit()
    druten = new_page()
    log_in(druten, "beheer@druten.example")
    for path in ("/aalten/admin/policy", "/aalten/admin/policy/versions", "/aalten/admin/policy/preview"):
        assert druten.goto(path).status == 404, path
        expect(druten.get_by_role("heading", level=1)).to_have_text("Pagina niet gevonden")
    assert druten.goto("/druten/admin/policy").status == 200
    nijmegen = new_page()
    log_in(nijmegen, "regio@nijmegen.example")
    assert nijmegen.goto("/regio/achterhoek/template").status == 404
    assert nijmegen.goto("/regio/nijmegen-regio/template").status == 200
