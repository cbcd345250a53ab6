"""The bulk import in the browser's pages: upload with a dry run or not, the job's page with its progress and
the fragment htmx refreshes, the report per sheet and row in Dutch; on SQLite and PostgreSQL. The job is run
in-process, as a worker runs it (tests/test_background_import.py); the real worker is tested elsewhere."""
from __future__ import annotations

import html
import io
import re

import pytest
from sqlalchemy import func, select

from core.auth import roles as R
from core.extensions import db
from core.programme.models import Family
from core.scheduling.models import ImportJob
from tenants.context import tenant_scope

from tests.conftest import enable_policy
from tests.test_import import FAMILIES, MATCHES, MEMBERS, csv_file, run_job, workbook

BOOK = workbook(families=FAMILIES, members=MEMBERS, matches=MATCHES)


@pytest.fixture(autouse=True)
def open_policy(app, world):
    """Aalten's policy lets the sample's open match through (as in tests/test_import.py)."""
    with app.app_context():
        enable_policy(world.ids["aalten"])


def text_of(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def logged_in(client, world):
    assert world.login(client, world.users[R.COORDINATOR]).status_code == 302
    return client


def upload(client, dry_run: str = "yes", **files):
    data = {name: (io.BytesIO(content), f"{name}.{'xlsx' if name == 'workbook' else 'csv'}")
            for name, content in files.items()}
    return client.post("/aalten/import", data={**data, "dry_run": dry_run}, content_type="multipart/form-data")


def jobs(app, world) -> int:
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        return db.session.scalar(select(func.count()).select_from(ImportJob))


def families(app, world) -> int:
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        return db.session.scalar(select(func.count()).select_from(Family))


def test_a_dry_run_becomes_a_job_whose_page_shows_its_progress_and_then_its_report(app, world, client):
    logged_in(client, world)
    page = client.get("/aalten/import")
    assert page.status_code == 200 and "Gezinnen en koppelingen importeren" in text_of(page)
    before = families(app, world)
    sent = upload(client, workbook=BOOK)
    assert sent.status_code == 302
    location = sent.headers["Location"]
    job_id = int(location.rstrip("/").split("/")[-1])
    waiting = client.get(location)
    body = waiting.get_data(as_text=True)
    assert waiting.status_code == 200 and "<progress" in body
    assert f'hx-get="/aalten/import/{job_id}/progress"' in body and 'hx-trigger="every 1s"' in body
    assert "Vernieuwen" in text_of(waiting) and "wacht op zijn beurt" in text_of(waiting)
    fragment = client.get(f"/aalten/import/{job_id}/progress")
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    run_job(app, world.ids["aalten"], job_id)
    done = client.get(location)
    text = text_of(done)
    assert "Geen problemen gevonden" in text and "Rijen per tabblad" in text
    assert "hx-trigger" not in done.get_data(as_text=True)  # nothing more to poll
    assert "hx-trigger" not in client.get(f"/aalten/import/{job_id}/progress").get_data(as_text=True)
    assert families(app, world) == before  # a dry run writes nothing


def test_an_import_with_a_bad_row_lists_the_problem_by_sheet_and_row_in_dutch(app, world, client):
    logged_in(client, world)
    bad = FAMILIES + [["V-009", "vraaggezin", "Familie Mol", "12345"] + [None] * (len(FAMILIES[0]) - 4)]
    before = families(app, world)
    sent = upload(client, dry_run="no", families=csv_file(bad))
    assert sent.status_code == 302
    job_id = int(sent.headers["Location"].rstrip("/").split("/")[-1])
    run_job(app, world.ids["aalten"], job_id)
    page = client.get(sent.headers["Location"])
    text = text_of(page)
    assert "probleem/problemen gevonden. Er is niets geïmporteerd." in text
    rows = re.findall(r"<tr><th scope=\"row\">Gezinnen</th><td class=\"number\">(\d+)</td><td>([^<]*)</td>",
                      page.get_data(as_text=True))
    assert ("5", "postcode") in rows, rows
    assert families(app, world) == before


def test_an_import_without_problems_writes_the_rows(app, world, client):
    logged_in(client, world)
    before = families(app, world)
    sent = upload(client, dry_run="no", workbook=BOOK)
    job_id = int(sent.headers["Location"].rstrip("/").split("/")[-1])
    run_job(app, world.ids["aalten"], job_id)
    assert "Het bestand is geïmporteerd." in text_of(client.get(sent.headers["Location"]))
    assert families(app, world) == before + 3


def test_no_file_or_not_a_workbook_is_refused_at_once_with_the_report(app, world, client):
    logged_in(client, world)
    before = jobs(app, world)
    nothing = client.post("/aalten/import", data={"dry_run": "yes"}, content_type="multipart/form-data")
    assert nothing.status_code == 422 and "Het bestand kon niet worden gelezen" in text_of(nothing)
    not_a_book = upload(client, workbook=b"this is not a workbook")
    assert not_a_book.status_code == 422 and "Het bestand kon niet worden gelezen" in text_of(not_a_book)
    assert jobs(app, world) == before


def test_the_upload_may_be_as_large_as_the_import_limit_and_no_larger(app, world, client, monkeypatch):
    """The page takes what the import API takes (IMPORT_MAX_BYTES), not the smaller limit of other forms;
    beyond it, a 413 page that says what to do."""
    logged_in(client, world)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2000)
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 8000)
    before = jobs(app, world)
    larger_than_a_form = upload(client, families=b"x" * 5000)
    assert larger_than_a_form.status_code != 413
    too_large = upload(client, families=b"x" * 9000)
    assert too_large.status_code == 413
    assert "splits het bestand" in text_of(too_large).lower()
    assert jobs(app, world) == before + 1  # the first only


def test_another_municipalitys_job_is_not_found(app, world, client):
    logged_in(client, world)
    with app.app_context(), tenant_scope(world.ids["druten"]):
        theirs = db.session.scalar(select(ImportJob.id))
    assert client.get(f"/aalten/import/{theirs}").status_code == 404
    assert client.get(f"/aalten/import/{theirs}/progress").status_code == 404
    assert client.get("/druten/import").status_code == 404
