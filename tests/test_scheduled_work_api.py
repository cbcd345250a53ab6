"""The tenant admin's view of scheduled work (core/api/scheduled_work.py, core/scheduling/status.py): the state
per kind, the items, running a failed one again; never another municipality's item or one without a tenant."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.audit import AuditEvent
from core.auth import roles as R
from core.extensions import db
from core.scheduling import status
from core.scheduling.models import DONE, FAILED, PENDING, ScheduledItem
from core.scheduling.queue import RUN_ITEM
from core.scheduling.registry import ZONE, Kind, kinds
from core.types import utcnow
from tenants.context import cross_tenant_scope

BASE = "/api/v1/aalten/scheduled-work"
REASON = "the evaluation no longer exists"


@pytest.fixture
def items(app, world) -> dict:
    """Aalten: one evaluation_due done, two failed, one evaluation_overdue pending; Druten one failed; one
    failed item without a tenant (as a digest's). Their ids by name."""
    now = utcnow()
    specs = {
        "done": ("aalten", "evaluation_due", DONE, now - timedelta(hours=3), None),
        "failed_old": ("aalten", "evaluation_due", FAILED, now - timedelta(hours=2), "builtins.KeyError"),
        "failed": ("aalten", "evaluation_due", FAILED, now - timedelta(hours=1), REASON),
        "pending": ("aalten", "evaluation_overdue", PENDING, None, None),
        "druten": ("druten", "evaluation_due", FAILED, now - timedelta(minutes=30), REASON),
        "no_tenant": (None, "evaluation_due", FAILED, now - timedelta(minutes=20), REASON),
    }
    ids = {}
    with app.app_context(), cross_tenant_scope("scheduler"):
        for n, (name, (slug, kind, state, finished, error)) in enumerate(specs.items()):
            item = ScheduledItem(kind=kind, key=f"{kind}:test-{n}", tenant_id=world.ids[slug] if slug else None,
                                 subject_id=1000 + n, due_at=now - timedelta(days=1), state=state,
                                 attempts=0 if state == PENDING else 1, error=error, finished_at=finished)
            db.session.add(item)
            db.session.flush()
            ids[name] = item.id
        db.session.commit()
    return ids


def _item(app, item_id: int) -> ScheduledItem:
    with app.app_context(), cross_tenant_scope("scheduler"):
        item = db.session.scalar(select(ScheduledItem).where(ScheduledItem.id == item_id))
        db.session.expunge(item)
        db.session.rollback()
        return item


def test_the_overview_per_kind(client, world, items):
    response = client.get(BASE, headers={**world.bearer(R.TENANT_ADMIN), "Accept-Language": "en"})
    assert response.status_code == 200, response.get_json()
    by_kind = {k["kind"]: k for k in response.get_json()["kinds"]}
    assert {"evaluation_due", "evaluation_overdue"} <= set(by_kind) and "example" not in by_kind
    due = by_kind["evaluation_due"]
    assert (due["pending"], due["done"], due["failed"]) == (0, 1, 2)  # Druten's and the tenantless one not counted
    assert due["title"] == kinds()["evaluation_due"].title["en"] and due["schedule"] == {"daily": "09:00"}
    assert [f["id"] for f in due["latest_failures"]] == [items["failed"], items["failed_old"]]
    assert due["latest_failures"][0]["error"] == REASON
    last_run = datetime.fromisoformat(due["last_run_at"])
    assert utcnow() - timedelta(hours=3, minutes=1) < last_run < utcnow() - timedelta(hours=2, minutes=59)
    next_run = datetime.fromisoformat(due["next_run_at"])
    assert utcnow() < next_run <= utcnow() + timedelta(days=1)
    assert next_run.astimezone(ZONE).strftime("%H:%M") == "09:00"
    overdue = by_kind["evaluation_overdue"]
    assert (overdue["pending"], overdue["done"], overdue["failed"], overdue["last_run_at"]) == (1, 0, 0, None)
    dutch = client.get(BASE, headers=world.bearer(R.TENANT_ADMIN)).get_json()
    assert {k["kind"]: k["title"] for k in dutch["kinds"]}["evaluation_due"] == kinds()["evaluation_due"].title["nl"]


def _kind(schedule=None, find=lambda now: []):
    return Kind("k", {"nl": "k", "en": "k"}, run=lambda item: None, find=find, schedule=schedule)


def test_next_run_in_amsterdam_time():
    def at(text):
        return datetime.fromisoformat(text).replace(tzinfo=UTC)

    daily = _kind({"daily": "09:00"})
    assert status.next_run(daily, at("2026-01-10T07:59:00")) == at("2026-01-10T08:00:00")  # winter: UTC+1
    assert status.next_run(daily, at("2026-01-10T08:00:00")) == at("2026-01-11T08:00:00")
    assert status.next_run(daily, at("2026-03-28T09:00:00")) == at("2026-03-29T07:00:00")  # summer time from the 29th
    monthly = _kind({"monthly": {"day": 31, "at": "06:00"}})
    assert status.next_run(monthly, at("2026-02-03T12:00:00")) == at("2026-02-28T05:00:00")  # the month's last day
    assert status.next_run(_kind({"monthly": "1 06:00"}), at("2026-12-01T05:00:00")) == at("2027-01-01T05:00:00")
    assert status.next_run(_kind({"monthly": "06:00"}), at("2026-06-15T00:00:00")) == at("2026-07-01T04:00:00")
    assert status.next_run(_kind(), at("2026-06-15T10:20:30")) == at("2026-06-15T10:21:00")  # every minute
    assert status.next_run(_kind(find=None), at("2026-06-15T10:20:30")) is None  # made by requests


def test_the_items_list_and_its_filters(client, world, items):
    admin = world.bearer(R.TENANT_ADMIN)
    body = client.get(f"{BASE}/items", headers=admin).get_json()
    aalten = [items[n] for n in ("pending", "failed", "failed_old", "done")]
    assert [i["id"] for i in body["items"] if i["kind"] != "example"] == aalten and body["next_cursor"] is None
    failed = client.get(f"{BASE}/items?state=failed", headers=admin).get_json()["items"]
    assert [i["id"] for i in failed] == [items["failed"], items["failed_old"]]
    assert set(failed[0]) == {"id", "kind", "state", "attempts", "error", "due_at", "finished_at", "subject_id"}
    assert (failed[0]["state"], failed[0]["attempts"], failed[0]["error"]) == (FAILED, 1, REASON)
    overdue = client.get(f"{BASE}/items?kind=evaluation_overdue&state=pending", headers=admin).get_json()["items"]
    assert [i["id"] for i in overdue] == [items["pending"]]
    druten = client.get("/api/v1/druten/scheduled-work/items", headers=world.bearer("druten")).get_json()["items"]
    assert items["druten"] in [i["id"] for i in druten] and not set(aalten) & {i["id"] for i in druten}
    for query, field in (("state=broken", "state"), ("kind=", "kind"), ("status=failed", "status")):
        response = client.get(f"{BASE}/items?{query}", headers=admin)
        assert response.status_code == 422 and field in str(response.get_json()["errors"]), query


def _drain(app) -> list[dict]:
    """The task messages waiting on the app's broker (taken off it)."""
    celery = app.extensions["celery"]
    out = []
    with celery.connection_for_read() as connection:
        queue = connection.SimpleQueue("celery")
        try:
            while True:
                message = queue.get(timeout=0.5)
                out.append({"task": message.headers.get("task"), "kwargs": message.decode()[1]})
                message.ack()
        except queue.Empty:
            pass
        finally:
            queue.close()
    return out


def test_run_again(app, client, world, items):
    _drain(app)
    admin = world.bearer(R.TENANT_ADMIN)
    response = client.post(f"{BASE}/items/{items['failed']}/run-again", headers=admin)
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["state"], response.get_json()["finished_at"]) == (PENDING, None)
    item = _item(app, items["failed"])
    assert item.state == PENDING and item.enqueued_at is not None  # sent: the dispatcher leaves it alone
    messages = _drain(app)
    assert [(m["task"], m["kwargs"]) for m in messages] == [
        (RUN_ITEM, {"item_id": items["failed"], "tenant_id": world.ids["aalten"], "cross_scope": None})]
    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "scheduled_item.run_again")).one()
        assert (event.object_id, event.tenant_id, event.detail["kind"]) == (str(items["failed"]), world.ids["aalten"],
                                                                           "evaluation_due")
        db.session.rollback()
    again = client.post(f"{BASE}/items/{items['failed']}/run-again", headers=admin)  # pending now
    assert again.status_code == 409 and again.get_json()["error"] == "scheduled_item_not_failed"
    done = client.post(f"{BASE}/items/{items['done']}/run-again", headers={**admin, "Accept-Language": "en"})
    assert done.status_code == 409 and "done" in done.get_json()["message"]
    assert _item(app, items["done"]).state == DONE and _drain(app) == []


def test_another_municipalitys_item_is_not_found(app, client, world, items):
    admin = world.bearer(R.TENANT_ADMIN)
    for name in ("druten", "no_tenant"):
        response = client.post(f"{BASE}/items/{items[name]}/run-again", headers=admin)
        assert response.status_code == 404, name
        assert _item(app, items[name]).state == FAILED
    listed = client.get(f"{BASE}/items?state=failed&limit=200", headers=admin).get_json()["items"]
    assert not {items["druten"], items["no_tenant"]} & {i["id"] for i in listed}
    assert client.post(f"{BASE}/items/2147483648/run-again", headers=admin).status_code == 404


def test_roles(client, world, items):
    for role in (R.COORDINATOR, R.FUNDER):
        assert client.get(BASE, headers=world.bearer(role)).status_code == 403
        assert client.get(f"{BASE}/items", headers=world.bearer(role)).status_code == 403
        assert client.post(f"{BASE}/items/{items['failed']}/run-again", headers=world.bearer(role)).status_code == 403
    assert client.get(BASE, headers=world.bearer("druten")).status_code == 404  # Druten's admin, Aalten's URL
    platform = world.bearer(R.PLATFORM_ADMIN)
    assert client.get(BASE, headers=platform).status_code == 200
    assert client.get(f"{BASE}/items?state=failed", headers=platform).get_json()["items"][0]["id"] == items["failed"]
