"""Journeys in a real headless Chromium: a region's admin onboards a municipality through the wizard (and the
invited administrator's mail goes out through the test SMTP server); a family signs up through the public form
and only its own municipality's coordinators see it; a funder downloads an export and cannot open a coordinator's
page; the platform admin's pages. Every main page gets ``check_page`` (axe-core, screenshots in Dutch and English).

PostgreSQL only (one run per test), as tests/test_web_browser.py.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.auth import roles as R
from core.extensions import db
from tests.browser import browser, check_page, live_server, live_settings, log_in, new_page, page  # noqa: F401  (fixtures)
from tests.conftest import add_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]

PUBLIC_URL = "https://koppel.example.org"
TEMPLATE = {"eligibility.poverty": {}, "screening.vog": {}, "matching.proximity": {}}


def add_staff(app, world, email: str, role: str, *, municipality: str | None = None, consortium: str | None = None):
    from tenants.context import cross_tenant_scope
    from tenants.models import Consortium, Municipality

    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        where = db.session.get(Municipality, world.ids[municipality]) if municipality else None
        region = db.session.get(Consortium, world.ids[consortium]) if consortium else None
        add_user(email, role, municipality=where, consortium=region)
        db.session.commit()


def test_the_region_admin_onboards_a_municipality_and_its_admin_is_invited_by_mail(app, world, new_page, smtp_server,
                                                                                  monkeypatch):
    from core.policy import service
    from core.scheduling import runner
    from core.scheduling.models import PENDING, ScheduledItem
    from core.scheduling.registry import kinds
    from core.usecases import users
    from tenants.context import cross_tenant_scope
    from tenants.models import Municipality

    monkeypatch.setitem(app.config, "PUBLIC_URL", PUBLIC_URL)
    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        service.set_template(world.ids["achterhoek"], TEMPLATE, "tests")
        db.session.commit()
    add_staff(app, world, "beheer@nijmegen.example", R.CONSORTIUM_ADMIN, consortium="nijmegen")

    page = new_page()
    log_in(page, world.users[R.CONSORTIUM_ADMIN])
    page.get_by_role("link", name="Regio Achterhoek").click()
    expect(page).to_have_url(re.compile(r"/regio/achterhoek/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Regio Achterhoek")
    expect(page.get_by_role("columnheader", name="Aalten")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Berkelland")).to_be_visible()
    check_page(page, "region")

    page.get_by_role("link", name="Gemeente toevoegen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nieuwe gemeente")
    expect(page.get_by_text("Stap 1 van 3")).to_be_visible()
    check_page(page, "region-onboard-1")
    # a CBS code that is taken is refused at once, with the reason
    page.get_by_label("Naam van de gemeente").fill("Oost Gelre")
    page.get_by_label("CBS-code").fill("GM0197")
    page.get_by_label("Aantal inwoners").fill("29800")
    page.get_by_role("button", name="Volgende").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("De CBS-code GM0197 is al in gebruik bij Aalten.")
    alert.get_by_role("link", name=re.compile("CBS-code")).click()
    expect(page.get_by_label("CBS-code")).to_be_focused()
    check_page(page, "region-onboard-1-error")  # (switching the language reloads the empty step)
    page.get_by_label("Naam van de gemeente").fill("Oost Gelre")
    page.get_by_label("CBS-code").fill("GM1586")
    page.get_by_label("Aantal inwoners").fill("29800")
    page.get_by_role("button", name="Volgende").click()

    expect(page.get_by_text("Stap 2 van 3")).to_be_visible()
    table = page.get_by_role("table", name="Deze plug-ins worden aangezet")
    for name in TEMPLATE:
        expect(table).to_contain_text(name)
    check_page(page, "region-onboard-2")
    page.get_by_role("button", name="Volgende").click()

    expect(page.get_by_text("Stap 3 van 3")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("GM1586")
    expect(page.locator("dl.facts")).to_contain_text("/oost-gelre/")
    check_page(page, "region-onboard-3")
    page.get_by_label("Naam", exact=True).fill("Olga de Beheerder")
    page.get_by_label("E-mailadres").fill("olga@oostgelre.example")
    page.get_by_role("button", name="Gemeente toevoegen en uitnodiging versturen").click()

    expect(page).to_have_url(re.compile(r"/regio/achterhoek/$"))
    expect(page.get_by_role("status")).to_contain_text("Oost Gelre is klaar voor gebruik")
    expect(page.get_by_role("columnheader", name="Oost Gelre")).to_be_visible()

    with app.app_context():
        new = db.session.scalar(select(Municipality).where(Municipality.slug == "oost-gelre"))
        assert service.current(new.id).plugins.keys() == TEMPLATE.keys()
        with cross_tenant_scope("scheduler"):
            items = db.session.execute(select(ScheduledItem.id, ScheduledItem.tenant_id, ScheduledItem.kind).where(
                ScheduledItem.kind == users.INVITATION, ScheduledItem.state == PENDING)).all()
            db.session.rollback()
        for item_id, tenant_id, kind in items:  # as a worker does it
            with runner.scope(tenant_id, kinds()[kind].cross_scope):
                runner.run(item_id)
    [mail] = smtp_server.messages
    assert mail.to == ["olga@oostgelre.example"]
    assert "Oost Gelre" in mail.body and f"{PUBLIC_URL}/invitation/" in mail.body

    # another region's admin cannot open the pages this journey used
    other = new_page()
    log_in(other, "beheer@nijmegen.example")
    for path in ("/regio/achterhoek/", "/regio/achterhoek/onboard"):
        response = other.goto(path)
        assert response.status == 404, path
        expect(other.get_by_role("heading", level=1)).to_have_text("Pagina niet gevonden")


def test_a_family_signs_up_and_only_its_own_municipality_sees_it(app, world, new_page):
    add_staff(app, world, "coordinator@berkelland.example", R.COORDINATOR, municipality="berkelland")
    page = new_page()
    page.goto("/aalten/register")
    expect(page.get_by_role("heading", level=1)).to_have_text("Aanmelden in Aalten")
    check_page(page, "register")
    # sent empty: the problems at the top, each linked to its question
    page.get_by_role("button", name="Aanmelding versturen").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Vul uw naam in.")
    expect(alert).to_contain_text("We kunnen u alleen helpen als u toestemming geeft.")
    check_page(page, "register-errors")

    page.get_by_label("Ik zoek hulp voor mijn gezin").check()
    page.get_by_label("Uw naam").fill("Familie Özdemir")
    page.get_by_label("E-mailadres").fill("ozdemir@example.org")
    page.get_by_label("Postcode").fill("7121 AB")
    page.get_by_label("Huisnummer").fill("12a")
    page.get_by_label("Wilt u ons nog iets vertellen?").fill("Twee kinderen, 4 en 7 jaar.")
    page.get_by_label("Ja, ik geef toestemming").check()
    page.get_by_role("button", name="Aanmelding versturen").click()

    expect(page).to_have_url(re.compile(r"/aalten/register/done$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Bedankt voor uw aanmelding")
    expect(page.get_by_role("heading", name="Wat gebeurt er nu?")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Binnen 5 werkdagen")
    expect(page.locator("main")).not_to_contain_text("Özdemir")
    expect(page.get_by_role("status")).to_contain_text("Controleer uw e-mail")
    check_page(page, "register-done")

    # the link from the confirmation mail (tests/test_registration.py follows the mail itself): a button confirms
    from core.programme.registration import PendingRegistration
    from core.usecases import registrations
    from tenants.context import tenant_scope

    with app.app_context(), tenant_scope(world.ids["aalten"]):
        token = registrations.make_token(db.session.scalar(select(PendingRegistration)))
    page.goto(f"/aalten/register/confirm/{token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bevestig uw aanmelding")
    check_page(page, "register-confirm")
    page.get_by_role("button", name="Bevestig mijn aanmelding").click()
    expect(page).to_have_url(re.compile(r"/aalten/register/confirmed$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw aanmelding is bevestigd")
    check_page(page, "register-confirmed")

    aalten = new_page()
    log_in(aalten, world.users[R.COORDINATOR])
    aalten.goto("/aalten/families")
    expect(aalten.locator("main")).to_contain_text("Familie Özdemir")

    berkelland = new_page()
    log_in(berkelland, "coordinator@berkelland.example")
    berkelland.goto("/berkelland/families")
    expect(berkelland.get_by_role("heading", level=1)).to_be_visible()
    expect(berkelland.locator("main")).not_to_contain_text("Özdemir")
    assert berkelland.goto("/aalten/families").status == 404


def test_a_funder_downloads_an_export_and_cannot_open_a_coordinators_page(app, world, new_page):
    from datetime import date

    from core.exports import runs
    from core.exports.access import Scope
    from core.exports.rules import Period
    from tests.conftest import enable_policy
    from tests.test_exports import REPORTS, make_schedule

    from tenants.context import cross_tenant_scope

    with app.app_context(), cross_tenant_scope("consortium-aggregation"):
        enable_policy(world.ids["aalten"], REPORTS)
        schedule = make_schedule(Scope(tenant_id=world.ids["aalten"]), world.users[R.FUNDER], format="csv")
        run, made = runs.produce(schedule, Period.starting("month", date(2025, 3, 1)))
        db.session.commit()
        assert made
        run_id, content = run.id, run.content
    page = new_page()
    log_in(page, world.users[R.FUNDER])
    page.get_by_role("link", name="Aalten").click()
    expect(page).to_have_url(re.compile(r"/funder/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw exports")
    row = page.get_by_role("row").filter(has_text="1 maart 2025")
    expect(row).to_contain_text("CSV")
    check_page(page, "funder")
    with page.expect_download() as info:
        row.get_by_role("link", name=re.compile("Downloaden")).click()
    download = info.value
    assert download.suggested_filename == "koppel-aalten-2025-03.csv"
    with open(download.path(), "rb") as f:
        assert f.read() == content

    for path in ("/aalten/", "/aalten/families"):
        response = page.goto(path)
        assert response.status == 403, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Geen toegang")
    # a funder of another municipality cannot fetch this file
    add_staff(app, world, "financier@druten.example", R.FUNDER, municipality="druten")
    other = new_page()
    log_in(other, "financier@druten.example")
    assert other.goto(f"/aalten/funder/exports/{run_id}").status == 404
    expect(other.locator("main")).not_to_contain_text("1 maart 2025")
    other.goto("/funder/")
    expect(other.locator("main")).not_to_contain_text("koppel-aalten")


def test_the_platform_admin_suspends_and_reactivates_a_municipality(app, world, new_page):
    page = new_page()
    log_in(page, world.users[R.PLATFORM_ADMIN])
    page.goto("/platform/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Regio’s")
    check_page(page, "platform")
    page.get_by_role("link", name="Gemeenten").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Gemeenten")
    check_page(page, "platform-municipalities")
    page.get_by_role("button", name="Berkelland opschorten").click()
    expect(page.get_by_role("status")).to_contain_text("Berkelland is opgeschort")
    expect(page.get_by_role("button", name="Berkelland weer activeren")).to_be_visible()
    page.get_by_role("button", name="Berkelland weer activeren").click()
    expect(page.get_by_role("status")).to_contain_text("Berkelland is weer actief")
    page.get_by_role("link", name="Plugins").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Geïnstalleerde plug-ins")
    check_page(page, "platform-plugins")

    coordinator = new_page()
    log_in(coordinator, world.users[R.COORDINATOR])
    for path in ("/platform/", "/platform/municipalities", "/platform/plugins"):
        assert coordinator.goto(path).status == 403, path
