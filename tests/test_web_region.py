"""The region pages: members side by side (key figures, early warnings, deviations from the template) in a fixed
number of statements, and the onboarding wizard (name and CBS code; start policy; first tenant admin) that
writes nothing before its last step and then everything in one transaction."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from core.auth import roles as R
from core.auth.models import Membership, User
from core.extensions import db
from core.messages import Message
from core.policy import service
from core.scheduling import runner
from core.scheduling.models import PENDING, EarlyWarning, ScheduledItem
from core.scheduling.registry import kinds
from core.usecases import users
from tenants.context import cross_tenant_scope, tenant_scope
from tenants.models import Consortium, Municipality
from tests.conftest import add_user, enable_policy, populate
from tests.queries import count_statements

TEMPLATE = {"eligibility.poverty": {}, "screening.vog": {}, "matching.proximity": {}}
STEP1 = {"step": "1", "name": "Oost Gelre", "cbs_code": "GM1586", "inhabitants": "29.800"}
ADMIN = {"step": "3", "action": "finish", "name": "Olga de Beheerder", "email": "olga@oostgelre.example"}


def set_template(consortium_id: int, plugins: dict = TEMPLATE) -> None:
    with cross_tenant_scope("platform-maintenance"):
        service.set_template(consortium_id, plugins, "tests")
        db.session.commit()


def municipalities() -> int:
    return db.session.scalar(select(func.count()).select_from(Municipality))


def nijmegen_admin(world) -> str:
    with cross_tenant_scope("platform-maintenance"):
        region = db.session.get(Consortium, world.ids["nijmegen"])
        add_user("beheer@nijmegen.example", R.CONSORTIUM_ADMIN, consortium=region)
        db.session.commit()
    return "beheer@nijmegen.example"


# ----------------------------------------------------------------------------- the members side by side

def test_the_region_page_shows_its_members_side_by_side_with_warnings_and_deviations(app, client, world):
    with app.app_context():
        set_template(world.ids["achterhoek"])
        enable_policy(world.ids["aalten"], TEMPLATE)
        enable_policy(world.ids["berkelland"], {"eligibility.no_conditions": {}, "screening.vog": {}})
        with tenant_scope(world.ids["berkelland"]):
            db.session.add(EarlyWarning(period=date.today().replace(day=1), code="long_wait", subject="",
                                        figures={"longest": 200}, message=Message(
                                            "Families waiting longest: %(days)s days", {"days": 200}).as_dict()))
            db.session.commit()
    world.login(client, world.users[R.CONSORTIUM_ADMIN])
    response = client.get("/regio/achterhoek/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Regio Achterhoek" in page and "Kerncijfers" in page
    assert page.index("Aalten") < page.index("Berkelland") and "Druten" not in page
    assert '<a href="#member-aalten">Aalten</a>' in page and 'id="member-berkelland"' in page
    assert "Aanmeldingen dit jaar" in page and "Families waiting longest: 200 days" in page
    assert "gelijk aan het sjabloon" in page and "wijkt af" in page
    assert "Ook aangezet: Geen voorwaarden" in page
    assert "Uitgezet: Laag inkomen (armoede), Nabijheid" in page
    assert 'href="/regio/achterhoek/onboard"' in page  # the wizard is offered to the region's admin
    for name in ("Jansen", "Vries"):
        assert name not in page  # figures only

    platform = app.test_client()
    world.login(platform, world.users[R.PLATFORM_ADMIN])
    page = platform.get("/regio/nijmegen-regio/").get_data(as_text=True)
    assert "Druten" in page and "Aalten" not in page and 'href="/regio/nijmegen-regio/onboard"' not in page


def test_another_regions_admin_and_municipal_staff_get_not_found(app, client, world):
    with app.app_context():
        other = nijmegen_admin(world)
    world.login(client, other)
    for url in ("/regio/achterhoek/", "/regio/achterhoek/onboard"):
        assert client.get(url).status_code == 404, url
    assert client.post("/regio/achterhoek/onboard", data=STEP1).status_code == 404
    assert client.get("/regio/nijmegen-regio/").status_code == 200
    for role in (R.COORDINATOR, R.TENANT_ADMIN, R.FUNDER):
        staff = app.test_client()
        world.login(staff, world.users[role])
        assert staff.get("/regio/achterhoek/").status_code == 404, role
        assert staff.get("/regio/achterhoek/onboard").status_code == 404, role
    platform = app.test_client()
    world.login(platform, world.users[R.PLATFORM_ADMIN])
    assert platform.get("/regio/achterhoek/onboard").status_code == 403  # the region's admin onboards
    with app.app_context():
        assert municipalities() == 3


def test_the_region_page_reads_a_fixed_number_of_statements(app, client, world):
    world.login(client, world.users[R.CONSORTIUM_ADMIN])
    with app.app_context():
        engine = db.engine
        set_template(world.ids["achterhoek"])
    client.get("/regio/achterhoek/")  # the session's first request does more (its last use is recorded)
    with count_statements(engine) as few:
        assert client.get("/regio/achterhoek/").status_code == 200
    with app.app_context():
        with cross_tenant_scope("platform-maintenance"):
            from tenants import onboarding

            region = db.session.get(Consortium, world.ids["achterhoek"])
            added = [onboarding.add_municipality(region, name=f"Extra {n}", cbs_code=f"GM90{n:02d}", slug=f"extra-{n}",
                                                 inhabitants=1000).id for n in range(3)]
            db.session.commit()
        for member in added:  # more members, more families and matches, more policies and warnings
            populate(member)
            enable_policy(member, {"eligibility.no_conditions": {}})
        for slug in ("aalten", "berkelland"):
            populate(world.ids[slug])
            with tenant_scope(world.ids[slug]):
                db.session.add(EarlyWarning(period=date.today().replace(day=1), code="no_new_match", subject="",
                                            figures={}, message=Message("No new match").as_dict()))
                db.session.commit()
    with count_statements(engine) as many:
        page = client.get("/regio/achterhoek/").get_data(as_text=True)
    assert "Extra 2" in page and page.count("No new match") == 2
    assert len(many) == len(few), "\n".join(many)


# ----------------------------------------------------------------------------- the onboarding wizard

def test_the_wizard_onboards_a_usable_municipality_with_its_policy_and_an_invited_admin(app, client, world,
                                                                                       smtp_server, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://koppel.example.org")
    with app.app_context():
        set_template(world.ids["achterhoek"])
    world.login(client, world.users[R.CONSORTIUM_ADMIN])

    page = client.get("/regio/achterhoek/onboard").get_data(as_text=True)
    assert "Nieuwe gemeente" in page and "Stap 1 van 3" in page and "CBS-code" in page
    response = client.post("/regio/achterhoek/onboard", data=STEP1)
    assert response.status_code == 302 and "Oost" not in response.headers["Location"]
    page = client.get("/regio/achterhoek/onboard").get_data(as_text=True)
    assert "Stap 2 van 3" in page and "Deze plug-ins worden aangezet" in page
    assert "eligibility.poverty" in page and "screening.vog" in page and "matching.proximity" in page
    assert client.post("/regio/achterhoek/onboard", data={"step": "2", "action": "next"}).status_code == 302
    page = client.get("/regio/achterhoek/onboard").get_data(as_text=True)
    assert "Stap 3 van 3" in page and "Oost Gelre" in page and "GM1586" in page and "/oost-gelre/" in page
    with app.app_context():
        assert municipalities() == 3  # nothing written before the last step

    response = client.post("/regio/achterhoek/onboard", data=ADMIN)
    assert response.status_code == 302 and response.headers["Location"].endswith("/regio/achterhoek/")
    page = client.get("/regio/achterhoek/").get_data(as_text=True)
    assert "Oost Gelre is klaar voor gebruik" in page and 'id="member-oost-gelre"' in page

    with app.app_context():
        new = db.session.scalar(select(Municipality).where(Municipality.cbs_code == "GM1586"))
        assert (new.name, new.slug, new.inhabitants, new.consortium_id, new.status) == (
            "Oost Gelre", "oost-gelre", 29800, world.ids["achterhoek"], "active")
        assert service.current(new.id).plugins.keys() == TEMPLATE.keys()
        admin = db.session.scalar(select(User).where(User.email == "olga@oostgelre.example"))
        assert users.status_of(admin) == users.INVITED and admin.name == "Olga de Beheerder"
        assert [(m.role, m.municipality_id) for m in admin.memberships] == [(R.TENANT_ADMIN, new.id)]
        with cross_tenant_scope("scheduler"):
            items = db.session.execute(
                select(ScheduledItem.id, ScheduledItem.tenant_id, ScheduledItem.kind)
                .where(ScheduledItem.kind == users.INVITATION, ScheduledItem.state == PENDING)).all()
            db.session.rollback()
        assert [(tenant, kind) for _, tenant, kind in items] == [(new.id, users.INVITATION)]
        for item_id, tenant_id, kind in items:  # as a worker does it
            with runner.scope(tenant_id, kinds()[kind].cross_scope):
                runner.run(item_id)
    [mail] = smtp_server.messages
    assert mail.to == ["olga@oostgelre.example"] and "Oost Gelre" in mail.body
    assert "https://koppel.example.org/invitation/" in mail.body
    # the wizard starts afresh
    assert "Stap 1 van 3" in client.get("/regio/achterhoek/onboard").get_data(as_text=True)


@pytest.mark.parametrize("values,field,message", [
    ({"cbs_code": "GM0197"}, "cbs_code", "De CBS-code GM0197 is al in gebruik bij Aalten."),
    ({"name": "Aalten", "cbs_code": "GM9999"}, "slug", "Het webadres aalten is al in gebruik bij Aalten."),
    ({"slug": "berkelland"}, "slug", "Het webadres berkelland is al in gebruik bij Berkelland."),
    ({"cbs_code": "1586"}, "cbs_code", "Een CBS-code is GM met 4 cijfers erachter"),
    ({"inhabitants": "veel"}, "inhabitants", "Vul het aantal inwoners in als heel getal"),
    ({"inhabitants": ""}, "inhabitants", "Vul het aantal inwoners in als heel getal"),
    ({"name": ""}, "name", "Vul de naam in"),
    ({"slug": "Oost Gelre!"}, "slug", "Gebruik alleen kleine letters, cijfers en streepjes"),
    ({"slug": "platform"}, "slug", "is gereserveerd"),
])
def test_step_one_refuses_a_taken_or_wrong_value_with_the_reason_and_writes_nothing(app, client, world, values, field,
                                                                                   message):
    world.login(client, world.users[R.CONSORTIUM_ADMIN])
    response = client.post("/regio/achterhoek/onboard", data={**STEP1, **values})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Stap 1 van 3" in page and f'href="#{field}"' in page and message in page
    assert "Stap 2 van 3" not in client.get("/regio/achterhoek/onboard").get_data(as_text=True)
    with app.app_context():
        assert municipalities() == 3


def test_a_wrong_admin_at_the_last_step_writes_nothing_and_keeps_the_earlier_answers(app, client, world):
    world.login(client, world.users[R.CONSORTIUM_ADMIN])
    client.post("/regio/achterhoek/onboard", data=STEP1)
    client.post("/regio/achterhoek/onboard", data={"step": "2", "action": "next"})
    response = client.post("/regio/achterhoek/onboard", data={**ADMIN, "email": "geen adres"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'href="#email"' in page and "geef een geldig e-mailadres" in page
    assert "Stap 3 van 3" in page and "Oost Gelre" in page
    with app.app_context():
        assert municipalities() == 3
        assert db.session.scalar(select(func.count()).select_from(User).where(User.name == "Olga de Beheerder")) == 0
    # back to step 2 and 1: the answers are still there
    assert client.post("/regio/achterhoek/onboard", data={"step": "3", "action": "back"}).status_code == 302
    assert "Stap 2 van 3" in client.get("/regio/achterhoek/onboard").get_data(as_text=True)
    client.post("/regio/achterhoek/onboard", data={"step": "2", "action": "back"})
    page = client.get("/regio/achterhoek/onboard").get_data(as_text=True)
    assert "Stap 1 van 3" in page and 'value="GM1586"' in page


def test_the_last_step_without_the_first_is_step_one(app, client, world):
    world.login(client, world.users[R.CONSORTIUM_ADMIN])
    response = client.post("/regio/achterhoek/onboard", data=ADMIN)
    assert response.status_code == 422 and "Stap 1 van 3" in response.get_data(as_text=True)
    with app.app_context():
        assert municipalities() == 3
        assert db.session.scalar(select(func.count()).select_from(Membership)
                                 .where(Membership.role == R.TENANT_ADMIN)) == 1
