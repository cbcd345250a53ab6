"""The platform admin's pages: regions with their member counts (add a region), every municipality with its status
(suspend, reactivate; audited), the installed plugins and where they are on; refused to everyone else."""
from __future__ import annotations

from sqlalchemy import func, select

from core.audit import AuditEvent
from core.auth import roles as R
from core.extensions import db
from tenants import onboarding
from tenants.context import cross_tenant_scope
from tenants.models import Consortium, Municipality
from tests.conftest import enable_policy
from tests.queries import count_statements


def audit(action: str) -> list[AuditEvent]:
    with cross_tenant_scope("platform-maintenance"):
        found = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()
        db.session.expunge_all()
    return found


def test_the_regions_page_lists_each_region_with_its_members_and_adds_one(app, client, world):
    world.login(client, world.users[R.PLATFORM_ADMIN])
    page = client.get("/platform/").get_data(as_text=True)
    assert "Regio’s" in page and 'href="/regio/achterhoek/"' in page and 'href="/regio/nijmegen-regio/"' in page
    rows = page.split("<tbody>")[1].split("</tbody>")[0]
    assert rows.index("Achterhoek") < rows.index("Nijmegen")
    achterhoek, nijmegen = rows.split("Nijmegen")
    assert '<td class="number">2</td>' in achterhoek and '<td class="number">1</td>' in nijmegen

    response = client.post("/platform/", data={"name": "Rivierenland", "slug": ""})
    assert response.status_code == 302
    page = client.get("/platform/").get_data(as_text=True)
    assert "Regio Rivierenland is toegevoegd" in page and 'href="/regio/rivierenland/"' in page
    with app.app_context():
        assert db.session.scalar(select(Consortium.slug).where(Consortium.name == "Rivierenland")) == "rivierenland"
        assert [e.detail for e in audit("consortium.create")] == [{"slug": "rivierenland"}]


def test_a_taken_or_wrong_region_is_refused_naming_the_field_and_nothing_is_written(app, client, world):
    world.login(client, world.users[R.PLATFORM_ADMIN])
    for data, field in (({"name": "Achterhoek", "slug": "nieuw"}, "name"),
                        ({"name": "Nieuw", "slug": "achterhoek"}, "slug"),
                        ({"name": "Nieuw", "slug": "Niet Goed"}, "slug"),
                        ({"name": "", "slug": ""}, "name")):
        response = client.post("/platform/", data=data)
        assert response.status_code == 422, data
        page = response.get_data(as_text=True)
        assert 'role="alert"' in page and f'href="#{field}"' in page, data
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Consortium)) == 2


def test_suspending_and_reactivating_a_municipality_is_audited_and_takes_effect(app, client, world):
    world.login(client, world.users[R.PLATFORM_ADMIN])
    page = client.get("/platform/municipalities").get_data(as_text=True)
    for name in ("Aalten", "Berkelland", "Druten", "GM0197"):
        assert name in page
    assert page.count(">actief<") == 3 and "Aalten opschorten" in page
    coordinator = app.test_client()
    world.login(coordinator, world.users[R.COORDINATOR])
    assert coordinator.get("/aalten/").status_code == 200

    response = client.post("/platform/municipalities/aalten/status", data={"status": "suspended"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/platform/municipalities")
    page = client.get("/platform/municipalities").get_data(as_text=True)
    assert "Aalten is opgeschort" in page and "Aalten weer activeren" in page
    assert coordinator.get("/aalten/").status_code == 403
    assert app.test_client().get("/aalten/register").status_code == 403

    client.post("/platform/municipalities/aalten/status", data={"status": "active"})
    assert coordinator.get("/aalten/").status_code == 200
    with app.app_context():
        assert [e.detail for e in audit("municipality.status")] == [
            {"from": "active", "to": "suspended"}, {"from": "suspended", "to": "active"}]
        assert db.session.scalar(select(Municipality.status).where(Municipality.slug == "aalten")) == "active"


def test_a_wrong_status_changes_nothing(app, client, world):
    world.login(client, world.users[R.PLATFORM_ADMIN])
    response = client.post("/platform/municipalities/aalten/status", data={"status": "deleted"})
    assert response.status_code == 303
    assert "Kies opschorten of weer activeren." in client.get("/platform/municipalities").get_data(as_text=True)
    assert client.post("/platform/municipalities/nergens/status", data={"status": "active"}).status_code == 404
    with app.app_context():
        assert audit("municipality.status") == []


def test_the_plugins_page_lists_kind_version_package_and_where_each_is_on(app, client, world):
    with app.app_context():
        enable_policy(world.ids["aalten"], {"eligibility.poverty": {}, "screening.vog": {}})
        enable_policy(world.ids["druten"], {"eligibility.poverty": {}})
    world.login(client, world.users[R.PLATFORM_ADMIN])
    page = client.get("/platform/plugins").get_data(as_text=True)
    assert "Geïnstalleerde plug-ins" in page
    poverty = page.split("eligibility.poverty")[1].split("</tr>")[0]
    assert "Aalten, Druten" in poverty and "koppel" in poverty
    vog = page.split("screening.vog")[1].split("</tr>")[0]
    assert "Aalten" in vog and "Druten" not in vog
    assert "example.large_family" in page  # a third party's package, installed as such
    assert "nergens" in page.split("example.large_family")[1].split("</tr>")[0]


def test_everyone_but_the_platform_admin_is_refused(app, world):
    for role in (R.COORDINATOR, R.TENANT_ADMIN, R.FUNDER, R.CONSORTIUM_ADMIN):
        client = app.test_client()
        world.login(client, world.users[role])
        for url in ("/platform/", "/platform/municipalities", "/platform/plugins"):
            assert client.get(url).status_code == 403, (role, url)
        assert client.post("/platform/", data={"name": "X", "slug": "x"}).status_code == 403
        assert client.post("/platform/municipalities/aalten/status", data={"status": "suspended"}).status_code == 403
    assert app.test_client().get("/platform/").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Municipality.status).where(Municipality.slug == "aalten")) == "active"
        assert db.session.scalar(select(func.count()).select_from(Consortium)) == 2


def test_the_platform_pages_read_a_fixed_number_of_statements(app, client, world):
    world.login(client, world.users[R.PLATFORM_ADMIN])
    urls = ("/platform/", "/platform/municipalities", "/platform/plugins")
    with app.app_context():
        engine = db.engine
    client.get("/platform/")  # the session's first request does more (its last use is recorded)
    few = {}
    for url in urls:
        with count_statements(engine) as seen:
            assert client.get(url).status_code == 200
        few[url] = len(seen)
    with app.app_context():
        with cross_tenant_scope("platform-maintenance"):
            for n in range(4):
                region = onboarding.add_consortium(f"Regio {n}", f"regio-{n}")
                for m in range(3):
                    onboarding.add_municipality(region, name=f"Gemeente {n}-{m}", cbs_code=f"GM8{n}{m}0",
                                                slug=f"gemeente-{n}-{m}", inhabitants=1000)
            db.session.commit()
            ids = db.session.scalars(select(Municipality.id)).all()
        for tenant_id in ids:
            enable_policy(tenant_id, {"eligibility.poverty": {}})
    for url, shows in zip(urls, ("Regio 3", "Gemeente 3-2", "Gemeente 3-2")):
        with count_statements(engine) as seen:
            page = client.get(url).get_data(as_text=True)
        assert shows in page, url
        assert len(seen) == few[url], (url, "\n".join(seen))
