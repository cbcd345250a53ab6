"""Public registration confirmed by e-mail, and what keeps a flood of junk from reaching the coordinators.

The confirmation mail goes through the real SMTP test server (tests/smtp.py), its item done in-process as a
worker would (``runner.run`` in the item's tenant). PostgreSQL only: nothing here differs by backend but the
row-level security that the waiting registrations fall under.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import redis
from sqlalchemy import func, select, text

from core.auth import roles as R
from core.extensions import db, limiter
from core.programme.models import Family
from core.programme.registration import PendingRegistration
from core.scheduling import dispatch, runner
from core.scheduling.models import PENDING, Notification, ScheduledItem
from core.scheduling.registry import kinds
from core.types import utcnow
from core.usecases import registrations
from tenants.context import cross_tenant_scope, tenant_scope

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

PUBLIC_URL = "https://koppel.example.org"
LINK = re.compile(re.escape(PUBLIC_URL) + r"(/\S+)")
FORM = {"kind": "requesting", "display_name": "Familie Özdemir", "email": "ozdemir@example.org",
        "postcode": "7121 AB", "house_number": "12a", "message": "Twee kinderen.", "consent_processing": "y"}
API = {"kind": "requesting", "display_name": "Via API", "email": "api@example.org", "postcode": "7121 AB",
       "house_number": "1", "consent_processing": True, "consent_wording_version": "api"}


@pytest.fixture(autouse=True)
def _settings(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", PUBLIC_URL)
    limiter.reset()
    yield
    limiter.reset()


def deliver(app) -> int:
    """Send the waiting confirmation mails as a worker would; how many items were done."""
    with app.app_context():
        with cross_tenant_scope("scheduler"):
            pending = db.session.execute(select(ScheduledItem.id, ScheduledItem.tenant_id).where(
                ScheduledItem.state == PENDING, ScheduledItem.kind == registrations.KIND)).all()
            db.session.rollback()
        for item_id, tenant_id in pending:
            with runner.scope(tenant_id, kinds()[registrations.KIND].cross_scope):
                runner.run(item_id)
    return len(pending)


def confirm_waiting(app, client, slug: str, tenant_id: int) -> int:
    """Confirm every waiting registration of a municipality as its mailed link would; how many."""
    with app.app_context(), tenant_scope(tenant_id):
        tokens = [registrations.make_token(p) for p in db.session.scalars(select(PendingRegistration))]
        db.session.rollback()
    for token in tokens:
        assert client.post(f"/{slug}/register/confirm/{token}").status_code == 302
    return len(tokens)


def waiting(app, tenant_id: int) -> list[str]:
    """The names of the registrations waiting in a municipality."""
    with app.app_context(), tenant_scope(tenant_id):
        names = [p.data["display_name"] for p in db.session.scalars(select(PendingRegistration)
                                                                      .order_by(PendingRegistration.id))]
        db.session.rollback()
    return names


def families_named(app, name: str) -> int:
    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        n = db.session.scalar(select(func.count()).select_from(Family).where(Family.display_name == name))
        db.session.rollback()
    return n


def test_asvs_2_3_1_a_registration_reaches_the_coordinators_only_once_confirmed_by_the_mailed_link(
        app, client, world, smtp_server):
    coordinator, person = world.bearer(R.COORDINATOR), world.bearer("person")  # a person's token has notifications
    staff = app.test_client()
    world.login(staff, world.users[R.COORDINATOR])
    kpis_before = client.get("/api/v1/aalten/kpis", headers=coordinator).get_json()

    response = client.post("/aalten/register", data=FORM)
    assert response.status_code == 302 and response.headers["Location"].endswith("/aalten/register/done")
    assert "Controleer uw e-mail" in client.get(response.headers["Location"]).get_data(as_text=True)

    def unseen():
        search = client.post("/api/v1/aalten/families/search", json={"q": "familie özdemir"}, headers=coordinator)
        assert search.get_json()["items"] == []
        assert "Özdemir" not in staff.get("/aalten/families").get_data(as_text=True)
        assert "Özdemir" not in staff.get("/aalten/").get_data(as_text=True)
        assert client.get("/api/v1/aalten/notifications", headers=person).get_json()["items"] == []
        assert client.get("/api/v1/aalten/kpis", headers=coordinator).get_json() == kpis_before

    unseen()
    assert deliver(app) == 1
    [mail] = smtp_server.messages
    assert mail.to == ["ozdemir@example.org"]
    assert mail.message["Subject"].startswith("Bevestig uw aanmelding bij Aalten / Confirm your sign-up")
    assert mail.body.index("Bevestig uw aanmelding") < mail.body.index("Confirm your sign-up")
    path = LINK.search(mail.body).group(1)
    assert path.startswith("/aalten/register/confirm/")
    assert not re.search(r"zdemir|7121|example\.org|%40|@", path)  # the link holds nothing personal

    assert client.get(f"/berkelland{path.removeprefix('/aalten')}").status_code == 410  # another municipality's
    page = client.get(path)  # opening the link (as a mail scanner would) confirms nothing
    assert page.status_code == 200 and "Bevestig mijn aanmelding" in page.get_data(as_text=True)
    unseen()

    confirmed = client.post(path)
    assert confirmed.status_code == 302 and confirmed.headers["Location"].endswith("/aalten/register/confirmed")
    assert "Uw aanmelding is bevestigd" in client.get(confirmed.headers["Location"]).get_data(as_text=True)
    [found] = client.post("/api/v1/aalten/families/search", json={"q": "familie özdemir"},
                          headers=coordinator).get_json()["items"]
    assert found["status"] == "registered"
    assert [n["kind"] for n in client.get("/api/v1/aalten/notifications", headers=person).get_json()["items"]] \
        == ["registration"]

    again = client.post(path)  # the link works once
    assert again.status_code == 410 and "Deze link werkt niet meer" in again.get_data(as_text=True)
    assert client.get(path).status_code == 410
    assert families_named(app, "Familie Özdemir") == 1 and waiting(app, world.ids["aalten"]) == []


def test_unconfirmed_registrations_expire_and_the_dispatcher_deletes_them(app, client, world):
    assert client.post("/api/v1/aalten/registrations", json=API).status_code == 202
    assert client.post("/api/v1/druten/registrations", json=API).status_code == 202
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        token = registrations.make_token(db.session.scalar(select(PendingRegistration)))
    later = utcnow() + timedelta(hours=app.config["REGISTRATION_CONFIRM_HOURS"], minutes=1)
    with app.app_context():
        dispatch.collect(utcnow())
    assert waiting(app, world.ids["aalten"]) == ["Via API"]  # not expired yet
    with app.app_context():
        dispatch.collect(later)
    assert waiting(app, world.ids["aalten"]) == [] and waiting(app, world.ids["druten"]) == []
    assert client.post(f"/aalten/register/confirm/{token}").status_code == 410
    assert families_named(app, "Via API") == 0


def test_asvs_2_4_1_the_waiting_queue_is_capped_per_municipality_oldest_first_and_confirmed_ones_stay(
        app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "REGISTRATION_MAX_UNCONFIRMED", 2)
    assert client.post("/api/v1/aalten/registrations", json={**API, "display_name": "Echt"}).status_code == 202
    assert confirm_waiting(app, client, "aalten", world.ids["aalten"]) == 1
    for n in range(4):  # a flood from several addresses
        response = client.post("/api/v1/aalten/registrations", json={**API, "display_name": f"Rommel {n}",
                                                                      "email": f"r{n}@example.org"},
                               environ_base={"REMOTE_ADDR": f"10.0.0.{n}"})
        assert response.status_code == 202
    assert client.post("/api/v1/berkelland/registrations", json=API).status_code == 202
    assert waiting(app, world.ids["aalten"]) == ["Rommel 2", "Rommel 3"]  # the newest two; room for a family
    assert waiting(app, world.ids["berkelland"]) == ["Via API"]  # another municipality's queue is its own
    assert families_named(app, "Echt") == 1  # a confirmed registration is never dropped


def test_asvs_2_4_1_a_filled_in_honeypot_gets_the_same_answer_and_nothing_is_stored(app, client, world,
                                                                                    owner_engine):
    form = client.get("/aalten/register").get_data(as_text=True)
    trap = re.search(r'<div class="visually-hidden" aria-hidden="true">(.*?)</div>', form, re.S).group(1)
    assert 'name="website"' in trap and 'tabindex="-1"' in trap and 'autocomplete="off"' in trap
    assert "Laat dit veld leeg" in trap  # should anyone see it anyway (no style sheet)

    bot = client.post("/aalten/register", data={**FORM, "website": "https://spam.example"})
    person = app.test_client().post("/aalten/register", data={**FORM, "email": "echt@example.org"})
    assert (bot.status_code, bot.headers["Location"]) == (person.status_code, person.headers["Location"])
    assert waiting(app, world.ids["aalten"]) == ["Familie Özdemir"]  # the person's only
    with owner_engine.begin() as c:
        c.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
        assert c.execute(text("SELECT count(*) FROM scheduled_item WHERE kind = :k"),
                         {"k": registrations.KIND}).scalar() == 1


def test_asvs_2_4_1_the_limit_per_ip_stops_one_address_while_a_family_elsewhere_gets_through(
        app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "REGISTRATION_LIMIT_PER_IP", "2 per hour")
    flood = {"REMOTE_ADDR": "192.0.2.66"}
    for n in range(2):
        assert client.post("/aalten/register", data={**FORM, "email": f"x{n}@example.org"},
                           environ_base=flood).status_code == 302
    blocked = client.post("/api/v1/aalten/registrations", json=API, environ_base=flood)
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    assert client.post("/aalten/register", data={**FORM, "display_name": "Familie Echt"},
                       environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 302
    assert "Familie Echt" in waiting(app, world.ids["aalten"])


def test_asvs_6_3_8_the_same_address_twice_gets_the_same_answer_and_one_mail(app, client, world, smtp_server):
    first = client.post("/api/v1/aalten/registrations", json=API)
    second = client.post("/api/v1/aalten/registrations", json={**API, "display_name": "Iemand anders"})
    assert (first.status_code, first.get_json()) == (second.status_code, second.get_json()) == (
        202, {"received": True, "municipality": "Aalten", "confirm_within_hours": 72})
    assert deliver(app) == 1 and [m.to for m in smtp_server.messages] == [["api@example.org"]]
    assert waiting(app, world.ids["aalten"]) == ["Via API"]


def test_an_e_mail_address_is_required_and_the_form_says_how_to_register_without_one(client, world):
    page = client.get("/aalten/register").get_data(as_text=True)
    assert "Geen e-mailadres? Bel dan de gemeente Aalten: een coördinator meldt u aan." in page
    response = client.post("/aalten/register", data={**FORM, "email": ""})
    assert response.status_code == 422
    assert "Vul uw e-mailadres in." in response.get_data(as_text=True)
    api = client.post("/api/v1/aalten/registrations", json={**API, "email": None, "phone": "0612345678"})
    assert api.status_code == 422 and set(api.get_json()["errors"]["json"]) == {"email"}


def test_the_limit_per_ip_is_counted_in_redis_when_configured(app, world, tmp_path_factory, backend):
    """The production storage for real: REDIS_URL's Redis (the test database 15), shared by every process."""
    from tests.conftest import REDIS_URL, make_app

    saved = limiter._storage, limiter._limiter  # the limiter is one object; the other tests' apps keep memory
    limited = make_app(backend, tmp_path_factory, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                       MIGRATION_DATABASE_URL=app.config["MIGRATION_DATABASE_URL"], RATELIMIT_STORAGE_URI=REDIS_URL,
                       REGISTRATION_LIMIT_PER_IP="2 per hour", PUBLIC_URL=PUBLIC_URL)
    store = redis.Redis.from_url(REDIS_URL)
    try:
        assert type(limiter.storage).__name__ == "RedisStorage"
        limiter.reset()
        client = limited.test_client()
        codes = [client.post("/api/v1/aalten/registrations", json={**API, "email": f"r{n}@example.org"}).status_code
                 for n in range(3)]
        assert codes == [202, 202, 429]
        assert [key for key in store.scan_iter("*koppel*registrations*")]  # the counter is in Redis
        assert client.post("/api/v1/aalten/registrations", json=API,
                           environ_base={"REMOTE_ADDR": "10.9.8.7"}).status_code == 202
    finally:
        limiter.reset()
        limiter._storage, limiter._limiter = saved
        with limited.app_context():
            db.engine.dispose()
