"""The policy page of a municipality (switches, generated settings, preview, save, history) and the
policy template of a region, through the Flask test client on both backends."""
from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from core.auth import roles as R
from core.extensions import db
from core.policy import manager, service
from core.policy.models import PolicyVersion
from tenants.context import cross_tenant_scope, tenant_scope
from tests.conftest import add_user, enable_policy
from tests.queries import count_statements

POVERTY = "eligibility.poverty"
PERCENTAGE = "config.eligibility.poverty.percentage"
PERCENTAGE_ID = "cfg-config-eligibility-poverty-percentage"


class FormFields(HTMLParser):
    """The fields a browser would post from the first form whose action ends with *action*."""

    def __init__(self, action: str):
        super().__init__()
        self.action, self.inside, self.done = action, False, False
        self.fields: list[tuple[str, str]] = []
        self._select = self._textarea = None
        self._text: list[str] = []
        self._selected = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and not self.done and (a.get("action") or "").endswith(self.action):
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("name") and "disabled" not in a:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value", "on")))
            elif kind not in ("submit", "button"):
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._selected, self._first = a["name"], None, None
        elif tag == "option" and self._select:
            if self._first is None:
                self._first = a.get("value", "")
            if "selected" in a:
                self._selected = a.get("value", "")
        elif tag == "textarea":
            self._textarea, self._text = a["name"], []

    def handle_data(self, data):
        if self._textarea:
            self._text.append(data)

    def handle_endtag(self, tag):
        if not self.inside:
            return
        if tag == "select" and self._select:
            self.fields.append((self._select, self._selected if self._selected is not None else self._first))
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, html.unescape("".join(self._text))))
            self._textarea = None
        elif tag == "form":
            self.inside, self.done = False, True


def form_fields(page: str, action: str) -> list[tuple[str, str]]:
    reader = FormFields(action)
    reader.feed(page)
    assert reader.done, f"no form posting to {action}"
    return reader.fields


def versions(tenant_id: int) -> int:
    from flask import current_app

    with current_app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(func.count()).select_from(PolicyVersion))


def current(tenant_id: int):
    from flask import current_app

    with current_app.app_context():
        return service.current(tenant_id)


def template(consortium_id: int):
    from flask import current_app

    with current_app.app_context():
        row = service.template(consortium_id)
        return None if row is None else (row.version, row.plugins, row.note)


@pytest.fixture(autouse=True)
def _app_context(app):
    """An app context around each test for the helpers (each query opens its own inner context)."""
    with app.app_context():
        yield


def login_admin(client, world):
    world.login(client, world.users[R.TENANT_ADMIN])


def poverty_form(percentage: str, note: str | None = None, **extra) -> dict:
    data = {"enabled": [POVERTY], f"config.{POVERTY}.__present": "1", PERCENTAGE: percentage, **extra}
    if note is not None:
        data["note"] = note
    return data


def field_error(page: str, control_id: str) -> str:
    found = re.search(rf'<div class="utrecht-form-field-error-message" id="{control_id}-error">(.*?)</div>', page, re.S)
    return html.unescape(found.group(1)) if found else ""


# --- the page ---------------------------------------------------------------------------------------------

def test_the_page_lists_every_plugin_by_kind_in_dutch_with_a_switch_and_its_settings(client, world):
    login_admin(client, world)
    response = client.get("/aalten/admin/policy")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<h1>Beleid</h1>" in page
    for name, cls in manager.installed().items():
        assert html.escape(cls.title["nl"], quote=False) in page, name
        assert f'name="enabled" value="{name}"' in page
    assert '<h2 id="kind-eligibility">Wie mag meedoen</h2>' in page
    assert '<h2 id="kind-screening">' in page and '<h2 id="kind-matching">' in page
    # the settings of the poverty rule: an integer, a nested group of norms with a date, the schema's defaults
    assert f'name="{PERCENTAGE}" id="{PERCENTAGE_ID}" value="120"' in page
    assert 'name="config.eligibility.poverty.norms.valid_from" id="cfg-config-eligibility-poverty-norms-valid_from" value="2026-01-01" type="date"' in page
    assert "Percentage" in page and "Alleenstaande (euro per maand)" in page
    # choices of a vocabulary as checkboxes with their Dutch labels; a one-of as a select
    assert "een ouder met psychische problemen (KOPP)" in page
    assert '<select class="utrecht-select utrecht-select--html-select" name="config.report.pdf.orientation"' in page
    assert "Bekijk de gevolgen" in page


def test_the_page_shows_the_policy_in_force_switched_on(client, world, app):
    enable_policy(world.ids["aalten"], {POVERTY: {"percentage": 130}})
    login_admin(client, world)
    page = client.get("/aalten/admin/policy").get_data(as_text=True)
    assert f'name="enabled" value="{POVERTY}" id="cfg-plugin-eligibility-poverty-on" checked' in page
    assert f'id="{PERCENTAGE_ID}" value="130"' in page
    assert 'name="enabled" value="screening.vog" id="cfg-plugin-screening-vog-on">' in page  # off


@pytest.mark.parametrize(("value", "message"), [
    ("20", "Moet minstens 50 en hoogstens 300 zijn."),
    ("veel", "Geef een heel getal."),
    ("", "Geef een heel getal."),
])
@pytest.mark.parametrize("step", ["preview", "save"])
def test_a_bad_value_is_refused_at_its_field_with_the_schemas_message_and_nothing_is_saved(
        client, world, value, message, step):
    login_admin(client, world)
    before = versions(world.ids["aalten"])
    response = client.post(f"/aalten/admin/policy/{step}", data=poverty_form(value, note="te laag"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_error(page, PERCENTAGE_ID) == message
    assert f'aria-describedby="{PERCENTAGE_ID}-error" aria-invalid="true"' in page
    assert f'<a href="#{PERCENTAGE_ID}">Laag inkomen (armoede), Percentage: {message}</a>' in page  # the summary
    assert f'value="{value}"' in page  # what was typed stays in the field
    assert versions(world.ids["aalten"]) == before
    assert current(world.ids["aalten"]).plugins == {}


def test_a_message_in_a_nested_setting_goes_to_that_setting(client, world):
    login_admin(client, world)
    data = poverty_form("120", note="x", **{"config.eligibility.poverty.norms.couple": "0",
                                           "config.eligibility.poverty.norms.valid_from": "morgen"})
    page = client.post("/aalten/admin/policy/save", data=data).get_data(as_text=True)
    assert field_error(page, "cfg-config-eligibility-poverty-norms-couple") == "Moet minstens 1 en hoogstens 10.000 zijn."
    assert field_error(page, "cfg-config-eligibility-poverty-norms-valid_from") == "Geef een datum."
    assert versions(world.ids["aalten"]) == 0


def test_two_funding_models_at_once_are_refused_at_the_top(client, world):
    login_admin(client, world)
    response = client.post("/aalten/admin/policy/save", data={"enabled": ["funding.lump_sum", "funding.per_match"]})
    assert response.status_code == 422
    assert "Zet van deze soort één plugin tegelijk aan" in response.get_data(as_text=True)
    assert versions(world.ids["aalten"]) == 0


def test_preview_shows_the_effect_and_carries_the_proposal_and_save_makes_a_version(client, world):
    enable_policy(world.ids["aalten"], {"eligibility.no_conditions": {}})  # every open family is eligible now
    login_admin(client, world)
    data = {"enabled": [POVERTY], f"config.{POVERTY}.__present": "1", PERCENTAGE: "150"}
    response = client.post("/aalten/admin/policy/preview", data=data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<h1>Gevolgen van de wijziging</h1>" in page
    assert "Aangezet: Laag inkomen (armoede)" in page
    assert "Uitgezet: Geen voorwaarden" in page
    # the open requesting family records no income: with the poverty rule a coordinator decides
    assert '<p class="figure">1</p><p>open vraaggezinnen</p>' in page
    assert '<p class="figure">1</p><p>zijn niet meer toegelaten</p>' in page
    assert "Familie Jansen-Bakker" in page
    assert versions(world.ids["aalten"]) == 1  # nothing saved yet
    carried = form_fields(page, "/aalten/admin/policy/save")
    assert ("enabled", POVERTY) in carried and (PERCENTAGE, "150") in carried
    response = client.post("/aalten/admin/policy/save", data={
        **{k: [v for key, v in carried if key == k] for k, _ in carried}, "note": "Armoede eerst"})
    assert response.status_code == 302 and response.location.endswith("/aalten/admin/policy/versions")
    policy = current(world.ids["aalten"])
    assert policy.version == 2 and policy.plugins[POVERTY]["percentage"] == 150
    history = client.get("/aalten/admin/policy/versions").get_data(as_text=True)
    assert "Het beleid is opgeslagen als versie 2." in history
    assert "Armoede eerst" in history and "tenant-admin" in history


def test_adjust_from_the_preview_brings_the_proposal_back_to_the_form(client, world):
    login_admin(client, world)
    data = {**poverty_form("140"), "edit": "1"}
    page = client.post("/aalten/admin/policy/preview", data=data).get_data(as_text=True)
    assert "<h1>Beleid</h1>" in page
    assert f'id="{PERCENTAGE_ID}" value="140"' in page
    assert f'value="{POVERTY}" id="cfg-plugin-eligibility-poverty-on" checked' in page


def test_saving_the_policy_in_force_again_is_refused_with_a_conflict(client, world):
    enable_policy(world.ids["aalten"], {POVERTY: {}})
    login_admin(client, world)
    response = client.post("/aalten/admin/policy/save", data={"enabled": [POVERTY]})
    assert response.status_code == 409
    assert "Er verandert niets" in response.get_data(as_text=True)
    assert versions(world.ids["aalten"]) == 1


def test_a_note_that_is_too_long_is_refused_on_the_preview(client, world):
    login_admin(client, world)
    response = client.post("/aalten/admin/policy/save", data=poverty_form("120", note="x" * 2001))
    assert response.status_code == 422
    assert "<h1>Gevolgen van de wijziging</h1>" in response.get_data(as_text=True)
    assert versions(world.ids["aalten"]) == 0


def test_the_generated_form_round_trips_the_defaults_of_every_installed_plugin(client, world):
    """Render the page, post each plugin's controls as the browser would: the policy saved is the defaults."""
    login_admin(client, world)
    page = client.get("/aalten/admin/policy").get_data(as_text=True)
    posted = form_fields(page, "/aalten/admin/policy/preview")
    for number, (name, cls) in enumerate(manager.installed().items(), start=1):
        own = [(k, v) for k, v in posted if k.startswith(f"config.{name}.")]
        data = {"enabled": [name], **{k: [v for key, v in own if key == k] for k, _ in own}}
        response = client.post("/aalten/admin/policy/save", data=data)
        assert response.status_code == 302, (name, response.get_data(as_text=True)[:3000])
        policy = current(world.ids["aalten"])
        assert policy.version == number
        assert policy.plugins == {name: service.validate({name: {}})[name]}, name


# --- who may ----------------------------------------------------------------------------------------------

def test_a_coordinator_reads_the_policy_but_cannot_preview_or_save(client, world):
    world.login(client, world.users[R.COORDINATOR])
    page = client.get("/aalten/admin/policy")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Bekijk de gevolgen" not in text and "<fieldset disabled" in text
    assert client.get("/aalten/admin/policy/versions").status_code == 200
    assert client.post("/aalten/admin/policy/save", data=poverty_form("130")).status_code == 403
    assert client.post("/aalten/admin/policy/preview", data=poverty_form("130")).status_code == 403
    assert versions(world.ids["aalten"]) == 0


def test_the_region_admin_may_preview_a_members_policy_but_not_save_it(client, world):
    world.login(client, world.users[R.CONSORTIUM_ADMIN])
    response = client.post("/aalten/admin/policy/preview", data=poverty_form("130"))
    assert response.status_code == 200
    assert "Alleen een beheerder van de gemeente kan het beleid opslaan." in response.get_data(as_text=True)
    assert client.post("/aalten/admin/policy/save", data=poverty_form("130")).status_code == 403


def druten_admin(app, world) -> str:
    from tenants.models import Municipality

    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        add_user("beheer@druten.example", R.TENANT_ADMIN, municipality=db.session.get(Municipality, world.ids["druten"]))
        db.session.commit()
    return "beheer@druten.example"


def test_another_municipalitys_admin_gets_404_on_every_policy_page(client, world, app):
    world.login(client, druten_admin(app, world))
    assert client.get("/druten/admin/policy").status_code == 200
    for method, path in [("get", "/aalten/admin/policy"), ("get", "/aalten/admin/policy/versions"),
                         ("post", "/aalten/admin/policy/preview"), ("post", "/aalten/admin/policy/save")]:
        response = getattr(client, method)(path, data=poverty_form("130") if method == "post" else None)
        assert response.status_code == 404, path
    assert versions(world.ids["aalten"]) == 0


# --- the history ------------------------------------------------------------------------------------------

def make_versions(tenant_id: int, count: int) -> None:
    for i in range(count):
        service.change(tenant_id, {POVERTY: {"percentage": 100 + i}}, note=f"stap {i + 1}")
    db.session.commit()


def test_the_history_shows_who_changed_what_and_why_newest_first_with_pages(client, world, app):
    with app.app_context():
        make_versions(world.ids["aalten"], 23)
    login_admin(client, world)
    page = client.get("/aalten/admin/policy/versions").get_data(as_text=True)
    assert page.index("stap 23") < page.index("stap 22")
    assert "Percentage: 121 wordt 122" in page
    assert "Aangezet: Laag inkomen (armoede)" not in page  # version 1 is on page 2
    assert "Pagina 1 van 2" in page and "Oudere versies" in page
    second = client.get("/aalten/admin/policy/versions?page=2").get_data(as_text=True)
    assert "Aangezet: Laag inkomen (armoede)" in second and "stap 1<" in second
    assert client.get("/aalten/admin/policy/versions?page=zz").status_code == 200


def test_the_page_and_the_history_do_not_query_per_version(client, world, app):
    login_admin(client, world)
    counts = {}
    for total in (2, 15):
        with app.app_context():
            make_versions(world.ids["aalten"], total - versions(world.ids["aalten"]))
        for path in ("/aalten/admin/policy", "/aalten/admin/policy/versions"):
            with count_statements(db.engine) as seen:
                assert client.get(path).status_code == 200
            counts[(path, total)] = len(seen)
    for path in ("/aalten/admin/policy", "/aalten/admin/policy/versions"):
        assert counts[(path, 2)] == counts[(path, 15)], counts


# --- the region's template --------------------------------------------------------------------------------

def test_the_region_admin_sees_the_template_and_each_members_differences(client, world):
    enable_policy(world.ids["aalten"], {POVERTY: {"percentage": 130}})
    world.login(client, world.users[R.CONSORTIUM_ADMIN])
    response = client.get("/regio/achterhoek/template")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<h1>Beleidssjabloon</h1>" in page
    assert "Aalten" in page and "Berkelland" in page
    assert "Ook aan: Laag inkomen (armoede)" in page
    assert "Gelijk aan het sjabloon" in page  # Berkelland


def test_the_template_is_saved_and_a_bad_value_is_refused_at_its_field(client, world):
    world.login(client, world.users[R.CONSORTIUM_ADMIN])
    response = client.post("/regio/achterhoek/template/save", data=poverty_form("9999", note="te hoog"))
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), PERCENTAGE_ID) == "Moet minstens 50 en hoogstens 300 zijn."
    assert template(world.ids["achterhoek"]) is None
    response = client.post("/regio/achterhoek/template/save", data=poverty_form("130", note="regio"))
    assert response.status_code == 302
    version, plugins, note = template(world.ids["achterhoek"])
    assert version == 1 and plugins[POVERTY]["percentage"] == 130 and note == "regio"
    page = client.get("/regio/achterhoek/template").get_data(as_text=True)
    assert "Het beleidssjabloon is opgeslagen als versie 1." in page
    assert "Niet aan: Laag inkomen (armoede)" in page  # the members have no policy yet


def test_the_platform_admin_reads_the_template_but_cannot_save_it(client, world):
    world.login(client, world.users[R.PLATFORM_ADMIN])
    response = client.get("/regio/achterhoek/template")
    assert response.status_code == 200 and "<fieldset disabled" in response.get_data(as_text=True)
    assert client.post("/regio/achterhoek/template/save", data=poverty_form("130")).status_code == 403


def test_another_regions_admin_gets_404_on_the_template(client, world, app):
    from tenants.models import Consortium

    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        add_user("regio@nijmegen.example", R.CONSORTIUM_ADMIN, consortium=db.session.get(Consortium, world.ids["nijmegen"]))
        db.session.commit()
    world.login(client, "regio@nijmegen.example")
    assert client.get("/regio/nijmegen-regio/template").status_code == 200
    assert client.get("/regio/achterhoek/template").status_code == 404
    assert client.post("/regio/achterhoek/template/save", data=poverty_form("130")).status_code == 404
    assert template(world.ids["achterhoek"]) is None
