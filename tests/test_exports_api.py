"""The exports API: tenant and consortium admins manage schedules and see who receives what; a funder sees,
and downloads, only its own exports, tried across two funders of one municipality, two municipalities and
two consortia (another's run is 404, as is another tenant's or consortium's id); every download and every
regeneration is audited; a regeneration keeps the old file."""
from __future__ import annotations

import base64
import hashlib
import json

import pytest
from sqlalchemy import select

from core.auth import roles as R
from core.auth import tokens
from core.auth.models import User
from core.exports import runs
from core.exports.access import Scope
from core.exports.models import ExportRun, ExportSchedule
from core.extensions import db
from tenants.context import cross_tenant_scope
from tenants.models import Consortium, Municipality
from tests.conftest import enable_policy
from tests.test_exports import READ_ALL, REPORTS, add_funder, audit_events, make_schedule, match_month

FUNDERS = {  # name: (e-mail, municipality, consortium)
    "b": ("b-financier@example.org", "aalten", None),
    "regio": ("regio-financier@example.org", None, "achterhoek"),
    "nijmegen": ("nijmegen-financier@example.org", None, "nijmegen-regio"),
    "druten": ("druten-financier@example.org", "druten", None),
}


def _token(name: str, role: str, user_id: int | None = None, municipality: str | None = None,
           consortium: str | None = None) -> dict:
    with cross_tenant_scope("platform-maintenance"):
        where = (db.session.scalar(select(Municipality).where(Municipality.slug == municipality)) if municipality
                 else None)
        region = db.session.scalar(select(Consortium).where(Consortium.slug == consortium)) if consortium else None
        raw, _ = tokens.create(name, [role], municipality=where, consortium=region,
                               created_by=db.session.get(User, user_id) if user_id else None)
        db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def exports(app, world):
    """Funders and their tokens (``a`` is the world's funder of Aalten), a schedule each, and each one's run
    of the month of its municipality's match (of Aalten's match for the consortia): ids by funder."""
    out = {"headers": {"a": world.bearer(R.FUNDER), "aalten_admin": world.bearer(R.TENANT_ADMIN),
                       "achterhoek_admin": world.bearer(R.CONSORTIUM_ADMIN), "druten_admin": world.bearer("druten")},
           "schedule": {}, "run": {}}
    with app.app_context(), cross_tenant_scope(READ_ALL):
        for slug in ("aalten", "berkelland", "druten"):
            enable_policy(world.ids[slug], REPORTS)
        out["headers"]["nijmegen_admin"] = _token("nijmegen admin", R.CONSORTIUM_ADMIN, consortium="nijmegen-regio")
        for name, (email, municipality, consortium) in FUNDERS.items():
            user_id = add_funder(email, municipality=municipality, consortium=consortium)
            out["headers"][name] = _token(f"{name} funder", R.FUNDER, user_id, municipality, consortium)
        emails = {"a": world.users[R.FUNDER], **{name: f[0] for name, f in FUNDERS.items()}}
        scopes = {"a": Scope(tenant_id=world.ids["aalten"]), "b": Scope(tenant_id=world.ids["aalten"]),
                  "druten": Scope(tenant_id=world.ids["druten"]), "regio": Scope(consortium_id=world.ids["achterhoek"]),
                  "nijmegen": Scope(consortium_id=world.ids["nijmegen"])}
        for name, scope in scopes.items():
            schedule = make_schedule(scope, emails[name], format="csv")
            period = match_month(world, "druten" if name in ("druten", "nijmegen") else "aalten")
            run, _ = runs.produce(schedule, period)
            db.session.commit()
            out["schedule"][name], out["run"][name] = schedule.id, run.id
        out["emails"] = emails
    return out


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.get_json()
    return {item["id"] for item in response.get_json()["items"]}


def test_a_tenant_admin_manages_schedules_and_sees_who_receives_what(app, client, world, exports):
    admin, url = exports["headers"]["aalten_admin"], "/api/v1/aalten/export-schedules"
    base = {"funder_email": FUNDERS["b"][0], "cron": "0 7 * * 1", "period": "month", "format": "xlsx",
            "channel": "webhook", "webhook_url": "https://funder.example/koppel"}
    for change, field in (({"webhook_url": "http://funder.example/koppel"}, "webhook_url"),
                          ({"webhook_url": None}, "webhook_url"), ({"cron": "*/10 7 * * 1"}, "cron"),
                          ({"cron": "0 7 * *"}, "cron"), ({"time_zone": "Mars/Olympus"}, "time_zone"),
                          ({"funder_email": "coordinator@aalten.example"}, "funder_email"),
                          ({"funder_email": FUNDERS["druten"][0]}, "funder_email"),
                          ({"period": "quarter"}, "period"), ({"format": "docx"}, "format")):
        refused = client.post(url, json={**base, **change}, headers=admin)
        assert refused.status_code == 422 and field in refused.get_json()["errors"]["json"], (change,
                                                                                            refused.get_json())
    made = client.post(url, json=base, headers=admin)
    assert made.status_code == 201, made.get_json()
    schedule = made.get_json()
    secret = schedule["webhook_secret"]
    assert secret.startswith("whsec_") and schedule["funder"]["email"] == FUNDERS["b"][0]
    assert schedule["scope"] == {"kind": "municipality", "slug": "aalten", "name": "Aalten"}
    assert schedule["time_zone"] == "Europe/Amsterdam" and schedule["language"] == "nl" and schedule["next_run_at"]
    one = f"{url}/{schedule['id']}"
    assert client.get(one, headers=admin).get_json()["webhook_secret"] is None  # shown once
    listed = client.get(f"{url}?limit=200", headers=admin).get_json()["items"]
    assert {s["funder"]["email"] for s in listed} == {world.users[R.FUNDER], FUNDERS["b"][0]}  # who receives what
    rotated = client.patch(one, json={"rotate_webhook_secret": True}, headers=admin).get_json()
    assert rotated["webhook_secret"].startswith("whsec_") and rotated["webhook_secret"] != secret
    off = client.patch(one, json={"active": False, "channel": "download"}, headers=admin).get_json()
    assert (off["active"], off["next_run_at"], off["webhook_url"], off["webhook_secret"]) == (False, None, None, None)
    assert client.patch(one, json={"period": "year"}, headers=admin).status_code == 422  # B's other schedule: months
    assert client.patch(one, json={"cron": "0,30 * * * *"}, headers=admin).status_code == 422
    # the consortium admin manages it too; the funder may only read
    assert client.patch(one, json={"language": "en"}, headers=exports["headers"]["achterhoek_admin"]).status_code == 200
    for method in ("patch", "delete"):
        assert getattr(client, method)(one, json={}, headers=exports["headers"]["b"]).status_code == 403
    assert client.post(url, json=base, headers=exports["headers"]["b"]).status_code == 403
    # deleting a schedule keeps its runs: B still has what it received
    b_schedule = f"{url}/{exports['schedule']['b']}"
    assert client.delete(b_schedule, headers=admin).status_code == 204
    assert client.get(b_schedule, headers=admin).status_code == 404
    run = client.get(f"/api/v1/aalten/exports/{exports['run']['b']}", headers=exports["headers"]["b"]).get_json()
    assert run["schedule_id"] is None and run["funder"]["id"]
    with app.app_context():
        actions = [(e.action, e.object_id) for e in audit_events("export_schedule.create")
                   + audit_events("export_schedule.update") + audit_events("export_schedule.delete")]
        details = json.dumps([e.detail for e in audit_events("export_schedule.update")])
    assert ("export_schedule.create", str(schedule["id"])) in actions
    assert ("export_schedule.delete", str(exports["schedule"]["b"])) in actions
    assert "webhook_secret" in details and secret not in details and "@" not in details


def test_a_consortium_admin_manages_the_regions_schedules_and_a_funder_its_own(app, client, world, exports):
    url, admin = "/api/v1/consortia/achterhoek/export-schedules", exports["headers"]["achterhoek_admin"]
    made = client.post(url, json={"funder_email": FUNDERS["regio"][0], "cron": "0 6 2 * *", "period": "month",
                                  "format": "pdf", "channel": "email"}, headers=admin)
    assert made.status_code == 201 and made.get_json()["scope"]["kind"] == "consortium", made.get_json()
    assert client.post(url, json={"funder_email": FUNDERS["regio"][0], "cron": "0 6 2 1 *", "period": "year",
                                  "format": "pdf", "channel": "email"}, headers=admin).status_code == 422
    assert client.post(url, json={"funder_email": FUNDERS["b"][0], "cron": "0 6 2 * *", "period": "month",
                                  "format": "pdf", "channel": "email"}, headers=admin).status_code == 422
    everything = client.get(f"{url}?limit=200", headers=admin).get_json()["items"]
    assert {s["scope"]["slug"] for s in everything} == {"achterhoek", "aalten", "berkelland"}  # and its members'
    assert exports["schedule"]["nijmegen"] not in {s["id"] for s in everything}
    regio = exports["headers"]["regio"]
    assert _ids(client.get(url, headers=regio)) == {exports["schedule"]["regio"], made.get_json()["id"]}
    assert client.post(url, json={}, headers=regio).status_code == 403
    # Nijmegen's admin and funder reach nothing of the Achterhoek
    for who in ("nijmegen_admin", "nijmegen"):
        assert client.get(url, headers=exports["headers"][who]).status_code == 404
        assert client.get(f"{url}/{exports['schedule']['regio']}", headers=exports["headers"][who]).status_code == 404


def test_a_funder_sees_and_downloads_only_its_own_exports(app, client, world, exports):
    h, run = exports["headers"], exports["run"]
    aalten, region = "/api/v1/aalten/exports", "/api/v1/consortia/achterhoek/exports"
    # two funders of one municipality: each its own
    assert _ids(client.get(aalten, headers=h["a"])) == {run["a"]} | _populated(app, world)
    assert _ids(client.get(aalten, headers=h["b"])) == {run["b"]}
    assert _ids(client.get("/api/v1/aalten/export-schedules", headers=h["b"])) == {exports["schedule"]["b"]}
    for path in (f"{aalten}/{run['b']}", f"{aalten}/{run['b']}/file",
                 f"/api/v1/aalten/export-schedules/{exports['schedule']['b']}"):
        assert client.get(path, headers=h["a"]).status_code == 404, path
    # another municipality's run id under one's own municipality; another municipality at all
    assert client.get(f"{aalten}/{run['druten']}", headers=h["a"]).status_code == 404
    assert client.get(f"{aalten}/{run['druten']}/file", headers=h["aalten_admin"]).status_code == 404
    assert client.get(f"/api/v1/druten/exports/{run['druten']}/file", headers=h["a"]).status_code == 404
    assert _ids(client.get("/api/v1/druten/exports", headers=h["druten"])) == {run["druten"]}
    # a consortium's run is not a municipality's: not under Aalten, not for Aalten's admin
    assert client.get(f"{aalten}/{run['regio']}", headers=h["aalten_admin"]).status_code == 404
    # two consortia: each funder its own; another consortium's run id is not found, another consortium neither
    assert _ids(client.get(region, headers=h["regio"])) == {run["regio"]}
    assert client.get(f"{region}/{run['nijmegen']}", headers=h["regio"]).status_code == 404
    assert client.get(f"{region}/{run['nijmegen']}/file", headers=h["achterhoek_admin"]).status_code == 404
    assert client.get(f"/api/v1/consortia/nijmegen-regio/exports/{run['nijmegen']}/file",
                      headers=h["regio"]).status_code == 404
    assert client.get(f"{region}/{run['a']}", headers=h["regio"]).status_code == 404  # a municipality funder's
    # the admins see all of their scope: the consortium admin the region's and its members', no other region's
    everything = _ids(client.get(f"{region}?limit=200", headers=h["achterhoek_admin"]))
    assert {run["regio"], run["a"], run["b"]} <= everything and not {run["nijmegen"], run["druten"]} & everything
    assert _ids(client.get(f"{aalten}?limit=200", headers=h["aalten_admin"])) >= {run["a"], run["b"]}
    # a funder gets its own file, byte for byte, with its checksum; so does an admin of the scope
    for path, who in ((f"{aalten}/{run['a']}/file", "a"), (f"{region}/{run['regio']}/file", "regio"),
                      (f"{region}/{run['regio']}/file", "achterhoek_admin"),
                      (f"/api/v1/consortia/nijmegen-regio/exports/{run['nijmegen']}/file", "nijmegen")):
        answer = client.get(path, headers=h[who])
        assert answer.status_code == 200, (path, who, answer.get_json())
        digest = hashlib.sha256(answer.data).hexdigest()
        assert answer.headers["ETag"] == f'"{digest}"'
        assert answer.headers["Digest"] == "sha-256=" + base64.b64encode(bytes.fromhex(digest)).decode()
        assert answer.headers["Content-Disposition"].startswith('attachment; filename="koppel-')
        assert answer.content_type.startswith("text/csv")
    regio = client.get(f"{region}/{run['regio']}", headers=h["regio"]).get_json()
    assert regio["scope"]["slug"] == "achterhoek" and regio["file_name"].startswith("koppel-achterhoek-")
    assert regio["deliveries"] == [{"channel": "download", "at": regio["deliveries"][0]["at"], "outcome": "delivered",
                                    "status_code": None, "error": None}]


def _populated(app, world) -> set[int]:
    """The runs tests/conftest.py's populate() stored for the world's funder."""
    with app.app_context(), cross_tenant_scope(READ_ALL):
        funder = db.session.scalar(select(User.id).where(User.email == world.users[R.FUNDER]))
        return set(db.session.scalars(select(ExportRun.id).where(ExportRun.funder_id == funder,
                                                                 ExportRun.tenant_id == world.ids["aalten"])))


def test_downloads_and_regenerations_are_audited_and_a_regeneration_keeps_the_old_file(app, client, world, exports):
    h, run = exports["headers"], exports["run"]
    first = client.get(f"/api/v1/aalten/exports/{run['a']}/file", headers=h["a"])
    assert client.post(f"/api/v1/aalten/exports/{run['a']}/regenerate", headers=h["a"]).status_code == 403
    new = client.post(f"/api/v1/aalten/exports/{run['a']}/regenerate", headers=h["aalten_admin"])
    assert new.status_code == 201, new.get_json()
    new = new.get_json()
    assert new["version"] == 2 and new["id"] != run["a"] and new["superseded_at"] is None
    old = client.get(f"/api/v1/aalten/exports/{run['a']}", headers=h["a"]).get_json()
    assert old["superseded_by_id"] == new["id"] and old["superseded_at"]
    assert client.get(f"/api/v1/aalten/exports/{run['a']}/file", headers=h["a"]).data == first.data  # kept
    again = client.get(f"/api/v1/aalten/exports/{new['id']}/file", headers=h["a"])
    assert again.status_code == 200 and hashlib.sha256(again.data).hexdigest() == new["sha256"]
    region = client.post(f"/api/v1/consortia/achterhoek/exports/{run['regio']}/regenerate",
                         headers=h["achterhoek_admin"])
    assert region.status_code == 201 and region.get_json()["scope"]["kind"] == "consortium"
    assert client.post(f"/api/v1/consortia/achterhoek/exports/{run['regio']}/regenerate",
                       headers=h["regio"]).status_code == 403
    with app.app_context():
        downloads = audit_events("export.download")
        regenerated = audit_events("export.regenerate")
    assert [(e.object_id, e.tenant_id, e.actor) for e in downloads] == [
        (str(run["a"]), world.ids["aalten"], "token:funder token"),
        (str(run["a"]), world.ids["aalten"], "token:funder token"),
        (str(new["id"]), world.ids["aalten"], "token:funder token")]
    assert [(e.object_id, e.detail["supersedes"]) for e in regenerated] == [
        (str(new["id"]), run["a"]), (str(region.get_json()["id"]), run["regio"])]
    assert regenerated[0].actor == "token:tenant_admin token" and regenerated[1].tenant_id is None
    assert "@" not in json.dumps([e.detail for e in downloads + regenerated])
    with app.app_context(), cross_tenant_scope(READ_ALL):
        assert db.session.get(ExportSchedule, exports["schedule"]["a"]) is not None
