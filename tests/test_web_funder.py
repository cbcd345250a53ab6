"""The funder portal (/funder/): a funder's own schedules and export files, downloads under the municipality or
region they belong to, another funder's file "not found", no coordinator page, and a fixed number of statements."""
from __future__ import annotations

import hashlib
from datetime import date, timedelta

from sqlalchemy import select

from core.audit import AuditEvent
from core.auth import roles as R
from core.auth.models import User
from core.exports.models import ExportRun, ExportSchedule
from core.extensions import db
from tenants.context import cross_tenant_scope, tenant_scope
from tenants.models import Consortium, Municipality
from tests.conftest import add_user
from tests.queries import count_statements


def add_run(funder_id: int, *, tenant_id: int | None = None, consortium_id: int | None = None,
            month: date = date(2025, 1, 1), content: bytes = b'{"figures": "aggregated"}') -> int:
    """A stored download run (and its schedule) of *funder_id* for a municipality or a consortium; its id."""
    scope = tenant_scope(tenant_id) if tenant_id is not None else cross_tenant_scope("consortium-aggregation")
    with scope:
        schedule = ExportSchedule(funder_id=funder_id, consortium_id=consortium_id, cron="0 6 1 * *", period="month",
                                  format="json", channel="download", active=False)
        db.session.add(schedule)
        db.session.flush()
        end = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        run = ExportRun(schedule_id=schedule.id, funder_id=funder_id, consortium_id=consortium_id, period="month",
                        period_start=month, period_end=end,
                        status="done", format="json", language="nl", channel="download",
                        media_type="application/json", file_name=f"koppel-{month:%Y-%m}.json", size=len(content),
                        sha256=hashlib.sha256(content).hexdigest(), content=content)
        db.session.add(run)
        db.session.commit()
        return run.id


def user_id(email: str) -> int:
    return db.session.scalar(select(User.id).where(User.email == email))


def aalten_run(world) -> int:
    with tenant_scope(world.ids["aalten"]):
        return db.session.scalar(select(ExportRun.id).order_by(ExportRun.id))


def test_the_funder_sees_its_schedules_and_files_with_no_personal_data(app, client, world):
    world.login(client, world.users[R.FUNDER])
    response = client.get("/funder/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Uw exports" in page and "Aalten" in page and "Downloaden" in page and "Wat u ontvangt" in page
    assert page.count("een maand") == 3  # the world's three schedules
    with app.app_context():
        run_id = aalten_run(world)
    assert f"/aalten/funder/exports/{run_id}" in page
    for name in ("Jansen", "Vries", "Anna", "cjg@example.org"):
        assert name not in page
    # the start page leads here, and the menu of the municipality has it
    assert 'href="/funder/"' in client.get("/").get_data(as_text=True)


def test_the_funder_downloads_its_file_byte_for_byte_and_it_is_audited(app, client, world):
    with app.app_context():
        run_id = aalten_run(world)
    world.login(client, world.users[R.FUNDER])
    response = client.get(f"/aalten/funder/exports/{run_id}")
    assert response.status_code == 200
    assert response.data == b'{"example": true}'
    assert response.headers["Content-Disposition"].startswith('attachment; filename="koppel-aalten-')
    assert response.headers["ETag"] == f'"{hashlib.sha256(response.data).hexdigest()}"'
    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export.download")).all()
        assert [str(e.object_id) for e in events] == [str(run_id)]


def test_another_funders_file_is_not_found_and_not_listed(app, client, world):
    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        aalten = db.session.get(Municipality, world.ids["aalten"])
        add_user("tweede-financier@example.org", R.FUNDER, municipality=aalten)
        db.session.commit()
        theirs = add_run(user_id("tweede-financier@example.org"), tenant_id=world.ids["aalten"])
        mine = aalten_run(world)
    world.login(client, world.users[R.FUNDER])
    assert client.get(f"/aalten/funder/exports/{theirs}").status_code == 404
    assert f"/funder/exports/{theirs}" not in client.get("/funder/").get_data(as_text=True)
    other = app.test_client()
    world.login(other, "tweede-financier@example.org")
    assert other.get(f"/aalten/funder/exports/{mine}").status_code == 404
    assert other.get(f"/aalten/funder/exports/{theirs}").status_code == 200
    page = other.get("/funder/").get_data(as_text=True)
    assert f"/funder/exports/{theirs}" in page and f"/funder/exports/{mine}" not in page


def test_a_file_of_another_municipality_is_not_found_under_its_own_and_the_others_address(app, client, world):
    with app.app_context():
        with tenant_scope(world.ids["druten"]):
            druten_run = db.session.scalar(select(ExportRun.id))
    world.login(client, world.users[R.FUNDER])
    assert client.get(f"/aalten/funder/exports/{druten_run}").status_code == 404
    assert client.get(f"/druten/funder/exports/{druten_run}").status_code == 404
    assert client.get(f"/berkelland/funder/exports/{druten_run}").status_code == 404
    assert client.get("/aalten/funder/exports/999999").status_code == 404


def test_a_funder_cannot_open_the_coordinators_pages_and_staff_have_no_funder_portal(app, client, world):
    world.login(client, world.users[R.FUNDER])
    assert client.get("/aalten/").status_code == 403
    assert client.get("/aalten/register").status_code == 200  # the public form is public
    assert client.get("/regio/achterhoek/").status_code == 404
    assert client.get("/platform/").status_code == 403
    with app.app_context():
        run_id = aalten_run(world)
    for role in (R.COORDINATOR, R.TENANT_ADMIN, R.CONSORTIUM_ADMIN):
        staff = app.test_client()
        world.login(staff, world.users[role])
        assert staff.get("/funder/").status_code == 403, role
        assert staff.get(f"/aalten/funder/exports/{run_id}").status_code in (403, 404), role
    assert app.test_client().get("/funder/").status_code == 302  # to the login page


def test_a_regional_funder_downloads_the_regions_file_and_the_municipal_funder_cannot(app, client, world):
    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        region = db.session.get(Consortium, world.ids["achterhoek"])
        add_user("regio-financier@example.org", R.FUNDER, consortium=region)
        db.session.commit()
        run_id = add_run(user_id("regio-financier@example.org"), consortium_id=world.ids["achterhoek"])
    world.login(client, "regio-financier@example.org")
    page = client.get("/funder/").get_data(as_text=True)
    assert "Regio Achterhoek" in page and f"/regio/achterhoek/funder/exports/{run_id}" in page
    assert client.get(f"/regio/achterhoek/funder/exports/{run_id}").status_code == 200
    assert client.get(f"/regio/nijmegen-regio/funder/exports/{run_id}").status_code == 404
    municipal = app.test_client()
    world.login(municipal, world.users[R.FUNDER])
    assert municipal.get(f"/regio/achterhoek/funder/exports/{run_id}").status_code == 404


def test_the_funder_page_reads_a_fixed_number_of_statements(app, client, world):
    world.login(client, world.users[R.FUNDER])
    with app.app_context():
        engine, funder = db.engine, user_id(world.users[R.FUNDER])
    client.get("/funder/")  # the session's first request does more (its last use is recorded)
    with count_statements(engine) as few:
        assert client.get("/funder/").status_code == 200
    with app.app_context():
        for month in range(1, 9):
            add_run(funder, tenant_id=world.ids["aalten"], month=date(2024, month, 1))
    with count_statements(engine) as many:
        page = client.get("/funder/").get_data(as_text=True)
    assert page.count("Downloaden") == 9
    assert len(many) == len(few), "\n".join(many)
