"""Onboarding from the CLI, the API and region files; suspension."""
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from core.auth import roles as R
from core.extensions import db
from tenants import onboarding
from tenants.context import cross_tenant_scope
from tenants.models import Consortium, Municipality


def _counts(app, owner_engine):
    with owner_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
        return tuple(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                     for t in ("consortium", "municipality", "audit_event"))


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


ADD = ["municipality", "add", "--consortium", "achterhoek", "--name", "Lochem", "--slug", "lochem",
       "--inhabitants", "34000"]


def test_municipality_add_onboards_and_audits(app, world, owner_engine):
    before = _counts(app, owner_engine)
    result = _cli(app, *ADD, "--cbs-code", "GM0262")
    assert result.exit_code == 0, result.output
    assert "Lochem (GM0262) onboarded into Achterhoek at /lochem/" in result.output
    assert _counts(app, owner_engine) == (before[0], before[1] + 1, before[2] + 1)


@pytest.mark.parametrize("change,message", [
    (["--cbs-code", "GM262"], "cbs_code: a CBS municipality code is GM followed by 4 digits"),
    (["--cbs-code", "0262"], "cbs_code: a CBS municipality code is GM followed by 4 digits"),
    (["--cbs-code", "GM0197"], "cbs_code: cbs_code 'GM0197' is already used by Aalten"),
    (["--cbs-code", "GM0262", "--slug", "aalten"], "slug: slug 'aalten' is already used by Aalten"),
    (["--cbs-code", "GM0262", "--slug", "login"], "slug: 'login' is reserved"),
    (["--cbs-code", "GM0262", "--slug", "Lo chem"], "slug: use lower-case letters"),
    (["--cbs-code", "GM0262", "--inhabitants", "-1"], "inhabitants: Must be greater than or equal to 0"),
])
def test_municipality_add_refuses_bad_input_and_writes_nothing(app, world, owner_engine, change, message):
    before = _counts(app, owner_engine)
    args = list(ADD)
    for flag, value in zip(change[::2], change[1::2]):
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    result = _cli(app, *args)
    assert result.exit_code == 1
    assert message in result.output
    assert _counts(app, owner_engine) == before


def test_municipality_add_into_an_unknown_consortium(app, world):
    result = _cli(app, "municipality", "add", "--consortium", "veluwe", "--name", "Ede", "--cbs-code", "GM0228",
                  "--slug", "ede", "--inhabitants", "120000")
    assert result.exit_code == 1 and "no consortium with slug 'veluwe'" in result.output


def test_consortium_add_refuses_a_duplicate(app, world, owner_engine):
    before = _counts(app, owner_engine)
    result = _cli(app, "consortium", "add", "Achterhoek", "--slug", "achterhoek")
    assert result.exit_code == 1
    assert "slug: a consortium with slug 'achterhoek' already exists" in result.output
    assert "name: a consortium named 'Achterhoek' already exists" in result.output
    assert _counts(app, owner_engine) == before


def test_shipped_region_files_apply_idempotently(app, owner_engine):
    for path in onboarding.region_files():
        first = _cli(app, "tenants", "apply", str(path))
        assert first.exit_code == 0, first.output
        assert "added" in first.output
    after_first = _counts(app, owner_engine)
    assert after_first[:2] == (2, 11)
    for path in onboarding.region_files():
        again = _cli(app, "tenants", "apply", str(path))
        assert again.exit_code == 0 and "nothing to change" in again.output
    assert _counts(app, owner_engine) == after_first
    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        achterhoek = db.session.scalar(select(Consortium).where(Consortium.slug == "achterhoek"))
        assert [m.name for m in achterhoek.municipalities] == [
            "Aalten", "Berkelland", "Bronckhorst", "Doetinchem", "Oost Gelre", "Oude IJsselstreek", "Winterswijk"]


def test_region_files_carry_the_policy_template_to_every_member(app):
    from core.policy import service

    for path in onboarding.region_files():
        assert _cli(app, "tenants", "apply", str(path)).exit_code == 0
    with app.app_context():
        for slug, rule in (("doetinchem", "eligibility.kopp_kov"), ("druten", "eligibility.no_conditions")):
            municipality = db.session.scalar(select(Municipality).where(Municipality.slug == slug))
            policy = service.current(municipality.id)
            template = service.template(municipality.consortium_id)
            assert policy.version == 1 and rule in policy.plugins and policy.plugins == template.plugins


def test_a_region_file_with_one_bad_row_writes_nothing(app, owner_engine, tmp_path):
    text_ = Path(onboarding.region_files()[0]).read_text().replace('cbs_code = "GM0294"', 'cbs_code = "GM294"')
    bad = tmp_path / "bad.toml"
    bad.write_text(text_)
    result = _cli(app, "tenants", "apply", str(bad))
    assert result.exit_code == 1
    assert "municipality: 6: cbs_code:" in result.output.replace("\n", " ") or "GM followed by 4 digits" in result.output
    assert _counts(app, owner_engine)[:2] == (0, 0)


def test_a_region_file_that_is_not_toml(app, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[consortium\nname=")
    result = _cli(app, "tenants", "apply", str(bad))
    assert result.exit_code == 1 and "is not valid TOML" in result.output


def test_a_region_file_changes_inhabitants_in_place(app, tmp_path):
    path = onboarding.region_files()[1]
    assert _cli(app, "tenants", "apply", str(path)).exit_code == 0
    changed = tmp_path / "nijmegen.toml"
    changed.write_text(path.read_text().replace("inhabitants = 19900", "inhabitants = 20100"))
    result = _cli(app, "tenants", "apply", str(changed))
    assert "Druten: inhabitants 19900 -> 20100" in result.output
    with app.app_context():
        assert db.session.scalar(select(Municipality.inhabitants).where(Municipality.slug == "druten")) == 20100


def test_the_api_onboards_into_the_admins_own_consortium_only(client, world, app):
    body = {"name": "Lochem", "cbs_code": "GM0262", "slug": "lochem", "inhabitants": 34000}
    created = client.post("/api/v1/consortia/achterhoek/municipalities", json=body,
                          headers=world.bearer(R.CONSORTIUM_ADMIN))
    assert created.status_code == 201, created.json
    assert created.json["consortium"] == "achterhoek"
    other = client.post("/api/v1/consortia/nijmegen-regio/municipalities",
                        json={**body, "cbs_code": "GM0263", "slug": "lochem2"},
                        headers=world.bearer(R.CONSORTIUM_ADMIN))
    assert other.status_code == 404
    listed = client.get("/api/v1/consortia/achterhoek/municipalities", headers=world.bearer(R.CONSORTIUM_ADMIN))
    assert [m["slug"] for m in listed.json["items"]] == ["aalten", "berkelland", "lochem"]


def test_the_api_names_each_wrong_field(client, world, app, owner_engine):
    before = _counts(app, owner_engine)
    response = client.post("/api/v1/consortia/achterhoek/municipalities",
                           json={"name": "", "cbs_code": "GM12", "slug": "aalten", "inhabitants": "many"},
                           headers=world.bearer(R.CONSORTIUM_ADMIN))
    assert response.status_code == 422
    assert set(response.json["errors"]["json"]) == {"name", "cbs_code", "inhabitants"}
    duplicate = client.post("/api/v1/consortia/achterhoek/municipalities",
                            json={"name": "X", "cbs_code": "GM0197", "slug": "aalten", "inhabitants": 1},
                            headers=world.bearer(R.CONSORTIUM_ADMIN))
    assert duplicate.status_code == 422
    assert set(duplicate.json["errors"]["json"]) == {"cbs_code", "slug"}
    assert _counts(app, owner_engine)[:2] == before[:2]


# --- suspension ------------------------------------------------------------------------------------

def test_a_suspended_municipality_keeps_its_data_and_says_so(app, client, world, owner_engine):
    assert _cli(app, "municipality", "suspend", "aalten").exit_code == 0
    api = client.get("/api/v1/aalten", headers=world.bearer(R.COORDINATOR))
    assert api.status_code == 403
    assert api.json["error"] == "tenant_suspended"
    assert "suspended" in api.json["message"]
    web = app.test_client()
    world.login(web, world.users[R.COORDINATOR])
    page = web.get("/aalten/")
    assert page.status_code == 403
    assert "De toegang voor deze gemeente is stopgezet" in page.get_data(as_text=True)  # Dutch by default
    # not a member: still 404, suspension reveals nothing
    assert client.get("/api/v1/aalten", headers=world.bearer("druten")).status_code == 404
    with app.app_context(), cross_tenant_scope("platform-maintenance"):
        assert db.session.scalar(select(func.count()).select_from(Municipality).where(Municipality.slug == "aalten")) == 1
    assert _cli(app, "municipality", "activate", "aalten").exit_code == 0
    assert client.get("/api/v1/aalten", headers=world.bearer(R.COORDINATOR)).status_code == 200


def test_the_platform_admin_suspends_through_the_api(client, world):
    response = client.post("/api/v1/platform/municipalities/druten/suspend", headers=world.bearer(R.PLATFORM_ADMIN))
    assert response.status_code == 200 and response.json["status"] == "suspended"
    assert client.get("/api/v1/druten", headers=world.bearer("druten")).status_code == 403


def test_unknown_municipality_slug_is_404(client, world):
    """404 for someone logged in; an anonymous visitor is sent to log in, as for a municipality that exists
    (tests/test_anonymous.py), so that the answer does not tell which exist."""
    assert client.get("/api/v1/atlantis", headers=world.bearer(R.COORDINATOR)).status_code == 404
    assert client.get("/atlantis/").status_code == client.get("/aalten/").status_code == 302


# --- users and tokens from the CLI ------------------------------------------------------------------

def test_create_admin_refuses_a_weak_password(app, owner_engine):
    result = _cli(app, "create-admin", "--email", "ops@koppel.example", "--name", "Ops", "--password", "welkom123456")
    assert result.exit_code == 1 and "password: is too common" in result.output
    ok = _cli(app, "create-admin", "--email", "ops@koppel.example", "--name", "Ops",
              "--password", "lange zin over de Berkel")
    assert ok.exit_code == 0, ok.output
    again = _cli(app, "create-admin", "--email", "OPS@koppel.example", "--name", "Ops",
                 "--password", "lange zin over de Berkel")
    assert again.exit_code == 1 and "already exists" in again.output


def test_token_create_prints_once_and_revoke_stops_it(app, client, world):
    result = _cli(app, "token", "create", "--name", "export", "--role", "tenant_admin", "--municipality", "aalten")
    assert result.exit_code == 0, result.output
    raw = result.output.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/aalten/audit-events", headers=headers).status_code == 200
    revoked = _cli(app, "token", "revoke", raw[:12])
    assert revoked.exit_code == 0, revoked.output
    assert client.get("/api/v1/aalten/audit-events", headers=headers).status_code == 401


def test_token_create_refuses_a_role_outside_its_scope(app, world):
    result = _cli(app, "token", "create", "--name", "x", "--role", "consortium_admin", "--municipality", "aalten")
    assert result.exit_code == 1 and "consortium_admin cannot be given to a token for a municipality" in result.output


def test_no_municipality_can_take_the_first_part_of_a_platform_page():
    """A slug equal to the first part of a page's path (``/login``, ``/funder/``) would hide that municipality
    behind the page, or the page behind it: every such first part is reserved."""
    from tests.conftest import make_app

    app = make_app("sqlite", None, SQLALCHEMY_DATABASE_URI="sqlite://")
    first_parts = {rule.rule.strip("/").split("/")[0] for rule in app.url_map.iter_rules()}
    fixed = {part for part in first_parts if part and "<" not in part}
    assert fixed <= onboarding.RESERVED_SLUGS, sorted(fixed - onboarding.RESERVED_SLUGS)
