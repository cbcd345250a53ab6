"""Scheduled work through a real broker and real ``koppel worker`` processes (never Celery's eager mode).

The fixtures are in tests/workers.py: a Redis server of the test's own, the
dispatcher's app on the test database, workers started as subprocesses, and
an SMTP server they mail to. These tests run on PostgreSQL (row locks and
``LOCK TABLE`` make a kill in the middle of a task deterministic), except
the one of the embedded broker, which runs where that broker is meant for:
a single machine with neither Redis nor PostgreSQL, the SQLite database and
kombu's SQLAlchemy transport on a SQLite file.

The world's three municipalities each have a match with evaluations due
long ago (so both ``evaluation_due`` and ``evaluation_overdue``) and a
message for the referrer; :func:`_more_evaluations` adds a few, so that
there are some tens of items.
"""
from __future__ import annotations

import io
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import notifications
from core.extensions import db
from core.messages import Label, Message
from core.programme.models import Evaluation, Family
from core.scheduling.models import DONE, PENDING, ImportJob, Notification, ScheduledItem, WorkItem
from core.scheduling.registry import ZONE
from core.types import utcnow
from tenants.context import cross_tenant_scope, tenant_scope
from tests.conftest import enable_policy
from tests.workers import REQUEUE_SECONDS, TableLock

pg = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
sqlite = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

MUNICIPALITIES = ("aalten", "berkelland", "druten")
DATA = Path(__file__).parent / "data"


def _more_evaluations(app, world, each: int = 4) -> None:
    """*each* more open evaluations per municipality, due 30 days ago and earlier."""
    with app.app_context():
        for slug in MUNICIPALITIES:
            with tenant_scope(world.ids[slug]):
                db.session.add_all(Evaluation(match_id=world.records[slug]["match"], kind="periodic", moment="review",
                                              due_on=date.today() - timedelta(days=30 + n)) for n in range(each))
                db.session.commit()


def _work_items(scheduling) -> list[int]:
    """The evaluation ids of the work items made, one entry per row."""
    with scheduling.app.app_context(), cross_tenant_scope("scheduler"):
        ids = db.session.scalars(select(WorkItem.evaluation_id).order_by(WorkItem.evaluation_id)).all()
        db.session.rollback()
    return ids


def _mail_ids(scheduling) -> list[str]:
    return [received.message["Message-ID"] for received in scheduling.smtp.messages]


def assert_done_once(scheduling, items) -> None:
    """Every item done by one attempt; one work item per evaluation that fell due; one mail per referrer
    message (and per digest), none twice."""
    assert items, "the dispatcher found nothing to do"
    wrong = [(r.kind, r.id, r.state, r.attempts, r.error) for r in items if (r.state, r.attempts) != (DONE, 1)]
    assert not wrong, f"items not done by exactly one attempt: {wrong}\n{scheduling.explain()}"
    assert _work_items(scheduling) == sorted(r.subject_id for r in items if r.kind == "evaluation_due")
    mailing = [r for r in items if r.kind in ("referrer_message", "digest")]
    mails = scheduling.smtp.wait_for(len(mailing))
    ids = _mail_ids(scheduling)
    assert len(mails) == len(mailing) and len(set(ids)) == len(ids), Counter(ids)


@pg
def test_a_worker_killed_in_the_middle_of_a_task_and_restarted_does_the_work_exactly_once(app, world, scheduling):
    _more_evaluations(app, world)
    [worker] = scheduling.start_workers("alpha")
    with TableLock(app.config["MIGRATION_DATABASE_URL"], "notification") as lock:
        sent = scheduling.dispatch()
        assert len(sent.tickets) >= 20
        # the first item (the oldest evaluation due) has marked itself done and written its work item, and now
        # waits to write its notifications
        [killed_backend] = lock.wait_for_waiting(1, explain=scheduling.explain)
        worker.kill()
        lock.release()
        deadline = time.monotonic() + 10
        while lock.backends_alive([killed_backend]):  # it finds its client gone and rolls back
            assert time.monotonic() < deadline, "the killed worker's database session did not end"
            time.sleep(0.05)
    items = scheduling.items()
    assert _work_items(scheduling) == sorted(r.subject_id for r in items
                                             if r.kind == "evaluation_due" and r.state == DONE), "half-written work"
    assert sum(r.state == PENDING for r in items) >= len(sent.tickets)
    scheduling.start_workers("alpha")  # the same worker, restarted; the killed task's message is not redelivered
    # (Redis would only after the visibility timeout): the dispatcher sends its item again
    assert_done_once(scheduling, scheduling.wait_until_done(timeout=30, dispatch_every=0.5))


@pg
def test_work_lost_with_a_restarted_redis_is_found_again_by_the_dispatcher(app, world, redis_server, scheduling):
    _more_evaluations(app, world)
    scheduling.start_workers("alpha")
    with TableLock(app.config["MIGRATION_DATABASE_URL"], "notification") as lock:
        now = utcnow()
        sent = scheduling.dispatch(now)
        lock.wait_for_waiting(1, explain=scheduling.explain)  # one task in progress, the others queued
        assert redis_server.queued() > 0
        redis_server.stop()
    deadline = time.monotonic() + 10  # the task in progress finishes (its acknowledgement is lost)
    while scheduling.pending() == len(sent.tickets):
        assert time.monotonic() < deadline, f"the task in progress did not finish\n{scheduling.explain()}"
        time.sleep(0.05)
    # while Redis is down the dispatcher sends the rest again (they are stale), and fails: nothing is lost
    pending = [r.id for r in scheduling.items() if r.state == PENDING]
    again = scheduling.dispatch(now + timedelta(seconds=REQUEUE_SECONDS + 1))
    assert sorted(t.item_id for t in again.tickets) == pending
    with scheduling.app.app_context(), cross_tenant_scope("scheduler"):
        assert db.session.scalar(select(func.count()).select_from(ScheduledItem).where(
            ScheduledItem.enqueued_at.is_not(None), ScheduledItem.state == PENDING)) == 0
        db.session.rollback()
    redis_server.start()  # empty: every message queued before is gone
    assert redis_server.queued() == 0 and redis_server.unacked() == 0
    assert_done_once(scheduling, scheduling.wait_until_done(timeout=45, dispatch_every=0.5))


def _wait_drained(redis_server, scheduling, timeout: float = 10.0) -> None:
    """Wait until no message is queued or unacknowledged."""
    deadline = time.monotonic() + timeout
    while redis_server.queued() or redis_server.unacked():
        assert time.monotonic() < deadline, f"messages left on the queue\n{scheduling.explain()}"
        time.sleep(0.05)


def _database(scheduling) -> dict:
    """Every row of every table, by table."""
    with scheduling.app.app_context(), cross_tenant_scope("scheduler"):
        state = {table.name: db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
                 for table in db.metadata.sorted_tables}
        db.session.rollback()
    return state


def _notify_staff(app, world) -> None:
    """A notification for Aalten's coordinators, not mailed yet: tomorrow's digest has it."""
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        staff = notifications.staff(world.ids["aalten"])
        notifications.notify(staff, "evaluation_due", "test:digest", Message("Evaluation due: %(kind)s of match "
                             "%(match)s, on %(date)s.", {"kind": Label("evaluation_kind", "periodic"),
                                                          "match": world.records["aalten"]["match"],
                                                          "date": date.today()}, code="evaluation_due"))
        db.session.commit()
    assert staff


@pg
def test_the_same_dispatch_run_twice_gives_the_same_database_and_the_same_mails(app, world, redis_server, scheduling):
    _more_evaluations(app, world, each=2)
    _notify_staff(app, world)
    day = utcnow().astimezone(ZONE).date() + timedelta(days=1)
    now = datetime(day.year, day.month, day.day, 8, tzinfo=ZONE)  # tomorrow, after the digest's 07:00
    # the dispatch runs twice before a worker runs: every item is sent twice
    first = scheduling.dispatch(now)
    second = scheduling.dispatch(now + timedelta(seconds=REQUEUE_SECONDS + 1))
    assert [t.item_id for t in second.tickets] == [t.item_id for t in first.tickets]
    assert redis_server.queued() == 2 * len(first.tickets)
    scheduling.start_workers("alpha")
    items = scheduling.wait_until_done()
    _wait_drained(redis_server, scheduling)  # the second copies are taken too
    assert {"evaluation_due", "evaluation_overdue", "referrer_message", "digest"} <= {r.kind for r in items}
    assert_done_once(scheduling, items)
    database, mails = _database(scheduling), _mail_ids(scheduling)
    # and once more, after the work is done: nothing new, nothing sent, no mail
    assert scheduling.dispatch(now).tickets == []
    assert _database(scheduling) == database and _mail_ids(scheduling) == mails


@pg
def test_two_workers_with_different_names_on_one_queue_do_every_item_once(app, world, redis_server, scheduling):
    _more_evaluations(app, world)
    alpha, beta = scheduling.start_workers("alpha", "beta")
    with TableLock(app.config["MIGRATION_DATABASE_URL"], "notification") as lock:
        now = utcnow()
        first = scheduling.dispatch(now)
        # every item on the queue twice, but for those a worker is doing already (the dispatcher skips them)
        second = scheduling.dispatch(now + timedelta(seconds=REQUEUE_SECONDS + 1))
        lock.wait_for_waiting(2, explain=scheduling.explain)  # both workers are in the middle of a task
    assert_done_once(scheduling, scheduling.wait_until_done())
    _wait_drained(redis_server, scheduling)
    with scheduling.app.app_context():
        stats = scheduling.app.extensions["celery"].control.inspect(destination=[alpha.node, beta.node],
                                                                    timeout=2).stats()
    taken = {node: stats[node]["total"].get("koppel.run_item", 0) for node in (alpha.node, beta.node)}
    assert all(taken.values()) and sum(taken.values()) == len(first.tickets) + len(second.tickets), taken


@sqlite
def test_the_embedded_sqlite_broker_runs_the_same_tasks(app, world, sqlite_scheduling):
    scheduling = sqlite_scheduling
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    assert scheduling.app.config["CELERY_BROKER_URL"].startswith("sqla+sqlite:///")
    [worker] = scheduling.start_workers("alpha")
    assert "broker sqlite (celery.sqlite3)" in worker.log()
    sent = scheduling.dispatch()
    items = scheduling.wait_until_done(timeout=30)
    assert {t.item_id for t in sent.tickets} <= {r.id for r in items if r.state == DONE}
    assert {"evaluation_due", "evaluation_overdue", "referrer_message"} <= {r.kind for r in items}
    assert_done_once(scheduling, items)
    with scheduling.app.app_context(), cross_tenant_scope("scheduler"):
        assert db.session.scalar(select(func.count()).select_from(Notification)) > 0


@pg
def test_a_background_import_is_done_by_a_worker(app, world, scheduling):
    with app.app_context():
        enable_policy(world.ids["aalten"])  # the sample's open match may be proposed
    scheduling.start_workers("alpha")
    client = scheduling.app.test_client()
    files = {name: (io.BytesIO((DATA / f"import_{name}.csv").read_bytes()), f"{name}.csv")
             for name in ("families", "members", "matches")}
    response = client.post("/api/v1/aalten/imports", data={**files, "dry_run": "false"},
                           headers=world.bearer("coordinator"), content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    location = response.headers["Location"]
    deadline = time.monotonic() + 30
    while (job := client.get(location, headers=world.bearer("coordinator")).get_json())["state"] in ("queued",
                                                                                                     "running"):
        assert time.monotonic() < deadline, f"the import is still {job['state']}\n{scheduling.explain()}"
        time.sleep(0.1)
    assert job["state"] == "done" and job["committed"] is True, job
    with scheduling.app.app_context(), tenant_scope(world.ids["aalten"]):
        assert db.session.scalar(select(func.count()).select_from(Family).where(
            Family.external_ref.in_(["VG-101", "VG-102"]))) == 2
        assert db.session.scalar(select(ImportJob.upload_data).where(ImportJob.id == job["id"])) is None
    [item] = [r for r in scheduling.items() if r.kind == "import"]
    assert (item.state, item.attempts) == (DONE, 1)
