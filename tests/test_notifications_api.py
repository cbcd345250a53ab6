"""A user's notifications and the municipality's work items through the API (core/api/notifications.py,
core/api/work_items.py): a user reads and marks only their own, in the municipality of the URL; another
municipality's coordinator gets 404; a token that no user made gets 409."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from core import notifications
from core.auth import roles as R
from core.auth import tokens
from core.auth.models import Membership, User
from core.extensions import db
from core.messages import Label, Message
from core.scheduling.models import Notification, WorkItem
from core.types import utcnow
from tenants.context import cross_tenant_scope, tenant_scope
from tenants.models import Municipality
from tests.conftest import add_user

TODAY = date.today()


def _message(match: int) -> Message:
    return Message("Evaluation due: %(kind)s of match %(match)s, on %(date)s.",
                   {"kind": Label("evaluation_kind", "periodic"), "match": match, "date": date(2026, 3, 5)},
                   code="evaluation_due")


def _user_id(email: str) -> int:
    return db.session.scalar(select(User.id).where(User.email == email))


@pytest.fixture
def mine(app, world) -> dict:
    """Anna (``person``) has three notifications in Aalten and one in Berkelland (she coordinates there too);
    Bart (``person2``) one in Aalten; Dirk, Druten's coordinator with a token of his own, one in Druten."""
    ids = {}
    with app.app_context():
        with cross_tenant_scope("platform-maintenance"):
            berkelland, druten = (db.session.get(Municipality, world.ids[s]) for s in ("berkelland", "druten"))
            anna = db.session.scalar(select(User).where(User.email == world.users["person"]))
            anna.memberships.append(Membership(role=R.COORDINATOR, municipality=berkelland))
            dirk = add_user("dirk@druten.example", R.COORDINATOR, municipality=druten)
            db.session.flush()
            world.tokens["dirk"], _ = tokens.create("dirk token", [R.COORDINATOR], municipality=druten, created_by=dirk)
            db.session.commit()
        anna_id, bart_id, dirk_id = _user_id(world.users["person"]), _user_id(world.users["person2"]), _user_id(
            "dirk@druten.example")
        for slug, user_id, keys in (("aalten", anna_id, ("a1", "a2", "a3")), ("aalten", bart_id, ("b1",)),
                                    ("berkelland", anna_id, ("a4",)), ("druten", dirk_id, ("d1",))):
            with tenant_scope(world.ids[slug]):
                for n, key in enumerate(keys, start=1):
                    notifications.notify([user_id], "evaluation_due", key, _message(n), subject_type="match",
                                         subject_id=n)
                db.session.commit()
                for key in keys:
                    ids[key] = db.session.scalar(select(Notification.id).where(Notification.key == key))
        ids.update(anna=anna_id, bart=bart_id)
    return ids


def test_a_user_reads_their_own_notifications_newest_first_in_their_language(client, world, mine):
    anna = world.bearer("person")
    response = client.get("/api/v1/aalten/notifications", headers=anna)
    assert response.status_code == 200, response.get_json()
    items = response.get_json()["items"]
    assert [n["id"] for n in items] == [mine["a3"], mine["a2"], mine["a1"]]  # not Bart's, not Berkelland's
    first = items[-1]
    assert first["message"] == "Evaluatie aan de beurt: periodiek van koppeling 1, op 5 maart 2026."
    assert first["code"] == "evaluation_due"
    assert first["params"] == {"kind": {"label": "evaluation_kind", "code": "periodic"}, "match": 1,
                               "date": {"date": "2026-03-05"}}
    assert (first["kind"], first["subject_type"], first["subject_id"], first["read_at"]) == (
        "evaluation_due", "match", 1, None)
    english = client.get("/api/v1/aalten/notifications?limit=1", headers={**anna, "Accept-Language": "en"}).get_json()
    assert english["items"][0]["message"] == "Evaluation due: periodic of match 3, on March 5, 2026."
    assert english["next_cursor"]
    assert [n["id"] for n in client.get("/api/v1/aalten/notifications", headers=world.bearer("person2"))
            .get_json()["items"]] == [mine["b1"]]


def test_marking_read_one_or_all_of_ones_own_in_this_municipality(app, client, world, mine):
    anna, base = world.bearer("person"), "/api/v1/aalten/notifications"
    response = client.post(f"{base}/{mine['a2']}/read", headers=anna)
    assert response.status_code == 200, response.get_json()
    read_at = response.get_json()["read_at"]
    assert read_at and response.get_json()["id"] == mine["a2"]
    assert client.post(f"{base}/{mine['a2']}/read", headers=anna).get_json()["read_at"] == read_at  # stays
    assert [n["id"] for n in client.get(f"{base}?unread=true", headers=anna).get_json()["items"]] == [
        mine["a3"], mine["a1"]]

    response = client.post(f"{base}/read-all", headers=anna)
    assert response.status_code == 200 and response.get_json() == {"marked": 2}
    assert client.get(f"{base}?unread=true", headers=anna).get_json()["items"] == []
    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        unread = set(db.session.scalars(select(Notification.id).where(Notification.read_at.is_(None))))
    assert {mine["b1"], mine["a4"], mine["d1"]} <= unread  # Bart's, Anna's in Berkelland, Druten's


def test_another_users_or_municipalitys_notification_is_not_found(app, client, world, mine):
    anna, dirk = world.bearer("person"), world.bearer("dirk")
    assert client.post(f"/api/v1/aalten/notifications/{mine['b1']}/read", headers=anna).status_code == 404
    assert client.post(f"/api/v1/aalten/notifications/{mine['d1']}/read", headers=anna).status_code == 404
    assert client.post(f"/api/v1/aalten/notifications/{mine['a4']}/read", headers=anna).status_code == 404
    # Druten's coordinator: not Aalten's list, nor marking Anna's, through either municipality
    assert client.get("/api/v1/aalten/notifications", headers=dirk).status_code == 404
    assert client.post(f"/api/v1/aalten/notifications/{mine['a1']}/read", headers=dirk).status_code == 404
    assert client.post("/api/v1/aalten/notifications/read-all", headers=dirk).status_code == 404
    response = client.post(f"/api/v1/druten/notifications/{mine['a1']}/read", headers=dirk)
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
    assert [n["id"] for n in client.get("/api/v1/druten/notifications", headers=dirk).get_json()["items"]] == [
        mine["d1"]]
    assert client.post("/api/v1/druten/notifications/read-all", headers=dirk).get_json() == {"marked": 1}
    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        read = set(db.session.scalars(select(Notification.id).where(Notification.read_at.is_not(None))))
    assert read & {mine[key] for key in ("a1", "a2", "a3", "a4", "b1", "d1")} == {mine["d1"]}


def test_a_token_no_user_made_has_no_notifications(client, world, mine):
    for method, path in (("GET", "notifications"), ("POST", f"notifications/{mine['a1']}/read"),
                         ("POST", "notifications/read-all"), ("GET", "work-items?assigned=me")):
        response = client.open(f"/api/v1/aalten/{path}", method=method,
                               headers={**world.bearer(R.COORDINATOR), "Accept-Language": "en"})
        assert response.status_code == 409, (path, response.get_json())
        assert response.get_json()["error"] == "needs_person" and "token" in response.get_json()["message"]
    assert client.get("/api/v1/aalten/notifications", headers=world.bearer(R.FUNDER)).status_code == 403


@pytest.fixture
def work(app, world, mine) -> dict:
    """Aalten: two open work items (one assigned to Anna) and a resolved one; Druten: one open."""
    ids = {}
    specs = (("aalten", "open", "evaluation", 5, mine["anna"], False), ("aalten", "vog", "vog_expiring", 1, None, False),
             ("aalten", "done", "evaluation", 0, None, True), ("druten", "druten", "evaluation", 2, None, False))
    with app.app_context():
        for slug, name, kind, days, user_id, resolved in specs:
            with tenant_scope(world.ids[slug]):
                item = WorkItem(kind=kind, key=f"test:{name}", due_on=TODAY + timedelta(days=days),
                                assigned_user_id=user_id, message=_message(days).as_dict(),
                                resolved_at=utcnow() if resolved else None)
                db.session.add(item)
                db.session.commit()
                ids[name] = item.id
    return ids


def test_work_items_open_by_due_date_filtered_and_of_this_municipality_only(client, world, work):
    admin, base = world.bearer(R.TENANT_ADMIN), "/api/v1/aalten/work-items"

    def ids(query="", headers=admin):
        response = client.get(f"{base}{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids() == [work["vog"], work["open"]]
    assert ids("?state=resolved") == [work["done"]]
    assert ids("?state=all") == [work["done"], work["vog"], work["open"]]
    assert ids("?kind=vog_expiring") == [work["vog"]]
    assert ids("?assigned=me", world.bearer("person")) == [work["open"]]
    assert ids("?assigned=me", world.bearer("person2")) == []
    item = client.get(base, headers={**admin, "Accept-Language": "en"}).get_json()["items"][0]
    assert item["message"].startswith("Evaluation due: periodic of match 1") and item["code"] == "evaluation_due"
    assert item["kind"] == "vog_expiring" and item["due_on"] == (TODAY + timedelta(days=1)).isoformat()
    for bad in ("?state=closed", "?kind=Bad-Kind", "?assigned=you", "?owner=me"):
        response = client.get(f"{base}{bad}", headers=admin)
        assert response.status_code == 422, bad
    # Druten's coordinator sees Druten's only, and not Aalten's list at all
    assert client.get(base, headers=world.bearer("dirk")).status_code == 404
    druten = client.get("/api/v1/druten/work-items", headers=world.bearer("dirk")).get_json()["items"]
    assert [i["id"] for i in druten] == [work["druten"]]
    assert client.get(base, headers=world.bearer(R.FUNDER)).status_code == 403
