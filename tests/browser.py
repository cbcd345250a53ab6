"""What the browser tests share: the app served on a free port, Debian's Chromium driven by Playwright,
an accessibility check with axe-core, screenshots and logging in.

Import the fixtures into a test module: ``from tests.browser import browser, live_server, page``.
The app runs with CSRF protection on (the other tests switch it off), against the PostgreSQL test
database that the ``app`` and ``world`` fixtures prepare; no browser is downloaded.
"""
from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, sync_playwright
from werkzeug.serving import make_server

from tests.conftest import PASSWORD, make_app, totp_code

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
#: Screenshots of the main pages, in Dutch and English (git-ignored).
SCREENSHOTS = Path(__file__).parent / "screenshots"
#: axe-core's impacts that fail a test.
BLOCKING = ("serious", "critical")


class LiveServer:
    """The app served over HTTP from a daemon thread."""

    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="koppel-live-server", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        with self.app.app_context():
            from core.extensions import db

            db.engine.dispose()  # no idle connections left for the next test's TRUNCATE


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_settings() -> dict:
    """Settings of the served app; override this fixture in a module (e.g. ``SMTP_URL`` of a test server)."""
    return {}


@pytest.fixture
def live_server(app, world, backend, tmp_path_factory, live_settings):
    """A CSRF-protected app on the same database as ``app``, seeded with ``world``."""
    csrf_app = make_app(
        backend, tmp_path_factory, WTF_CSRF_ENABLED=True,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        MIGRATION_DATABASE_URL=app.config["MIGRATION_DATABASE_URL"],
        **live_settings,
    )
    assert csrf_app.config["WTF_CSRF_ENABLED"] is True
    global _live_app
    _live_app = csrf_app
    with LiveServer(csrf_app) as server:
        yield server
    _live_app = None


def _watch(page: Page, server_url: str) -> tuple[list, list, list]:
    console_errors, broken, foreign = [], [], []

    def on_console(msg):
        # Chromium logs every 4xx as "Failed to load resource", pages included; the tests
        # check the pages' outcomes themselves and sub-resources through on_response.
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            console_errors.append(msg.text)

    def on_response(response):
        if response.request.resource_type != "document" and response.status >= 400:
            broken.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    page.on("response", on_response)
    page.on("request", lambda request: foreign.append(request.url)
            if urlsplit(request.url).netloc != urlsplit(server_url).netloc else None)
    return console_errors, broken, foreign


@pytest.fixture
def new_page(browser, live_server):
    """Make fresh browser profiles (no cookies), e.g. one per user of a journey. Each fails the test on a
    script or CSP error in the console, a sub-resource that fails to load, or a request that leaves the
    server (no CDN, no third parties)."""
    opened = []

    def make() -> Page:
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1024, "height": 700})
        context.set_default_timeout(10_000)
        page = context.new_page()
        opened.append((context, _watch(page, live_server.url)))
        return page

    yield make
    for context, (console_errors, broken, foreign) in opened:
        context.close()
        assert not console_errors, f"errors in the browser console: {console_errors}"
        assert not broken, f"sub-resources that failed to load: {broken}"
        assert not foreign, f"requests to other hosts: {foreign}"


@pytest.fixture
def page(new_page) -> Page:
    """One fresh browser profile (see ``new_page``)."""
    return new_page()


#: The app the live server serves (``log_in`` computes TOTP codes for its fixture users).
_live_app = None


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Log in through the Dutch login pages, password then TOTP code (switches the profile to Dutch first if
    needed). For the fixture users (``tests.conftest.add_user``), whose authenticator secret is known."""
    page.goto("/login")
    if page.locator("html").get_attribute("lang") != "nl":
        page.get_by_role("button", name="Nederlands").click()
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Inloggen").click()
    if page.url.endswith("/login/code"):
        enter_code(page, email)


def enter_code(page: Page, email: str) -> None:
    """The second step of logging in, on the Dutch code page: a fresh TOTP code of the fixture user *email*."""
    page.get_by_label("Code", exact=True).fill(totp_code(_live_app, email))
    page.get_by_role("button", name="Inloggen").click()


def set_language(page: Page, language: str) -> None:
    """Switch the page's language with the button in the header."""
    page.get_by_role("button", name={"nl": "Nederlands", "en": "English"}[language]).click()


def axe_violations(page: Page, impacts=BLOCKING) -> list[dict]:
    """Run axe-core (vendored from the npm registry) on the page as it is; its violations of *impacts*."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # evaluated through the DevTools protocol: the page's CSP (no inline script) stays as it is
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [node["target"] for node in v["nodes"]][:5]}
        for v in result["violations"] if v["impact"] in impacts
    ]


def assert_accessible(page: Page) -> None:
    """No serious or critical axe-core violation on the page."""
    found = axe_violations(page)
    assert not found, f"accessibility problems on {page.url}:\n{json.dumps(found, indent=1)}"


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as ``tests/screenshots/<language>/<name>.png``; returns its path."""
    language = page.locator("html").get_attribute("lang") or "nl"
    path = SCREENSHOTS / language / f"{re.sub(r'[^a-z0-9-]+', '-', name.lower())}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def check_page(page: Page, name: str) -> None:
    """What every main page gets: the accessibility check and a screenshot, in Dutch and in English
    (the page is reloaded in the other language and left in the language it was in)."""
    start = page.locator("html").get_attribute("lang") or "nl"
    for language in (start, "en" if start == "nl" else "nl"):
        if page.locator("html").get_attribute("lang") != language:
            set_language(page, language)
        assert_accessible(page)
        screenshot(page, name)
    set_language(page, start)
