"""The public registration form (/<municipality>/register): plain Dutch, the API's schema and use case, the
API's rate limit with a Dutch 429 page, and a submission that, once confirmed by its mailed link
(tests/test_registration.py), reaches its own municipality only."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.extensions import db, limiter
from core.programme.models import Consent, Family
from tenants.context import cross_tenant_scope, tenant_scope
from tests.test_registration import confirm_waiting

GOOD = {"kind": "requesting", "display_name": "Familie Özdemir", "email": "ozdemir@example.org", "phone": "",
        "postcode": "7121 ab", "house_number": "12a", "support_kinds": ["day_part_care", "weekend_stay"],
        "message": "Twee kinderen, 4 en 7 jaar.", "consent_processing": "y"}


@pytest.fixture(autouse=True)
def _fresh_limits():
    limiter.reset()
    yield
    limiter.reset()


def families_named(app, name: str) -> dict[int, int]:
    """tenant id -> how many families are called *name* (read across tenants, as an operator would)."""
    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        rows = db.session.execute(select(Family.tenant_id, func.count()).where(Family.display_name == name)
                                  .group_by(Family.tenant_id)).all()
        db.session.rollback()
    return dict(rows)


def test_the_form_is_plain_dutch_and_needs_no_login(client, world):
    response = client.get("/aalten/register")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="nl">' in page
    for text in ("Aanmelden in Aalten", "Ik zoek hulp voor mijn gezin", "Ik wil een ander gezin helpen",
                 "Uw naam", "Postcode", "Huisnummer", "Ja, ik geef toestemming", "Aanmelding versturen",
                 "binnen 5 werkdagen"):
        assert text in page, text
    assert "Uitloggen" not in page


def test_a_registration_reaches_its_own_municipality_only_and_the_confirmation_says_what_comes(app, client, world):
    response = client.post("/aalten/register", data=GOOD)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.endswith("/aalten/register/done")
    assert "zdemir" not in location and "7121" not in location and "@" not in location  # nothing personal in the URL

    assert families_named(app, "Familie Özdemir") == {}  # until the mailed link confirms it
    assert confirm_waiting(app, client, "aalten", world.ids["aalten"]) == 1
    assert families_named(app, "Familie Özdemir") == {world.ids["aalten"]: 1}
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        family = db.session.scalar(select(Family).where(Family.display_name == "Familie Özdemir"))
        assert (family.kind, family.status, family.postcode, family.referral_source) == (
            "requesting", "registered", "7121 AB", "self")
        assert sorted(family.support_kinds) == ["day_part_care", "weekend_stay"]
        consent = db.session.scalar(select(Consent).where(Consent.family_id == family.id))
        assert (consent.purpose, consent.wording_version) == ("processing", "web-2026-01")

    done = client.get(location)
    assert done.status_code == 200
    page = done.get_data(as_text=True)
    assert "Bedankt voor uw aanmelding" in page and "Wat gebeurt er nu?" in page
    assert "Controleer uw e-mail" in page and "5 werkdagen" in page and "Aalten" in page
    assert "zdemir" not in page  # the confirmation repeats nothing personal

    response = client.post("/berkelland/register", data={**GOOD, "display_name": "Familie Bakker"})
    assert response.headers["Location"].endswith("/berkelland/register/done")
    confirm_waiting(app, client, "berkelland", world.ids["berkelland"])
    assert families_named(app, "Familie Bakker") == {world.ids["berkelland"]: 1}


def test_a_volunteer_family_registers_as_supporting(app, client, world):
    response = client.post("/druten/register", data={**GOOD, "kind": "supporting", "display_name": "Familie Hulp",
                                                     "phone": "06 12345678"})
    assert response.status_code == 302
    confirm_waiting(app, client, "druten", world.ids["druten"])
    assert families_named(app, "Familie Hulp") == {world.ids["druten"]: 1}
    assert "(VOG)" in client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("change,field,message", [
    ({"display_name": ""}, "display_name", "Vul uw naam in."),
    ({"postcode": "12345"}, "postcode", "Vul uw postcode in, bijvoorbeeld 7001 AB."),
    ({"consent_processing": ""}, "consent_processing", "We kunnen u alleen helpen als u toestemming geeft."),
    ({"kind": ""}, "kind", "Kies of u hulp zoekt of wilt helpen."),
    ({"email": "", "phone": "06 12345678"}, "email", "Vul uw e-mailadres in."),
    ({"email": "not-an-address"}, "email", "Dit e-mailadres klopt niet."),
])
def test_bad_input_is_refused_in_plain_dutch_naming_the_field_and_nothing_is_written(app, client, world, change, field,
                                                                                    message):
    data = {k: v for k, v in {**GOOD, **change}.items() if v != ""}
    response = client.post("/aalten/register", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'role="alert"' in page and f'href="#{field}"' in page and message in page
    assert f'id="{field}-error"' in page
    assert families_named(app, GOOD["display_name"]) == {}


def test_the_rate_limit_answers_429_in_dutch_and_counts_the_posts_only(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "REGISTRATION_LIMIT_PER_IP", "2 per hour")
    for _ in range(3):
        assert client.get("/aalten/register").status_code == 200  # reading the form is free
    for n in range(2):
        assert client.post("/aalten/register", data={**GOOD, "display_name": f"Gezin {n}"}).status_code == 302
    response = client.post("/aalten/register", data={**GOOD, "display_name": "Gezin 3"})
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert '<html lang="nl">' in page and "Te veel aanmeldingen" in page and "Probeer het later opnieuw" in page
    assert families_named(app, "Gezin 3") == {}


API = {"kind": "requesting", "display_name": "Via API", "email": "api@example.org", "postcode": "7121 AB",
       "house_number": "1", "consent_processing": True, "consent_wording_version": "api"}


def test_the_limit_per_address_counts_the_api_and_the_form_together(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "REGISTRATION_LIMIT_PER_IP", "2 per hour")
    assert client.post("/aalten/register", data=GOOD).status_code == 302
    assert client.post("/api/v1/berkelland/registrations", json=API).status_code == 202
    assert client.post("/api/v1/aalten/registrations", json=API).status_code == 429
    assert client.post("/druten/register", data=GOOD).status_code == 429


def test_a_suspended_municipality_takes_no_registrations(app, client, world, owner_engine):
    from sqlalchemy import text

    from tenants.resolution import forget

    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE municipality SET status = 'suspended' WHERE slug = 'aalten'"))
    with app.app_context():
        forget("aalten")
    assert client.get("/aalten/register").status_code == 403
    assert client.post("/aalten/register", data=GOOD).status_code == 403
    assert client.get("/nowhere/register").status_code == 404


def test_the_form_is_in_english_after_the_language_switch(client, world):
    client.post("/language", data={"lang": "en", "next": "/aalten/register"})
    page = client.get("/aalten/register").get_data(as_text=True)
    assert "Sign up in Aalten" in page and "I am looking for help for my family" in page


def test_a_registration_notifies_the_coordinators_of_that_municipality_only(app, world, client):
    """The form's submission reaches the municipality's coordinators (a notification each), nobody else's."""
    from core.auth.models import User
    from core.scheduling.models import Notification

    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        before = db.session.scalar(select(func.count()).select_from(Notification).where(Notification.kind == "registration"))
    response = client.post("/aalten/register", data=GOOD)
    assert response.status_code == 302
    confirm_waiting(app, client, "aalten", world.ids["aalten"])
    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        rows = db.session.execute(select(Notification.tenant_id, Notification.user_id, Notification.subject_type)
                                  .where(Notification.kind == "registration")).all()
        coordinators = {u.id for u in db.session.scalars(select(User).where(User.email.in_(
            [world.users["coordinator"], world.users["person"], world.users["person2"]])))}
    assert before == 0
    assert {r.tenant_id for r in rows} == {world.ids["aalten"]}
    assert {r.user_id for r in rows} == coordinators
    assert {r.subject_type for r in rows} == {"family"}
