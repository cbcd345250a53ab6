"""The audit log: a hash chain per municipality that no writer forks and every change breaks, append-only for
the app's role, every read of a family audited once, and a municipality's log that does not name a refused
user of another organisation (the platform's does). Named after ASVS 5.0 chapter V16 where they show one."""
import threading

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError

from core import audit
from core.audit import AuditEvent
from core.auth import roles as R
from core.cli import audit_verify
from core.extensions import db
from tenants.context import cross_tenant_scope, tenant_scope

postgresql = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


def _events(app, where: str, params: dict | None = None) -> list:
    """Audit rows across every tenant (as the cross-tenant scope reads them)."""
    with app.app_context(), cross_tenant_scope(audit.PLATFORM_SCOPE):
        return db.session.execute(select(AuditEvent).where(text(where)).order_by(AuditEvent.id),
                                  params or {}).scalars().all()


def _verify(app, *args):
    return app.test_cli_runner().invoke(audit_verify, list(args))


def _maintenance(owner_engine, *statements):
    """Run *statements* as the owner on the documented maintenance path."""
    with owner_engine.begin() as conn:
        conn.execute(text("SELECT set_config('koppel.audit_maintenance', 'on', true), "
                          "set_config('koppel.cross_tenant', 'on', true)"))
        for statement, params in statements:
            conn.execute(text(statement), params)


@postgresql
def test_asvs_16_4_2_concurrent_writers_do_not_fork_a_chain(app, world):
    """Two threads, each with its own connection, append to the same municipality's chain at once."""
    aalten, start = world.ids["aalten"], threading.Barrier(2)

    def write(name):
        with app.app_context(), tenant_scope(aalten):
            start.wait()
            for i in range(15):
                audit.record("test.concurrent", object_type="thread", object_id=f"{name}{i}")
                if i % 3 == 0:  # one apart from the caller's transaction, as refusals are written
                    audit.record("test.refused", outcome=audit.DENIED, detail={"thread": name})
                db.session.commit()

    threads = [threading.Thread(target=write, args=(n,)) for n in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = _events(app, "tenant_id = :t", {"t": aalten})
    ours = [r for r in rows if r.action.startswith("test.")]
    assert len(ours) == 40
    assert sorted(r.seq for r in rows) == list(range(1, len(rows) + 1))
    result = _verify(app, "--tenant", "aalten")
    assert result.exit_code == 0 and f"aalten: {len(rows)} events, intact" in result.output


@postgresql
def test_asvs_16_4_2_tampering_is_detected_by_koppel_audit_verify(app, world, owner_engine):
    """A changed event (an UPDATE by the owner), a deleted middle one and two swapped ones each break their
    chain at that event; the command names the event's id only, and fails."""
    assert _verify(app).exit_code == 0
    chains = {slug: [r.id for r in _events(app, "tenant_id = :t", {"t": world.ids[slug]})]
              for slug in ("aalten", "berkelland", "druten")}
    changed, deleted, swapped = chains["aalten"][2], chains["berkelland"][2], chains["druten"][1:3]
    _maintenance(owner_engine,
                 ("UPDATE audit_event SET object_id = '999' WHERE id = :id", {"id": changed}),
                 ("DELETE FROM audit_event WHERE id = :id", {"id": deleted}),
                 ("UPDATE audit_event SET seq = -seq WHERE id IN (:a, :b)", {"a": swapped[0], "b": swapped[1]}),
                 ("UPDATE audit_event SET seq = CASE WHEN id = :a THEN -seq + 1 ELSE -seq - 1 END "
                  "WHERE id IN (:a, :b)", {"a": swapped[0], "b": swapped[1]}))
    result = _verify(app)
    assert result.exit_code == 1
    assert f"aalten: BROKEN at event {changed}: the event was changed" in result.output
    assert f"berkelland: BROKEN at event {chains['berkelland'][3]}: an event before it is missing" in result.output
    assert f"druten: BROKEN at event {swapped[1]}:" in result.output
    assert "Error: 3 audit chain(s) broken" in result.output
    assert "999" not in result.output  # no content, ids only


@postgresql
def test_asvs_16_4_2_the_app_role_cannot_change_or_delete_audit_events(app, world, owner_engine):
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        for statement in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"):
            with pytest.raises(DBAPIError, match="permission denied"):
                db.session.execute(text(statement))
            db.session.rollback()
    # the owner only on the maintenance path: the trigger refuses otherwise
    for statement in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"), owner_engine.begin() as conn:
            conn.execute(text(statement))
    with app.app_context():
        assert _verify(app).exit_code == 0


@postgresql
def test_asvs_16_2_1_a_family_read_leaves_one_event_by_api_and_web_page(app, world):
    family = world.records["aalten"]["family"]
    client = app.test_client()
    assert client.get(f"/api/v1/aalten/families/{family}", headers=world.bearer(R.COORDINATOR)).status_code == 200
    assert world.login(client, world.users[R.COORDINATOR]).status_code == 302
    assert client.get(f"/aalten/families/{family}").status_code == 200
    reads = _events(app, "action = 'family.read'")
    assert [(r.object_id, r.actor) for r in reads] == [
        (str(family), "token:coordinator token"), (str(family), world.users[R.COORDINATOR])]
    assert all(r.hash and r.prev_hash for r in reads)


@postgresql
def test_asvs_16_3_2_a_refusal_shows_in_the_municipality_anonymised_and_to_the_platform_named(app, world):
    """Druten's token asks for Aalten's families (404): Aalten's log says a user of another organisation was
    refused, without e-mail, id or address; the platform's log names the token."""
    client = app.test_client()
    assert client.get("/api/v1/aalten/families", headers=world.bearer("druten")).status_code == 404
    mine = client.get("/api/v1/aalten/audit-events?action=access", headers=world.bearer(R.TENANT_ADMIN)).get_json()
    (refusal,) = mine["items"]
    assert refusal["foreign"] is True and refusal["outcome"] == "denied"
    assert refusal["actor"] is None and refusal["actor_user_id"] is None and refusal["ip"] is None
    everything = client.get("/api/v1/platform/audit-events?action=access",
                            headers=world.bearer(R.PLATFORM_ADMIN)).get_json()
    assert [(e["tenant_id"], e["actor"]) for e in everything["items"]] == [(world.ids["aalten"], "token:druten token")]
    # an id of another municipality inside one's own: a refusal in one's own log, by name
    other = world.records["druten"]["family"]
    assert client.get(f"/api/v1/aalten/families/{other}", headers=world.bearer(R.COORDINATOR)).status_code == 404
    own = client.get("/api/v1/aalten/audit-events?action=access", headers=world.bearer(R.TENANT_ADMIN)).get_json()
    assert own["items"][0]["actor"] == "token:coordinator token" and own["items"][0]["foreign"] is False
    # the page: Dutch, and the filter
    assert world.login(client, world.users[R.TENANT_ADMIN]).status_code == 302
    page = client.get("/aalten/admin/audit?action=access", headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert "een gebruiker van een andere organisatie" in page and "druten token" not in page
    assert client.get("/aalten/admin/audit?since=gisteren").status_code == 422
    assert client.get("/druten/admin/audit").status_code == 404
