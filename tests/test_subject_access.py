"""A family's subject-access export (PostgreSQL): every table that references a family is in it, as JSON and as a
printable page; the export is audited; another municipality's family is not found."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.audit import AuditEvent
from core.extensions import db
from tenants.context import tenant_scope

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


def _referencing_family(metadata) -> set[str]:
    """Walk the metadata's foreign keys from ``family`` (independently of the code under test)."""
    found, todo = {"family"}, ["family"]
    while todo:
        parent = todo.pop()
        for table in metadata.sorted_tables:
            if table.name in found:
                continue
            if any(fk.column.table.name == parent for fk in table.foreign_keys):
                found.add(table.name)
                todo.append(table.name)
    return found


def test_subject_export_holds_every_table_referencing_the_family(app, client, world):
    family = world.records["aalten"]["family"]
    coordinator = world.bearer("person")
    assert client.get(f"/api/v1/aalten/families/{family}", headers=coordinator).status_code == 200  # a read, audited
    answer = client.get(f"/api/v1/aalten/families/{family}/subject-access", headers=coordinator)
    assert answer.status_code == 200 and "attachment" in answer.headers["Content-Disposition"]
    data = answer.json
    with app.app_context():
        expected = _referencing_family(db.metadata)
    assert expected <= set(data["tables"]), expected - set(data["tables"])
    # the fixture has rows in these; each is in the export
    for table in ("family", "member", "consent", "decision", "match", "match_transition", "evaluation", "contact",
                  "duplicate_flag", "family_status_change"):
        assert data["tables"][table], table
    assert data["tables"]["family"][0]["display_name"] == "Familie Jansen"
    assert data["tables"]["decision"][0]["explanations"][0]["explanation"]
    assert {"family.read"} <= {e["action"] for e in data["audit_events"]}
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        exported = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "family.subject_export")).all()
        assert [e.object_id for e in exported] == [str(family)]
        db.session.rollback()
    druten = world.records["druten"]["family"]
    assert client.get(f"/api/v1/aalten/families/{druten}/subject-access", headers=coordinator).status_code == 404


def test_the_subject_page_prints_everything_and_offers_json_and_erasure(app, client, world):
    family = world.records["aalten"]["family"]
    world.login(client, world.users["person"])
    page = client.get(f"/aalten/families/{family}/subject-access")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Familie Jansen" in html and "Anna" in html and "family.subject_export" not in html
    assert f"/aalten/families/{family}/subject-access.json" in html and "erasure" in html
    download = client.get(f"/aalten/families/{family}/subject-access.json")
    assert download.status_code == 200 and download.json["family_id"] == family
    refused = client.post(f"/aalten/families/{family}/erasure", data={"reason": "asked", "legal_basis": "none"})
    assert refused.status_code == 409 and "koppeling" in refused.get_data(as_text=True)  # a match is running
    assert client.get(f"/aalten/families/{world.records['druten']['family']}/subject-access").status_code == 404
    assert client.get("/aalten/retention").status_code == 200
