"""The import as a background job: 202 and a job to read, its progress, its report, its upload dropped, all
rows or none, once only; on SQLite and PostgreSQL. The job's item is run in-process, as a worker runs it."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from core.auth import roles as R
from core.extensions import db
from core.scheduling import imports as background
from core.scheduling import runner
from core.scheduling.models import FAILED, Notification, ScheduledItem
from core.scheduling.registry import BadData
from core.types import utcnow
from core.usecases import families as family_cases
from tenants.context import cross_tenant_scope, tenant_scope

from tests.conftest import enable_policy
from tests.test_import import FAMILIES, MATCHES, MEMBERS, URL, check_imported, csv_file, rows_in, run_job, send, workbook

BOOK = workbook(families=FAMILIES, members=MEMBERS, matches=MATCHES)


@pytest.fixture(autouse=True)
def open_policy(app, world):
    """Aalten's policy lets the sample's open match through (as in tests/test_import.py)."""
    with app.app_context():
        enable_policy(world.ids["aalten"])


def job_row(owner_engine, job_id: int):
    """The job as stored (as the owner, past the app and its transaction)."""
    with owner_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
        return conn.execute(text("SELECT state, rows_total, rows_checked, rows_written, problem_count, "
                                 "upload_data IS NOT NULL AS kept, report IS NOT NULL AS reported, actor, user_id "
                                 "FROM import_job WHERE id = :id"), {"id": job_id}).one()


def sent_tasks(app) -> list[dict]:
    """The task messages on the app's broker (taken off it)."""
    out = []
    with app.extensions["celery"].connection_for_read() as connection:
        queue = connection.SimpleQueue("celery")
        try:
            while True:
                message = queue.get(timeout=0.2)
                out.append(message.decode()[1])
                message.ack()
        except queue.Empty:
            pass
        finally:
            queue.close()
    return out


def test_202_with_a_job_to_read_and_a_dry_run_writes_nothing(app, world, owner_engine):
    client = app.test_client()
    sent_tasks(app)
    before = rows_in(owner_engine)
    response = send(client, world, workbook=BOOK)
    assert response.status_code == 202
    job = response.get_json()
    assert response.headers["Location"].endswith(f"{URL}/{job['id']}")
    assert (job["state"], job["dry_run"], job["source"], job["file_names"]) == ("queued", True, "xlsx", ["workbook.xlsx"])
    assert job["progress"] == {"rows_total": 0, "rows_checked": 0, "rows_written": 0, "problem_count": 0}
    assert "report" not in job
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        item = db.session.scalars(select(ScheduledItem).where(ScheduledItem.key == f"import:{job['id']}")).one()
        assert (item.kind, item.subject_id, item.state, item.tenant_id) == ("import", job["id"], "pending",
                                                                            world.ids["aalten"])
        item_id = item.id
    # committed, then sent: one task about the item, ids only
    assert {"item_id": item_id, "tenant_id": world.ids["aalten"], "cross_scope": None} in sent_tasks(app)
    assert job_row(owner_engine, job["id"]).kept  # the upload waits for the worker

    assert run_job(app, world.ids["aalten"], job["id"]) == runner.DONE_NOW
    job = client.get(response.headers["Location"], headers=world.bearer(R.COORDINATOR)).get_json()
    assert (job["state"], job["committed"]) == ("done", False)
    assert job["progress"] == {"rows_total": 7, "rows_checked": 7, "rows_written": 0, "problem_count": 0}
    report = job["report"]
    assert report["dry_run"] is True and report["problems"] == [] and report["counts"]["families"]["create"] == 3
    assert report["message"] and job["started_at"] and job["finished_at"]
    assert rows_in(owner_engine) == before  # a dry run writes nothing
    stored = job_row(owner_engine, job["id"])
    assert not stored.kept and stored.reported  # the upload is dropped once run
    assert stored.actor == "token:coordinator token"
    # the list: the municipality's jobs, newest first, without their reports
    newer = send(client, world, families=csv_file(FAMILIES)).get_json()
    listed = client.get(f"{URL}?limit=1", headers=world.bearer(R.COORDINATOR)).get_json()
    assert [(j["id"], j["source"], j["state"]) for j in listed["items"]] == [(newer["id"], "csv", "queued")]
    rest = client.get(f"{URL}?limit=1&cursor={listed['next_cursor']}", headers=world.bearer(R.COORDINATOR)).get_json()
    assert [j["id"] for j in rest["items"]] == [job["id"]]
    assert "report" not in rest["items"][0] and rest["items"][0]["state"] == "done"


def test_progress_is_visible_while_the_import_runs(app, world, owner_engine, monkeypatch):
    """Read from outside while the second family is written: on PostgreSQL the job is running with its rows
    checked; SQLite lets one connection write at a time, so there the figures come when the job is done."""
    seen = []
    register = family_cases.register

    def watching(*args, **kwargs):
        seen.append(job_row(owner_engine, job_id))
        return register(*args, **kwargs)

    monkeypatch.setattr(background, "PROGRESS_SECONDS", 0)
    monkeypatch.setattr(family_cases, "register", watching)
    client = app.test_client()
    response = send(client, world, workbook=BOOK, dry_run=False, token="person")
    job_id = response.get_json()["id"]
    run_job(app, world.ids["aalten"], job_id)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        assert [(s.state, s.rows_total, s.rows_checked, s.rows_written) for s in seen] == [
            ("running", 7, 7, 0), ("running", 7, 7, 1), ("running", 7, 7, 2)]
    else:
        assert {(s.state, s.rows_checked) for s in seen} == {("queued", 0)}
    job = client.get(response.headers["Location"], headers=world.bearer("person")).get_json()
    assert (job["state"], job["committed"]) == ("done", True)
    assert job["progress"] == {"rows_total": 7, "rows_checked": 7, "rows_written": 7, "problem_count": 0}
    check_imported(app, world)
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        # done as the person who sent it: the match's coordinator, and told when it is done
        notes = db.session.scalars(select(Notification).where(Notification.key == f"import:{job_id}")).all()
        assert [(n.kind, n.subject_type, n.subject_id, n.message["code"]) for n in notes] == [
            ("import", "import", job_id, "import_done")]
        user_id = job_row(owner_engine, job_id).user_id
        assert user_id is not None and notes[0].user_id == user_id


def test_the_job_of_another_municipality_is_not_found(app, world):
    client = app.test_client()
    response = send(client, world, workbook=BOOK)
    job_id = response.get_json()["id"]
    assert client.get(f"/api/v1/druten/imports/{job_id}", headers=world.bearer("druten")).status_code == 404
    assert client.get(f"{URL}/{job_id}", headers=world.bearer("druten")).status_code == 404
    theirs = client.get("/api/v1/druten/imports", headers=world.bearer("druten")).get_json()["items"]
    assert job_id not in [j["id"] for j in theirs]
    assert client.get(f"{URL}/{job_id}", headers=world.bearer(R.FUNDER)).status_code == 403
    assert client.get(f"{URL}/{job_id}", headers=world.bearer(R.TENANT_ADMIN)).status_code == 200
    assert client.get(f"{URL}/{job_id + 1}", headers=world.bearer(R.COORDINATOR)).status_code == 404
    # and Druten's worker does not run Aalten's item
    assert run_job(app, world.ids["druten"], job_id) == runner.NOTHING_TO_DO


def test_a_failed_row_writes_nothing_and_the_job_is_done_with_its_problems(app, world, owner_engine):
    client = app.test_client()
    families = FAMILIES + [["V-009", "vraaggezin", "Familie Mol", "12345"] + [None] * (len(FAMILIES[0]) - 4)]
    before = rows_in(owner_engine)
    response = send(client, world, workbook=workbook(families=families, members=MEMBERS, matches=MATCHES),
                    dry_run=False)
    job_id = response.get_json()["id"]
    assert run_job(app, world.ids["aalten"], job_id) == runner.DONE_NOW  # a report, not a failed task
    job = client.get(response.headers["Location"], headers=world.bearer(R.COORDINATOR)).get_json()
    assert (job["state"], job["committed"], job["report"]["committed"]) == ("done", False, False)
    assert [(p["sheet"], p["row"], p["column"]) for p in job["report"]["problems"]] == [("families", 5, "postcode")]
    assert job["progress"] == {"rows_total": 8, "rows_checked": 8, "rows_written": 0, "problem_count": 1}
    assert rows_in(owner_engine) == before
    assert not job_row(owner_engine, job_id).kept
    with owner_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
        assert conn.execute(text("SELECT count(*) FROM audit_event WHERE action = 'import.run' "
                                 "AND outcome = 'failure'")).scalar() == 1


def test_a_second_run_of_the_same_item_does_nothing(app, world, owner_engine):
    client = app.test_client()
    response = send(client, world, workbook=BOOK, dry_run=False)
    job_id = response.get_json()["id"]
    assert run_job(app, world.ids["aalten"], job_id) == runner.DONE_NOW
    after = rows_in(owner_engine)
    first = client.get(response.headers["Location"], headers=world.bearer(R.COORDINATOR)).get_json()
    assert run_job(app, world.ids["aalten"], job_id) == runner.NOTHING_TO_DO
    assert rows_in(owner_engine) == after
    assert client.get(response.headers["Location"], headers=world.bearer(R.COORDINATOR)).get_json() == first


def test_an_item_that_failed_for_good_fails_its_job_and_drops_the_upload(app, world, owner_engine):
    client = app.test_client()
    response = send(client, world, workbook=BOOK, dry_run=False, token="person")
    job_id = response.get_json()["id"]
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        item_id = db.session.scalar(select(ScheduledItem.id).where(ScheduledItem.key == f"import:{job_id}"))
        runner.record_failure(item_id, "builtins.RuntimeError", final=True)
    job = client.get(response.headers["Location"], headers=world.bearer("person")).get_json()
    assert (job["state"], job["error"]) == ("failed", "builtins.RuntimeError")  # at once, from the item
    with app.app_context(), cross_tenant_scope("scheduler"):
        assert background.sweep(utcnow()) == 1
        db.session.commit()
        assert background.sweep(utcnow()) == 0
    stored = job_row(owner_engine, job_id)
    assert stored.state == FAILED and not stored.kept
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        note = db.session.scalars(select(Notification).where(Notification.key == f"import:{job_id}")).one()
        assert note.message["code"] == "import_failed"
        # run again by a tenant admin: the upload is gone, so it fails with a reason
        item = db.session.get(ScheduledItem, item_id)
        runner.again(item)
        db.session.commit()
    with pytest.raises(BadData, match="no longer kept"):
        run_job(app, world.ids["aalten"], job_id)
