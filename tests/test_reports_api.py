"""On-demand programme reports through the API: who may ask, the period checked, the file answered in each
format, a consortium's members side by side, and every generation audited without personal data."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import text

from core.auth import roles as R
from core.extensions import db
from core.policy import service
from tests.conftest import enable_policy

FORMATS = {"report.json": {}, "report.csv": {}, "report.xlsx": {}, "report.pdf": {}}
THIS_YEAR = date.today().year
URL = "/api/v1/aalten/reports/programme"
CONSORTIUM_URL = "/api/v1/consortia/achterhoek/reports/programme"


@pytest.fixture
def reporting(app, world):
    """Aalten's policy enables the four built-in report formats."""
    with app.app_context():
        enable_policy(world.ids["aalten"], FORMATS)
    return world


def audit_events(owner_engine, action="report.generated"):
    with owner_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
        rows = conn.execute(text("SELECT tenant_id, object_type, object_id, detail, actor FROM audit_event "
                                 "WHERE action = :action ORDER BY id"), {"action": action}).all()
    return [(r.tenant_id, r.object_type, r.object_id, r.detail if isinstance(r.detail, dict) else json.loads(r.detail),
             r.actor) for r in rows]


def test_a_coordinator_gets_the_complete_report_as_a_file(app, client, reporting, owner_engine):
    query = f"start={THIS_YEAR}-01-01&end={THIS_YEAR}-12-31&as_of={date.today()}"
    response = client.get(f"{URL}?{query}", headers=reporting.bearer(R.COORDINATOR))
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="programme-report-aalten-{THIS_YEAR}0101-{THIS_YEAR}1231.json"')
    document = json.loads(response.data)
    assert document["title"] == "Programmarapportage Aalten"
    sections = {s["title"]: s for s in document["sections"]}
    assert sections["Kerncijfers"]["columns"] == ["Kengetal", "Aalten"]
    assert "suppressed" not in response.get_data(as_text=True)
    key = dict((row[0], row[1]) for row in sections["Kerncijfers"]["rows"])
    assert "Evaluaties over tijd" in key  # staff only
    assert key["Gestarte koppelingen (proefperiode begonnen)"] == 1  # populate(): one match, its trial 186 days ago
    (event,) = audit_events(owner_engine)
    tenant_id, object_type, object_id, detail, actor = event
    assert (tenant_id, object_type, object_id, actor) == (reporting.ids["aalten"], "municipality",
                                                          str(reporting.ids["aalten"]), "token:coordinator token")
    assert detail == {"report": "programme", "scope": "municipality", "slug": "aalten", "start": f"{THIS_YEAR}-01-01",
                      "end": f"{THIS_YEAR}-12-31", "as_of": date.today().isoformat(), "format": "json",
                      "audience": "staff"}


@pytest.mark.parametrize("media_format, mimetype", [
    ("csv", "text/csv"), ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("pdf", "application/pdf")])
def test_every_format_holds_the_report(client, reporting, media_format, mimetype):
    response = client.get(f"{URL}?format={media_format}", headers=reporting.bearer(R.TENANT_ADMIN))
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == mimetype
    assert response.headers["Content-Disposition"].endswith(f'.{media_format}"')
    if media_format == "csv":
        rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
        assert rows[0] == ["Programmarapportage Aalten"] and ["Kerncijfers"] in rows
    elif media_format == "xlsx":
        book = load_workbook(io.BytesIO(response.data))
        assert book.properties.title == "Programmarapportage Aalten" and "Kerncijfers" in book.sheetnames
    else:
        pages = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
        assert "Programmarapportage Aalten" in pages and "Kerncijfers" in pages


def test_the_report_reads_in_the_request_language(client, reporting):
    response = client.get(URL, headers={**reporting.bearer(R.COORDINATOR), "Accept-Language": "en"})
    document = json.loads(response.data)
    assert document["title"] == "Programme report Aalten"
    assert document["sections"][0]["title"] == "Key figures"


@pytest.mark.parametrize("query, field", [
    ("start=2026-13-01&end=2026-12-31", "start"), ("start=2026-01-01&end=yesterday", "end"),
    ("start=2026-06-01&end=2026-05-31", "end"), ("start=2020-01-01&end=2025-01-01", "end"),
    ("start=2026-01-01", "end"), ("end=2026-01-01", "start"), ("start=1999-12-31&end=2000-12-31", "start"),
    ("as_of=2101-01-01", "as_of"), (f"as_of={date.today() + timedelta(days=1)}", "as_of"),
    ("format=../../etc", "format"), ("format=docx", "format"), ("year=2026", "year"),
])
def test_a_bad_period_or_format_is_refused_naming_it(client, reporting, owner_engine, query, field):
    response = client.get(f"{URL}?{query}", headers=reporting.bearer(R.COORDINATOR))
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["error"] == "invalid_input" and field in json.dumps(body["errors"]), body
    assert audit_events(owner_engine) == []


def test_five_years_is_the_longest_period(client, reporting):
    ok = client.get(f"{URL}?start=2021-01-01&end=2025-12-31", headers=reporting.bearer(R.COORDINATOR))
    assert ok.status_code == 200, ok.get_json()


def test_a_format_the_policy_does_not_enable_is_refused_naming_it(app, client, reporting):
    with app.app_context():
        enable_policy(reporting.ids["aalten"], {"report.csv": {}})
    response = client.get(f"{URL}?format=pdf", headers=reporting.bearer(R.COORDINATOR))
    assert response.status_code == 422
    assert "pdf" in json.dumps(response.get_json()["errors"]["query"]["format"])
    assert client.get(f"{URL}?format=csv", headers=reporting.bearer(R.COORDINATOR)).status_code == 200


def test_a_funder_and_another_municipality_get_no_staff_report(client, reporting):
    assert client.get(URL, headers=reporting.bearer(R.FUNDER)).status_code == 403
    assert client.get("/api/v1/druten/reports/programme", headers=reporting.bearer(R.COORDINATOR)).status_code == 404
    assert client.get(URL).status_code == 401
    assert client.get(CONSORTIUM_URL, headers=reporting.bearer(R.TENANT_ADMIN)).status_code == 404


def test_a_consortium_admin_gets_the_members_side_by_side(app, client, reporting, owner_engine):
    """No report format in the template: the built-in formats with their defaults, in the request's language."""
    response = client.get(f"{CONSORTIUM_URL}?format=csv", headers=reporting.bearer(R.CONSORTIUM_ADMIN))
    assert response.status_code == 200, response.get_json()
    assert response.headers["Content-Disposition"].startswith('attachment; filename="programme-report-achterhoek-')
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Programmarapportage Achterhoek"]
    header = rows[rows.index(["Kerncijfers"]) + 1]
    assert header == ["Kengetal", "Aalten", "Berkelland", "Totaal"]
    assert "Druten" not in response.data.decode("utf-8-sig")
    (event,) = audit_events(owner_engine)
    assert event[:3] == (None, "consortium", str(reporting.ids["achterhoek"]))
    assert event[3]["scope"] == "consortium" and event[3]["format"] == "csv"
    english = client.get(CONSORTIUM_URL, headers={**reporting.bearer(R.CONSORTIUM_ADMIN), "Accept-Language": "en"})
    assert json.loads(english.data)["sections"][0]["columns"] == ["Figure", "Aalten", "Berkelland", "Total"]


def test_a_consortium_report_uses_the_template_report_formats(app, client, reporting):
    with app.app_context():
        service.set_template(reporting.ids["achterhoek"], {"report.csv": {"delimiter": ",", "decimal_separator": "."}})
        db.session.commit()
    response = client.get(f"{CONSORTIUM_URL}?format=csv", headers=reporting.bearer(R.CONSORTIUM_ADMIN))
    assert response.status_code == 200
    assert response.data.decode("utf-8-sig").splitlines()[0] == "Programmarapportage Achterhoek"
    assert "Kengetal,Aalten,Berkelland,Totaal" in response.data.decode("utf-8-sig")
    refused = client.get(f"{CONSORTIUM_URL}?format=pdf", headers=reporting.bearer(R.CONSORTIUM_ADMIN))
    assert refused.status_code == 422 and "format" in refused.get_json()["errors"]["query"]


def test_a_consortium_without_members_has_no_report(app, client, reporting):
    from tenants import onboarding
    from tenants.context import cross_tenant_scope

    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        onboarding.add_consortium("Leeg", "leeg")
        db.session.commit()
    response = client.get("/api/v1/consortia/leeg/reports/programme", headers=reporting.bearer(R.PLATFORM_ADMIN))
    assert response.status_code == 409 and response.get_json()["error"] == "no_members"
