"""The tenant admin's and the own account's pages in a real headless Chromium (see tests/test_web_browser.py).

The mails go to the real test SMTP server (tests/smtp.py); a worker's part (sending the queued mail) is
done in-process by :func:`tests.test_web_account.deliver`, and the link is read from the received mail.
"""
from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import expect

from core.auth import roles as R
from core.extensions import db, limiter
from tenants.models import Municipality
from tests.browser import browser, check_page, live_server, live_settings, enter_code, log_in, new_page, page  # noqa: F401  (fixtures)
from tests.conftest import add_user
from tests.test_web_account import NEW_PASSWORD, deliver

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]

ADMIN_PAGES = ("/aalten/admin/users", "/aalten/admin/tokens", "/aalten/admin/targets", "/aalten/admin/scheduled-work")


@pytest.fixture
def live_settings(smtp_server):  # noqa: F811  (overrides tests.browser's)
    return {"SMTP_URL": smtp_server.url}


@pytest.fixture(autouse=True)
def _public_url(live_server):
    live_server.app.config["PUBLIC_URL"] = live_server.url  # the links in the mails lead to the served app
    limiter.reset()


def mailed_link(live_server, smtp_server, to: str) -> str:
    """Send the queued mails (as a worker), and the path of the link in the newest mail to *to*."""
    deliver(live_server.app)
    mail = [m for m in smtp_server.messages if m.to == [to]][-1]
    match = re.search(re.escape(live_server.url) + r"(/(?:invitation|password-reset)/[A-Za-z0-9._-]+)", mail.body)
    assert match, mail.body
    return match.group(1)


def test_an_invited_coordinator_sets_a_password_and_is_logged_out_when_disabled(new_page, world, live_server,
                                                                                 smtp_server):
    admin = new_page()
    log_in(admin, world.users[R.TENANT_ADMIN])
    admin.goto("/aalten/admin/targets")
    admin.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Gebruikers").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Gebruikers")
    check_page(admin, "admin_users")

    # a mistake first: the summary names the field, and nothing is sent
    admin.get_by_label("Naam", exact=True).fill("Nina Nieuw")
    admin.get_by_label("E-mailadres").fill("geen adres")
    admin.get_by_label("coördinator", exact=True).check()
    admin.get_by_role("button", name="Uitnodiging sturen").click()
    expect(admin.get_by_role("alert")).to_contain_text("E-mailadres")
    admin.get_by_label("E-mailadres").fill("nina@aalten.example")
    admin.get_by_role("button", name="Uitnodiging sturen").click()
    expect(admin.get_by_role("status")).to_contain_text("Nina Nieuw is uitgenodigd")
    row = admin.get_by_role("row", name=re.compile("Nina Nieuw"))
    expect(row).to_contain_text("uitgenodigd")

    link = mailed_link(live_server, smtp_server, "nina@aalten.example")
    nina = new_page()
    nina.goto(link)
    expect(nina.get_by_role("heading", level=1)).to_have_text("Welkom bij Koppel")
    check_page(nina, "invitation")
    nina.get_by_label("Nieuw wachtwoord").fill("kort")
    nina.get_by_role("button", name="Wachtwoord opslaan en inloggen").click()
    expect(nina.get_by_role("alert")).to_contain_text("Nieuw wachtwoord")
    nina.get_by_label("Nieuw wachtwoord").fill(NEW_PASSWORD)
    nina.get_by_role("button", name="Wachtwoord opslaan en inloggen").click()
    # the second factor is set up before anything else: the QR code, the key as text, a code to confirm
    expect(nina.get_by_role("heading", level=1)).to_have_text("Uw authenticator-app instellen")
    expect(nina.get_by_role("img", name="QR-code voor uw authenticator-app")).to_be_visible()
    check_page(nina, "mfa_enrol")
    secret = nina.locator("#totp-secret").get_attribute("data-secret")
    nina.get_by_label("Code", exact=True).fill(pyotp.TOTP(secret).now())
    nina.get_by_role("button", name="Bevestigen").click()
    expect(nina.get_by_role("heading", level=1)).to_have_text("Uw herstelcodes")
    expect(nina.locator("#recovery-codes li")).to_have_count(10)
    nina.get_by_role("link", name="Ik heb ze bewaard, verder").click()
    expect(nina.get_by_role("heading", level=1)).to_have_text("Welkom, Nina Nieuw")
    nina.get_by_role("link", name="Aalten").click()
    expect(nina.get_by_role("heading", level=1)).to_have_text("Aalten")

    # the link worked once
    used = new_page()
    used.goto(link)
    expect(used.get_by_role("heading", level=1)).to_have_text("Deze link werkt niet meer")

    admin.reload()
    admin.get_by_role("row", name=re.compile("Nina Nieuw")).get_by_role("button", name="Uitschakelen").click()
    expect(admin.get_by_role("status")).to_contain_text("uitgeschakeld")
    nina.reload()  # her open session ended at once
    expect(nina).to_have_url(re.compile(r"/login\?next=/aalten/$"))
    log_in(nina, "nina@aalten.example", NEW_PASSWORD)
    expect(nina.get_by_role("alert")).to_contain_text("Het e-mailadres of wachtwoord klopt niet")


def test_password_forgotten_reset_and_log_in(page, world, live_server, smtp_server):
    email = world.users[R.COORDINATOR]
    page.goto("/login")
    page.get_by_role("link", name="Wachtwoord vergeten?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Wachtwoord vergeten?")
    check_page(page, "password_forgot")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_role("button", name="Link sturen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kijk in uw e-mail")
    check_page(page, "password_forgot_sent")

    page.goto(mailed_link(live_server, smtp_server, email))
    expect(page.get_by_role("heading", level=1)).to_have_text("Kies een nieuw wachtwoord")
    check_page(page, "password_reset")
    page.get_by_label("Nieuw wachtwoord").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Wachtwoord opslaan en inloggen").click()
    expect(page.get_by_role("status")).to_contain_text("Uw nieuwe wachtwoord is ingesteld")
    expect(page.get_by_role("heading", level=1)).to_have_text("Inloggen: code")  # a new password is not enough
    check_page(page, "login_code")
    enter_code(page, email)
    page.get_by_role("button", name="Uitloggen").click()
    log_in(page, email, NEW_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Welkom, coordinator")


def test_the_account_pages_and_an_own_token_shown_once(page, world):
    log_in(page, world.users[R.COORDINATOR])
    page.get_by_role("link", name="coordinator").click()  # the name in the header leads to the account
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw account")
    check_page(page, "account")
    page.get_by_label("Naam van het token").fill("mijn script")
    page.get_by_role("button", name="Token maken").click()
    token = page.get_by_label("Token", exact=True)
    expect(token).to_have_value(re.compile(r"^kpl_"))
    check_page(page, "account_token_created")  # reloads the page: the token is not shown again
    expect(page.get_by_label("Token", exact=True)).to_have_count(0)
    expect(page.get_by_role("row", name=re.compile("mijn script"))).to_contain_text("actief")

    page.get_by_role("link", name="Uw wachtwoord wijzigen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw wachtwoord wijzigen")
    check_page(page, "password_change")


def test_the_admin_pages_tokens_targets_and_scheduled_work(page, world):
    log_in(page, world.users[R.TENANT_ADMIN])
    page.goto("/aalten/admin/tokens")
    expect(page.get_by_role("heading", level=1)).to_have_text("API-tokens")
    page.get_by_label("Naam van het token").fill("rapportage")
    page.get_by_label("coördinator", exact=True).check()
    page.get_by_role("button", name="Token maken").click()
    expect(page.get_by_label("Token", exact=True)).to_have_value(re.compile(r"^kpl_"))
    check_page(page, "admin_tokens")
    page.get_by_role("row", name=re.compile("rapportage")).get_by_role("button", name="Intrekken").click()
    expect(page.get_by_role("row", name=re.compile("rapportage"))).to_contain_text("ingetrokken")

    page.goto("/aalten/admin/targets")
    page.get_by_label("Jaar").fill("2031")
    page.get_by_label("Nieuwe koppelingen: minstens").fill("10")
    page.get_by_label("Nieuwe koppelingen: hoogstens").fill("15")
    page.get_by_role("button", name="Doel opslaan").click()
    expect(page.get_by_role("row", name=re.compile("2031"))).to_contain_text("onder het doel")
    check_page(page, "admin_targets")

    page.goto("/aalten/admin/scheduled-work")
    expect(page.get_by_role("heading", level=1)).to_have_text("Geplande taken")
    check_page(page, "admin_scheduled_work")


def test_a_druten_admin_cannot_open_the_aalten_pages(page, world, app):
    with app.app_context():
        add_user("admin@druten.example", R.TENANT_ADMIN, municipality=db.session.get(Municipality, world.ids["druten"]))
        db.session.commit()
    log_in(page, "admin@druten.example")
    for path in ADMIN_PAGES:
        response = page.goto(path)
        assert response.status == 404, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Pagina niet gevonden")
