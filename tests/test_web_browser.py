"""The web UI in a real headless Chromium (Debian's ``/usr/bin/chromium``).

The app is served by werkzeug from a thread on a free local port, with CSRF
protection on (the other tests switch it off), against the PostgreSQL test
database that the ``app`` and ``world`` fixtures prepare. These tests run on
PostgreSQL only: the backend is chosen with an indirect parametrization, so
each test exists once. Playwright drives the browser through its sync API;
no browser is downloaded.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser import browser, check_page, live_server, live_settings, enter_code, log_in, new_page, page  # noqa: F401  (fixtures)
from tests.conftest import PASSWORD, totp_code

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]

SCREENSHOT = "/tmp/koppel-tenant.png"
WRONG_PASSWORD_DUTCH = ("Het e-mailadres of wachtwoord klopt niet, of er waren te veel pogingen. "
                        "Probeer het over een tijdje opnieuw.")


def test_coordinator_logs_in_in_dutch_and_opens_their_municipality(page, world):
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page).to_have_title("Inloggen · Koppel")
    expect(page.get_by_role("heading", level=1)).to_have_text("Inloggen")
    expect(page.get_by_role("button", name="Inloggen")).to_be_visible()

    page.get_by_label("E-mailadres").fill(world.users["coordinator"])
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inloggen: code")  # the second step
    enter_code(page, world.users["coordinator"])

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page).to_have_title("Startpagina · Koppel")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welkom, coordinator")
    expect(page.get_by_role("heading", name="Uw werk")).to_be_visible()
    memberships = page.locator("ul.memberships > li")
    expect(memberships).to_have_count(1)
    expect(memberships).to_contain_text("coördinator")
    expect(page.get_by_role("button", name="Uitloggen")).to_be_visible()

    page.get_by_role("link", name="Aalten").click()
    expect(page).to_have_url(re.compile(r"/aalten/$"))
    expect(page).to_have_title("Aalten · Koppel")
    expect(page.get_by_role("heading", level=1)).to_have_text("Aalten")
    facts = page.locator("dl.facts")
    for term, value in [("Regio", "Achterhoek"), ("CBS-code", "GM0197"), ("Inwoners", "27.500"), ("Uw rol", "coördinator")]:
        expect(facts.locator("dt", has_text=term).locator("+ dd")).to_have_text(value)
    page.screenshot(path=SCREENSHOT, full_page=True)


def test_after_logging_in_the_user_returns_to_the_page_they_asked_for(page, world):
    page.goto("/aalten/")
    expect(page).to_have_url(re.compile(r"/login\?next=/aalten/$"))
    page.get_by_label("E-mailadres").fill(world.users["coordinator"])
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    enter_code(page, world.users["coordinator"])
    expect(page).to_have_url(re.compile(r"/aalten/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Aalten")
    page.locator("a.brand").click()  # the brand leads back to the start page
    expect(page).to_have_url(re.compile(r"/$"))


def test_wrong_password_shows_the_generic_dutch_error_and_stays_on_the_login_page(page, world):
    log_in(page, world.users["coordinator"], "not the password")

    alert = page.get_by_role("alert")
    expect(alert).to_have_text(WRONG_PASSWORD_DUTCH)
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Inloggen")
    expect(page.get_by_label("E-mailadres")).to_have_value(world.users["coordinator"])
    expect(page.get_by_label("Wachtwoord")).to_have_value("")  # never sent back to the browser
    expect(page.get_by_role("button", name="Uitloggen")).to_have_count(0)

    # An unknown address gets exactly the same message: accounts cannot be probed.
    log_in(page, "nobody@aalten.example", "not the password")
    expect(page.get_by_role("alert")).to_have_text(WRONG_PASSWORD_DUTCH)


def test_the_language_button_switches_to_english_and_back(page, world):
    log_in(page, world.users["coordinator"])
    page.goto("/aalten/")
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.get_by_role("button", name="Nederlands")).to_have_attribute("aria-current", "true")

    page.get_by_role("button", name="English").click()

    expect(page).to_have_url(re.compile(r"/aalten/$"))  # the same page, now in English
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="English")).to_have_attribute("aria-current", "true")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    facts = page.locator("dl.facts")
    for term, value in [("Region", "Achterhoek"), ("Inhabitants", "27,500"), ("Your role", "coordinator")]:
        expect(facts.locator("dt", has_text=term).locator("+ dd")).to_have_text(value)
    expect(page.locator("body")).not_to_contain_text("Inwoners")

    page.get_by_role("button", name="Nederlands").click()
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.get_by_role("button", name="Uitloggen")).to_be_visible()


def test_the_language_choice_works_before_logging_in(page):
    page.goto("/login")
    page.get_by_role("button", name="English").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(page.get_by_label("E-mail address")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()


def test_logging_out_ends_the_session(page, world):
    log_in(page, world.users["coordinator"])
    page.goto("/aalten/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Aalten")
    session_cookie = next(c for c in page.context.cookies() if c["name"] == "koppel_session")

    page.get_by_role("button", name="Uitloggen").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("button", name="Uitloggen")).to_have_count(0)

    # The back button shows no cached copy (Cache-Control: no-store): it asks again and is sent to log in.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/login\?next=/aalten/$"))
    expect(page.locator("body")).not_to_contain_text("GM0197")

    page.goto("/aalten/")
    expect(page).to_have_url(re.compile(r"/login\?next=/aalten/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Inloggen")
    expect(page.locator("body")).not_to_contain_text("GM0197")

    # The old cookie, replayed, no longer opens anything: the session ended on the server.
    page.context.clear_cookies()
    page.context.add_cookies([session_cookie])
    page.goto("/aalten/")
    expect(page).to_have_url(re.compile(r"/login\?next=/aalten/$"))
    expect(page.locator("body")).not_to_contain_text("GM0197")


def test_the_login_form_works_by_keyboard_alone_and_every_input_has_a_label(page, world, live_server):
    page.goto("/login")

    for label in ("E-mailadres", "Wachtwoord"):
        expect(page.get_by_label(label, exact=True)).to_have_count(1)
    visible_inputs = page.locator("input:not([type=hidden]), select, textarea, button")
    for i in range(visible_inputs.count()):
        control = visible_inputs.nth(i)
        name = control.evaluate(
            "el => el.tagName === 'BUTTON' ? el.textContent.trim()"
            " : [...el.labels].map(l => l.textContent.trim()).join(' ')"
        )
        assert name, f"control without a label: {control.evaluate('el => el.outerHTML')}"

    # The first Tab reaches the skip link; following it puts the next Tab on the e-mail field.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Direct naar de inhoud")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_label("E-mailadres")).to_be_focused()
    page.keyboard.type(world.users["coordinator"])
    page.keyboard.press("Tab")
    expect(page.get_by_label("Wachtwoord")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_label("Code", exact=True)).to_be_focused()  # the code page puts the cursor in its field
    page.keyboard.type(totp_code(live_server.app, world.users["coordinator"]))
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Welkom, coordinator")


def test_the_login_form_is_reachable_by_tab_without_the_skip_link(page, world):
    """Plain Tab order: skip link, brand, the two language buttons, then the form."""
    page.goto("/login")
    focused = []
    for _ in range(8):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
        if focused[-1] == "email":
            break
    assert focused == ["Direct naar de inhoud", "Koppel", "Nederlands", "English", "email"]


def test_a_form_without_its_csrf_token_is_refused_in_dutch(page, world):
    """The browser tests' app really checks CSRF tokens, and says so in Dutch."""
    page.goto("/login")
    page.locator("main form input[name=csrf_token]").evaluate("el => el.remove()")
    page.get_by_label("E-mailadres").fill(world.users["coordinator"])
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("button", name="Uitloggen")).to_have_count(0)
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dit verzoek kon niet worden verwerkt")
    expect(page.get_by_role("link", name="Terug naar de startpagina")).to_be_visible()


def test_the_api_docs_work_without_a_cdn(page):
    page.goto("/api/v1/docs/")
    expect(page.get_by_text("Koppel API").first).to_be_visible()
    expect(page.locator(".opblock-tag", has_text="Families").first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/{municipality}/matches/{match_id}/start-trial")
           .first).to_be_attached()


@pytest.mark.parametrize("path,name", [("/login", "login"), ("/privacy", "privacy"),
                                       ("/accessibility", "accessibility")])
def test_the_pages_everyone_sees_are_accessible_in_dutch_and_english(page, path, name):
    page.goto(path)
    expect(page.get_by_role("contentinfo").get_by_role("link", name="Privacyverklaring")).to_be_visible()
    expect(page.get_by_role("contentinfo").get_by_role("link", name="Toegankelijkheidsverklaring")).to_be_visible()
    check_page(page, name)


def test_the_start_page_is_accessible(page, world):
    log_in(page, world.users["coordinator"])
    expect(page.get_by_role("heading", level=1)).to_have_text("Welkom, coordinator")
    check_page(page, "start")
