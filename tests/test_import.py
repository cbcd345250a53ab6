"""Bulk import from spreadsheets (XLSX and CSV), on SQLite and PostgreSQL.

The workbooks are built here with openpyxl; ``tests/data/`` holds the same
data as the semicolon-separated CSV files a Dutch Excel writes. An import is
a background job: :func:`post` sends it, runs its item in-process as a worker
would, and reads the job back (tests/test_background_import.py tests the job
itself).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select, text

from core.auth import roles as R
from core.errors import Conflict
from core.extensions import db
from core.programme import imports
from core.programme.models import Consent, Evaluation, Family, Match, MatchTransition, ReferrerNotification
from core.scheduling import imports as background
from core.scheduling import runner
from core.scheduling.models import ScheduledItem
from tenants.context import tenant_scope

from tests.conftest import enable_policy

DATA = Path(__file__).parent / "data"
URL = "/api/v1/aalten/imports"

FAMILIES = [
    ["external_ref", "kind", "display_name", "postcode", "house_number", "city", "district_code", "registered_on",
     "referral_source", "problem_areas", "household_income", "capacity_children", "capacity_age_min",
     "capacity_age_max", "languages", "status", "referrer_email", "consent_share_with_referrer",
     "consent_evaluation_contact"],
    ["V-001", "vraaggezin", "Familie Bakker", "7121ab", "12", "Aalten", "WK019701", "03-02-2025", "huisarts",
     "overload|poverty", 1800, None, None, None, "nl, ar", None, "praktijk@example.org", "ja", "ja"],
    ["S-001", "steungezin", "Familie Smit", "7122 CD", "3a", "Aalten", None, "2025-01-15", "zelf", None, None, 2, 0,
     12, "nl", "gekoppeld", None, "nee", "ja"],
    ["V-002", "requesting", "Familie Kok", None, None, "Bredevoort", None, "2025-04-01", "cjg", "isolation", None,
     None, None, None, None, "wachtend", None, None, None],
]
#: The families without the status column: a family's status is then what its matches leave.
PLAIN_FAMILIES = [row[:15] + row[16:] for row in FAMILIES]
MEMBERS = [
    ["family_ref", "external_ref", "role", "first_name", "last_name", "date_of_birth", "vog_issued_on"],
    ["V-001", "V-001-1", "volwassene", "Sanne", "Bakker", "12-05-1988", None],
    ["V-001", "V-001-2", "kind", "Daan", "Bakker", "2017-09-01", None],
    ["S-001", "S-001-1", "adult", "Joost", "Smit", "1975-03-30", "2024-12-01"],
]
MATCHES = [
    ["external_ref", "requesting_ref", "supporting_ref", "state", "proposed_on", "introduction_on", "trial_on",
     "active_on", "planned_end_on", "agreement", "children"],
    ["K-001", "V-001", "S-001", "actief", "2025-03-01", "2025-03-10", "20-03-2025", "2025-05-20", "2026-05-20",
     "Woensdagmiddag en om het weekend een nacht", 1],
]


def workbook(**sheets) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def open_policy(app, world):
    """Aalten's policy lets the sample's open match through (no conditions; the supporting adult has a VOG)."""
    with app.app_context():
        enable_policy(world.ids["aalten"])


def csv_file(rows, separator=";", bom=True) -> bytes:
    def cell(value):
        value = "" if value is None else str(value)
        return f'"{value}"' if separator in value or '"' in value else value

    content = "\r\n".join(separator.join(cell(v) for v in row) for row in rows) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + content.encode("utf-8")


@dataclass
class Outcome:
    """An import sent, run and read back, as the synchronous API answered it: ``status_code`` 200 (dry run
    without problems), 201 (imported) or 422 (problems), and the report; a refusal of the request itself
    (413, 422 for no file, 401/403/404) as it came. ``job`` is the job as last read, ``body`` that answer."""

    status_code: int
    report: dict | None
    body: bytes
    job: dict | None = None

    def get_json(self):
        return self.report

    def get_data(self) -> bytes:
        return self.body


def run_job(app, tenant_id: int, job_id: int) -> str:
    """Do the job's scheduled item in-process, as a worker does (no broker, no Celery)."""
    with app.app_context(), runner.scope(tenant_id, None):
        item_id = db.session.scalar(select(ScheduledItem.id).where(ScheduledItem.key == background.key(job_id)))
        db.session.rollback()
        return runner.run(item_id)


def send(client, world, *, dry_run=None, token=R.COORDINATOR, query=None, municipality="aalten", **files):
    """POST the files to the import (multipart), as a client does; the answer as it came."""
    data = {name: (io.BytesIO(content), f"{name}.{'xlsx' if name == 'workbook' else 'csv'}")
            for name, content in files.items()}
    if dry_run is not None:
        data["dry_run"] = "true" if dry_run else "false"
    return client.post(f"/api/v1/{municipality}/imports" + (query or ""), data=data, headers=world.bearer(token),
                       content_type="multipart/form-data")


def post(client, world, *, token=R.COORDINATOR, municipality="aalten", **kwargs) -> Outcome:
    """Send an import, run its job and read it back (see :class:`Outcome`)."""
    response = send(client, world, token=token, municipality=municipality, **kwargs)
    if response.status_code != 202:
        return Outcome(response.status_code, response.get_json(), response.get_data())
    job = response.get_json()
    assert job["state"] == "queued" and response.headers["Location"].endswith(f"/imports/{job['id']}")
    run_job(client.application, world.ids[municipality], job["id"])
    answer = client.get(response.headers["Location"], headers=world.bearer(token))
    job = answer.get_json()
    assert job["state"] == "done", job
    report = job["report"]
    assert job["committed"] is report["committed"] and job["progress"]["problem_count"] == report["problem_count"]
    status = 422 if report["problems"] else 201 if report["committed"] else 200
    return Outcome(status, report, answer.get_data(), job)


def rows_in(owner_engine) -> dict:
    """Counts of every programme table, over all tenants (as the owner, bypassing the app)."""
    tables = ("family", "member", "match", "match_transition", "evaluation", "consent", "family_status_change",
              "duplicate_flag", "referrer_notification")
    with owner_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in tables}
        counts["import_events"] = conn.execute(text(
            "SELECT count(*) FROM audit_event WHERE action = 'import.run' AND outcome = 'success'")).scalar()
    return counts


def problems_of(response) -> set[tuple]:
    return {(p["sheet"], p["row"], p["column"]) for p in response.get_json()["problems"]}


def _family(ref) -> Family:
    return db.session.scalars(select(Family).where(Family.external_ref == ref)).one()


def check_imported(app, world):
    """What the sample (three families, three members, one active match) leaves in Aalten."""
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        bakker, smit, kok = _family("V-001"), _family("S-001"), _family("V-002")
        assert (bakker.kind, smit.kind, kok.kind) == ("requesting", "supporting", "requesting")
        assert bakker.registered_on == date(2025, 2, 3) and bakker.referral_source == "gp"
        assert bakker.postcode == "7121 AB" and bakker.problem_areas == ["overload", "poverty"]
        assert bakker.languages == ["nl", "ar"] and bakker.household_income == 1800
        assert smit.capacity_children == 2 and smit.house_number == "3a" and smit.referral_source == "self"
        assert (bakker.status, smit.status, kok.status) == ("matched", "matched", "waiting")
        assert [(m.role, m.first_name, m.external_ref) for m in bakker.members] == [
            ("adult", "Sanne", "V-001-1"), ("child", "Daan", "V-001-2")]
        assert bakker.members[0].date_of_birth == date(1988, 5, 12)
        assert smit.members[0].vog_issued_on == date(2024, 12, 1)
        consents = db.session.scalars(select(Consent).where(Consent.family_id == bakker.id)).all()
        assert {(c.purpose, c.wording_version, c.given_on) for c in consents} == {
            (p, "import", date(2025, 2, 3)) for p in ("processing", "share_with_referrer", "evaluation_contact")}
        match = db.session.scalars(select(Match).where(Match.external_ref == "K-001")).one()
        assert (match.requesting_family_id, match.supporting_family_id) == (bakker.id, smit.id)
        assert match.state == "active" and match.trial_on == date(2025, 3, 20)
        assert match.planned_end_on == date(2026, 5, 20) and match.agreement.startswith("Woensdagmiddag")
        steps = db.session.scalars(select(MatchTransition).where(MatchTransition.match_id == match.id)
                                   .order_by(MatchTransition.id)).all()
        assert [(s.to_state, s.on) for s in steps] == [
            ("proposed", date(2025, 3, 1)), ("introduction", date(2025, 3, 10)), ("trial", date(2025, 3, 20)),
            ("active", date(2025, 5, 20))]
        evaluations = db.session.scalars(select(Evaluation).where(Evaluation.match_id == match.id)).all()
        assert {e.kind for e in evaluations} >= {"trial_end", "extension_decision", "end"}
        assert all(e.skipped_reason is None for e in evaluations)  # consent for evaluation contact was imported
        # the referrer is not told now about a start from before the move
        notifications = db.session.scalars(select(ReferrerNotification).where(
            ReferrerNotification.match_id == match.id)).all()
        assert notifications and all(n.status == "cancelled" for n in notifications)
        history = [(c.from_status, c.to_status) for c in bakker.status_changes]
        assert history == [(None, "waiting"), ("waiting", "matched")]


def test_xlsx_import_with_members_and_a_running_match(app, world, owner_engine):
    client = app.test_client()
    before = rows_in(owner_engine)
    families = [row[:] for row in FAMILIES]
    families[1][4], families[1][7] = 12, date(2025, 2, 3)  # a number cell and a date cell, as Excel keeps them
    book = workbook(families=families, members=MEMBERS, matches=MATCHES)
    response = post(client, world, workbook=book, dry_run=False)
    assert response.status_code == 201, response.get_json()
    report = response.get_json()
    assert report["committed"] is True and report["source"] == "xlsx" and report["problems"] == []
    assert report["counts"] == {
        "families": {"rows": 3, "create": 3, "update": 0, "skip": 0},
        "members": {"rows": 3, "create": 3, "update": 0, "skip": 0},
        "matches": {"rows": 1, "create": 1, "update": 0, "skip": 0}}
    check_imported(app, world)
    after = rows_in(owner_engine)
    assert after["family"] - before["family"] == 3 and after["member"] - before["member"] == 3
    assert after["import_events"] - before["import_events"] == 1
    with owner_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
        event = conn.execute(text("SELECT tenant_id, actor, detail FROM audit_event WHERE action = 'import.run'")).one()
    assert event.tenant_id == world.ids["aalten"] and event.actor == "token:coordinator token"
    detail = event.detail if isinstance(event.detail, dict) else __import__("json").loads(event.detail)
    assert detail["counts"]["families"]["create"] == 3


def test_csv_import_semicolons_and_bom(app, world):
    client = app.test_client()
    files = {"families": csv_file(FAMILIES), "members": csv_file(MEMBERS), "matches": csv_file(MATCHES)}
    assert files["families"].startswith(b"\xef\xbb\xbf") and b";" in files["families"]
    response = post(client, world, dry_run=False, **files)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["source"] == "csv"
    check_imported(app, world)


def test_sample_csv_files_in_tests_data(app, world):
    """The files in tests/data are what the documentation shows; commas in one, semicolons in the others."""
    client = app.test_client()
    files = {name: (DATA / f"import_{name}.csv").read_bytes() for name in imports.SHEETS}
    response = post(client, world, **files)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["counts"]["families"]["create"] == 4
    response = post(client, world, dry_run=False, **files)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["counts"]["matches"] == {"rows": 2, "create": 2, "update": 0, "skip": 0}


def test_dry_run_is_the_default_and_writes_nothing(app, world, owner_engine):
    client = app.test_client()
    book = workbook(families=FAMILIES, members=MEMBERS, matches=MATCHES)
    before = rows_in(owner_engine)
    response = post(client, world, workbook=book)
    assert response.status_code == 200
    report = response.get_json()
    assert report["dry_run"] is True and report["committed"] is False and report["problems"] == []
    assert report["counts"]["families"]["create"] == 3 and report["counts"]["matches"]["create"] == 1
    response = post(client, world, workbook=book, query="?dry_run=true", dry_run=None)
    assert response.status_code == 200
    assert rows_in(owner_engine) == before
    # the form field wins over the query string
    assert post(client, world, workbook=book, query="?dry_run=true", dry_run=False).status_code == 201
    assert rows_in(owner_engine)["family"] == before["family"] + 3


def test_bad_rows_are_each_reported_and_nothing_is_written(app, world, owner_engine):
    client = app.test_client()
    families = FAMILIES + [
        ["V-003", "vraaggezin", "Familie Mol", "12345", None, None, None, "2099-01-01", None, "overload, gokken",
         None, None, None, None, None, None, None, None, None],
        ["V-004", "onbekend", "Familie Pel", None, None, None, "WK19", "31-02-2025", None, None,
         None, None, None, None, None, None, None, None, None],
        ["V-001", "vraaggezin", "Familie Bakker (dubbel)", None, None, None, None, "2025-02-01", None, None,
         None, None, None, None, None, None, None, None, None],
        ["S-002", "steungezin", "Familie Vos", None, None, None, None, "2025-01-01", None, "poverty",
         None, 1, 14, 10, None, None, None, "misschien", None],
    ]
    members = MEMBERS + [
        ["V-404", "V-404-1", "volwassene", "Piet", None, None, None],
        ["V-002", "V-002-1", "kind", None, None, "2019-13-01", "2024-01-01"],
        ["V-001", "V-001-3", "volwassene", "Kees", "Bakker", None, "2024-01-01"],
    ]
    matches = MATCHES + [
        ["K-002", "V-002", "V-001", "proefperiode", "2025-05-01", "2025-05-02", None, None, None, None, 1],
        ["K-003", "V-002", "S-001", "actief", "2025-06-01", "2025-06-02", "2025-06-03", "2025-06-01", None, None, 1],
    ]
    before = rows_in(owner_engine)
    book = workbook(families=families, members=members, matches=matches)
    for dry_run in (True, False):
        response = post(client, world, workbook=book, dry_run=dry_run)
        assert response.status_code == 422, response.get_json()
        report = response.get_json()
        assert report["committed"] is False and report["problem_count"] == len(report["problems"])
        found = problems_of(response)
        assert {
            ("families", 5, "postcode"), ("families", 5, "problem_areas"), ("families", 5, "registered_on"),
            ("families", 6, "kind"), ("families", 6, "district_code"), ("families", 6, "registered_on"),
            ("families", 7, "external_ref"),
            ("families", 8, "problem_areas"), ("families", 8, "capacity_age_max"),
            ("families", 8, "consent_share_with_referrer"),
            ("members", 5, "family_ref"),
            ("members", 6, "first_name"), ("members", 6, "date_of_birth"),
            ("members", 7, "vog_issued_on"),
            ("matches", 3, "supporting_ref"), ("matches", 3, "trial_on"),
            ("matches", 4, "active_on"), ("matches", 4, "agreement"),
        } <= found, sorted(found)
        assert all(p["sheet"] and p["row"] and p["message"] for p in report["problems"])
        messages = {(p["sheet"], p["row"], p["column"]): p["message"] for p in report["problems"]}
        assert "V-404" in messages[("members", 5, "family_ref")]
        assert "row 2" in messages[("families", 7, "external_ref")]
        assert "DD-MM-YYYY" in messages[("families", 6, "registered_on")]
    assert rows_in(owner_engine) == before  # the valid rows were not written either


def test_rows_are_numbered_as_in_the_spreadsheet(app, world):
    """Empty rows are skipped but counted, so a problem points at the row Excel shows."""
    client = app.test_client()
    families = PLAIN_FAMILIES[:2] + [[None] * len(PLAIN_FAMILIES[0]), []] + PLAIN_FAMILIES[2:]
    families[5] = families[5][:]
    families[5][3] = "1234"
    for files in ({"workbook": workbook(families=families)}, {"families": csv_file(families, separator=",")}):
        response = post(client, world, **files)
        assert response.status_code == 422, response.get_json()
        assert problems_of(response) == {("families", 6, "postcode")}
        assert response.get_json()["counts"]["families"]["rows"] == 3


def test_a_member_of_an_unknown_family(app, world, owner_engine):
    client = app.test_client()
    before = rows_in(owner_engine)
    members = [MEMBERS[0], ["X-99", "X-99-1", "kind", "Lotte", None, "2016-01-01", None]]
    response = post(client, world, dry_run=False, families=csv_file(PLAIN_FAMILIES), members=csv_file(members))
    assert response.status_code == 422
    problems = response.get_json()["problems"]
    assert len(problems) == 1, problems
    problem = problems[0]
    assert problem == {"sheet": "members", "row": 2, "column": "family_ref",
                       "message": "no family X-99 in the families sheet or in Koppel"}
    assert rows_in(owner_engine) == before
    # a member of a family imported before is fine
    assert post(client, world, dry_run=False, families=csv_file(PLAIN_FAMILIES)).status_code == 201
    members[1][0] = "V-002"
    response = post(client, world, dry_run=False, members=csv_file(members))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["counts"]["members"]["create"] == 1


def test_a_match_over_the_supporting_familys_capacity(app, world, owner_engine):
    client = app.test_client()
    matches = MATCHES + [
        ["K-002", "V-002", "S-001", "proefperiode", "2025-05-01", "2025-05-02", "2025-05-03", None, None, None, 2],
    ]
    families = PLAIN_FAMILIES
    before = rows_in(owner_engine)
    response = post(client, world, dry_run=False, workbook=workbook(families=families, matches=matches))
    assert response.status_code == 422
    report = response.get_json()
    assert [(p["sheet"], p["row"], p["column"]) for p in report["problems"]] == [("matches", 3, "children")]
    assert "room for 2" in report["problems"][0]["message"]
    assert rows_in(owner_engine) == before
    # an ended match holds no place: the same two fit when the first is over
    matches = [MATCHES[0] + ["ended_on", "end_reason"],
               ["K-001", "V-001", "S-001", "beëindigd", "2025-03-01", "2025-03-10", "2025-03-20", None, None, None, 1,
                "30-04-2025", "goals_reached"],
               ["K-002", "V-002", "S-001", "proefperiode", "2025-05-01", "2025-05-02", "2025-05-03", None, None, None,
                2, None, None]]
    # (the open match must pass the policy: its supporting adult's VOG is on the members sheet)
    response = post(client, world, dry_run=False, workbook=workbook(families=families, members=MEMBERS,
                                                                   matches=matches))
    assert response.status_code == 201, response.get_json()
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        assert _family("S-001").status == "matched" and _family("V-001").status == "closed"
        assert _family("V-002").status == "matched"


def test_reimport_creates_no_duplicates_and_updates_a_changed_row(app, world, owner_engine):
    client = app.test_client()
    book = workbook(families=FAMILIES, members=MEMBERS, matches=MATCHES)
    assert post(client, world, workbook=book, dry_run=False).status_code == 201
    after_first = rows_in(owner_engine)

    response = post(client, world, workbook=book, dry_run=False)
    assert response.status_code == 201, response.get_json()
    counts = response.get_json()["counts"]
    assert {sheet: (c["create"], c["update"], c["skip"]) for sheet, c in counts.items()} == {
        "families": (0, 0, 3), "members": (0, 0, 3), "matches": (0, 0, 1)}
    again = rows_in(owner_engine)
    assert {k: v for k, v in again.items() if k != "import_events"} == {
        k: v for k, v in after_first.items() if k != "import_events"}

    # one family moved and its spreadsheet lost the household income; a child got a last name
    families = [row[:] for row in FAMILIES]
    families[1][3:6] = ["7131 EF", "7", "Lichtenvoorde"]
    families[1][10] = None
    members = [row[:] for row in MEMBERS]
    members[2][4] = "Bakker-de Wit"
    response = post(client, world, workbook=workbook(families=families, members=members, matches=MATCHES),
                    dry_run=False)
    assert response.status_code == 201, response.get_json()
    counts = response.get_json()["counts"]
    assert (counts["families"]["update"], counts["families"]["skip"]) == (1, 2)
    assert (counts["members"]["update"], counts["members"]["skip"]) == (1, 2)
    assert rows_in(owner_engine)["family"] == after_first["family"]
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        bakker = _family("V-001")
        assert (bakker.postcode, bakker.house_number, bakker.city) == ("7131 EF", "7", "Lichtenvoorde")
        assert bakker.household_income is None and bakker.district_code == "WK019701"
        assert bakker.members[1].last_name == "Bakker-de Wit"


def test_reimport_moves_a_match_on_but_never_back(app, world):
    client = app.test_client()
    trial = [MATCHES[0], MATCHES[1][:4] + ["2025-03-01", "2025-03-10", "2025-03-20", None, None, None, 1]]
    trial[1][3] = "trial"
    first = post(client, world, dry_run=False, workbook=workbook(families=FAMILIES, members=MEMBERS, matches=trial))
    assert first.status_code == 201, first.get_json()["problems"]
    response = post(client, world, dry_run=False, workbook=workbook(families=FAMILIES, matches=MATCHES))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["counts"]["matches"]["update"] == 1
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        match = db.session.scalars(select(Match).where(Match.external_ref == "K-001")).one()
        assert match.state == "active" and len(match.transitions) == 4
    response = post(client, world, dry_run=False, workbook=workbook(families=FAMILIES, matches=trial))
    assert response.status_code == 422
    assert problems_of(response) == {("matches", 2, "state")}
    moved = [MATCHES[0], MATCHES[1][:]]
    moved[1][6] = "2025-03-21"
    response = post(client, world, workbook=workbook(families=FAMILIES, matches=moved))
    assert problems_of(response) == {("matches", 2, "trial_on")}


def test_a_refusal_while_writing_rolls_everything_back(app, world, owner_engine, monkeypatch):
    """The plan checks the services' rules; should a service still refuse, nothing stays half-written."""
    from core.programme import matches as match_service

    original = match_service.transition

    def refuse_activation(match, to, *args, **kwargs):
        if to == "active":
            raise Conflict("refused for the test")
        return original(match, to, *args, **kwargs)

    monkeypatch.setattr(match_service, "transition", refuse_activation)
    client = app.test_client()
    before = rows_in(owner_engine)
    book = workbook(families=FAMILIES, members=MEMBERS, matches=MATCHES)
    response = post(client, world, dry_run=False, workbook=book)
    assert response.status_code == 422
    assert response.get_json()["problems"] == [
        {"sheet": "matches", "row": 2, "column": None, "message": "refused for the test"}]
    assert rows_in(owner_engine) == before

    def crash(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(match_service, "transition", crash)
    response = send(client, world, dry_run=False, workbook=book)
    assert response.status_code == 202
    with pytest.raises(RuntimeError):
        run_job(app, world.ids["aalten"], response.get_json()["id"])
    assert rows_in(owner_engine) == before


def test_unreadable_and_missing_files(app, world):
    client = app.test_client()
    response = client.post(URL, headers=world.bearer(R.COORDINATOR), json={})
    assert response.status_code == 422 and response.get_json()["problems"][0]["message"].startswith("no file")
    assert send(client, world).status_code == 422  # a form without a file
    response = post(client, world, workbook=b"external_ref;kind\n")
    assert response.status_code == 422 and "not an XLSX" in response.get_json()["problems"][0]["message"]
    cp1252 = "external_ref;kind;display_name\nV-1;vraaggezin;Familie Ö\n".encode("cp1252")
    response = post(client, world, families=cp1252)
    assert response.status_code == 422 and "UTF-8" in response.get_json()["problems"][0]["message"]
    response = post(client, world, families=csv_file([["external_ref", "soort", "display_name"], ["V-1", "x", "y"]]))
    assert problems_of(response) == {("families", 1, "soort"), ("families", 1, "kind"), ("families", 2, "kind")}
    book = workbook(families=FAMILIES)
    response = post(client, world, workbook=book, families=csv_file(FAMILIES))
    assert response.status_code == 422 and "not both" in response.get_json()["problems"][0]["message"]


def test_upload_size_is_limited(app, world, owner_engine):
    client = app.test_client()
    before = rows_in(owner_engine)
    limit, app.config["IMPORT_MAX_BYTES"] = app.config["IMPORT_MAX_BYTES"], 1024
    try:
        response = post(client, world, dry_run=False, families=csv_file(FAMILIES + [FAMILIES[1]] * 40))
    finally:
        app.config["IMPORT_MAX_BYTES"] = limit
    assert response.status_code == 413
    assert response.get_json()["error"] == "too_large" and "MB" in response.get_json()["message"]
    assert "split" in response.get_json()["message"] or "splits" in response.get_json()["message"]
    assert rows_in(owner_engine) == before


def test_only_staff_of_the_municipality_may_import(app, world, owner_engine):
    client = app.test_client()
    before = rows_in(owner_engine)
    book = workbook(families=PLAIN_FAMILIES)
    response = post(client, world, workbook=book, dry_run=False, token="druten")
    assert response.status_code == 404
    assert post(client, world, workbook=book, dry_run=False, token=R.FUNDER).status_code == 403
    assert client.post(URL, data={"workbook": (io.BytesIO(book), "x.xlsx")}).status_code == 401
    assert rows_in(owner_engine) == before
    response = post(client, world, workbook=book, dry_run=False, token=R.TENANT_ADMIN)
    assert response.status_code == 201
    # Druten's own import does not see Aalten's families: the same refs are new there
    response = post(client, world, workbook=book, token="druten", municipality="druten")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["counts"]["families"]["create"] == 3
    # and a match cannot reach a family of another municipality
    response = post(client, world, matches=csv_file(MATCHES), token="druten", municipality="druten")
    assert response.status_code == 422
    assert problems_of(response) == {("matches", 2, "requesting_ref"), ("matches", 2, "supporting_ref")}


def test_documentation_lists_every_column():
    doc = (Path(__file__).parent.parent / "docs" / "import.md").read_text(encoding="utf-8")
    for sheet, columns in imports.COLUMNS.items():
        assert f"`{sheet}`" in doc
        for column in columns:
            assert f"| `{column.name}` |" in doc, f"docs/import.md does not describe {sheet}.{column.name}"
