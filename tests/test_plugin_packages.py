"""Third-party plugin packages: found like the built-ins, enabled per municipality, unable to take a request down.

Needs the two test packages installed next to Koppel (the README's test command does it):
``tests/example_plugin`` (``example.large_family``) and ``tests/faulty_plugin`` (``faulty.unreliable``).
"""
from __future__ import annotations

import logging
import time
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from marshmallow import Schema, fields

from core.auth import roles as R
from core.auth import tokens
from core.extensions import db
from core.hookspecs import hookimpl
from core.policy import manager, service
from core.policy.plugin import Plugin
from tenants.models import Municipality
from tests.conftest import make_app

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = "example.large_family"
FAULTY = "faulty.unreliable"


def builtin_names() -> set[str]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return set(tomllib.load(f)["project"]["entry-points"]["koppel.plugins"])


# --- found through the entry point group, like the built-ins -------------------------------------------------


def test_example_is_installed_next_to_the_builtins():
    found = manager.installed()
    assert builtin_names() <= set(found)
    assert {EXAMPLE, FAULTY} <= set(found)
    from koppel_example_plugin import LargeFamily

    assert found[EXAMPLE] is LargeFamily
    (entry_point,) = entry_points(group=manager.ENTRY_POINT_GROUP, name=EXAMPLE)
    assert entry_point.value == "koppel_example_plugin.large_family:LargeFamily"
    assert entry_point.dist.name == "koppel-example-plugin"
    # the built-ins come through the same group, from the koppel distribution
    (builtin,) = entry_points(group=manager.ENTRY_POINT_GROUP, name="eligibility.no_conditions")
    assert builtin.dist.name == "koppel"


def test_catalogue_lists_the_example_not_enabled(app, world, client):
    response = client.get("/api/v1/aalten/policy", headers=world.bearer("tenant_admin"))
    assert response.status_code == 200, response.get_data(as_text=True)
    entry = next(p for p in response.get_json()["catalogue"] if p["name"] == EXAMPLE)
    assert entry == {"name": EXAMPLE, "kind": "eligibility", "version": "1.0.0", "enabled": False, "config": None,
                     "default_config": {"min_children": 3},
                     "title": {"nl": "Groot gezin", "en": "Large family"}, "description": entry["description"]}
    assert set(entry["description"]) == {"nl", "en"}


# --- enabled in one municipality only ------------------------------------------------------------------------


def _coordinator_token(app, slug: str) -> dict:
    with app.app_context():
        municipality = db.session.scalar(db.select(Municipality).where(Municipality.slug == slug))
        raw, _ = tokens.create(f"{slug} coordinator", [R.COORDINATOR], municipality=municipality)
        db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def _decide(client, slug: str, family_id: int, headers: dict) -> dict:
    response = client.post(f"/api/v1/{slug}/families/{family_id}/eligibility-decision", headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def test_enabled_in_aalten_not_in_berkelland(app, world, client):
    response = client.put("/api/v1/aalten/policy", headers=world.bearer("tenant_admin"),
                          json={"plugins": {EXAMPLE: {}}, "note": "large families first"})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["plugin_versions"] == {EXAMPLE: "1.0.0"}
    with app.app_context():
        service.change(world.ids["berkelland"], {"eligibility.no_conditions": {}})
        db.session.commit()

    # the same facts: populate() records a requesting family with three children in both municipalities
    aalten = _decide(client, "aalten", world.records["aalten"]["family"], world.bearer("coordinator"))
    berkelland = _decide(client, "berkelland", world.records["berkelland"]["family"],
                         _coordinator_token(app, "berkelland"))

    assert aalten["outcome"] == "eligible" and aalten["policy_version"] == 1
    (finding,) = aalten["findings"]
    assert finding["plugin"] == finding["rule"] == EXAMPLE
    assert (finding["result"], finding["effect"], finding["plugin_version"]) == ("met", "include", "1.0.0")
    assert finding["facts"] == {"children": 3, "min_children": 3}

    assert berkelland["outcome"] == "eligible"
    assert [f["plugin"] for f in berkelland["findings"]] == ["eligibility.no_conditions"]

    # reconfigured: a new version, and the next decision stores it
    response = client.put("/api/v1/aalten/policy", headers=world.bearer("tenant_admin"),
                          json={"plugins": {EXAMPLE: {"min_children": 4}}})
    assert response.status_code == 201
    assert response.get_json()["change"]["reconfigured"] == {EXAMPLE: {"min_children": [3, 4]}}
    again = _decide(client, "aalten", world.records["aalten"]["family"], world.bearer("coordinator"))
    assert again["outcome"] == "not_eligible" and again["policy_version"] == 2
    assert again["findings"][0]["facts"] == {"children": 3, "min_children": 4}


def test_the_example_explains_its_decision_in_the_readers_language(app, world, client):
    """The package ships its own Dutch (koppel_example_plugin/translations); the decision reads in either language."""
    with app.app_context():
        service.change(world.ids["aalten"], {EXAMPLE: {}})
        db.session.commit()
    family, coordinator = world.records["aalten"]["family"], world.bearer("coordinator")
    (dutch,) = _decide(client, "aalten", family, coordinator)["findings"]
    assert dutch["explanation"] == "Er zijn 3 kinderen vastgelegd; dat is genoeg (het minimum is 3)."
    (english,) = _decide(client, "aalten", family, {**coordinator, "Accept-Language": "en"})["findings"]
    assert english["explanation"] == "3 children are recorded, which is enough (the minimum is 3)."


def test_bad_configuration_is_refused_and_the_policy_stays(app, world, client):
    response = client.put("/api/v1/aalten/policy", headers=world.bearer("tenant_admin"),
                          json={"plugins": {EXAMPLE: {"min_children": 0}}})
    assert response.status_code == 422
    assert "min_children" in response.get_data(as_text=True)
    body = client.get("/api/v1/aalten/policy", headers=world.bearer("tenant_admin")).get_json()
    assert (body["version"], body["plugins"]) == (0, {})


# --- robustness ----------------------------------------------------------------------------------------------


def _error_finding(decision: dict) -> dict:
    errors = [f for f in decision["findings"] if f["result"] == "error"]
    assert len(errors) == 1, decision["findings"]
    return errors[0]


def _logged(caplog, fragment: str) -> logging.LogRecord:
    records = [r for r in caplog.records if r.name == "koppel.plugins" and r.levelno >= logging.ERROR
               and getattr(r, "plugin", None) == FAULTY]
    assert records, [r.getMessage() for r in caplog.records]
    record = records[-1]
    assert record.plugin_version == "0.1.0"
    assert FAULTY in record.getMessage() and "0.1.0" in record.getMessage() and fragment in record.getMessage()
    return record


def test_a_plugin_that_raises_gives_an_error_finding(app, world, client, caplog):
    with app.app_context():
        service.change(world.ids["aalten"], {FAULTY: {"mode": "raise"}, EXAMPLE: {}})
        db.session.commit()
    caplog.set_level(logging.ERROR, logger="koppel.plugins")

    decision = _decide(client, "aalten", world.records["aalten"]["family"], world.bearer("coordinator"))

    assert decision["outcome"] == "needs_coordinator"
    error = _error_finding(decision)
    assert (error["plugin"], error["rule"], error["plugin_version"]) == (FAULTY, FAULTY, "0.1.0")
    assert "RuntimeError" in error["explanation"] and "told to raise" in error["explanation"]
    # the other plugin still ran
    assert [(f["plugin"], f["result"]) for f in decision["findings"] if f["result"] != "error"] == [(EXAMPLE, "met")]
    record = _logged(caplog, "failed")
    assert record.exc_info and record.exc_info[0] is RuntimeError


def test_a_plugin_that_hangs_times_out(app, world, backend, tmp_path_factory, caplog):
    slow = make_app(backend, tmp_path_factory, PLUGIN_TIMEOUT_SECONDS=0.2,
                    SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                    MIGRATION_DATABASE_URL=app.config["MIGRATION_DATABASE_URL"])
    with slow.app_context():
        service.change(world.ids["aalten"], {FAULTY: {"mode": "sleep", "seconds": 2}, EXAMPLE: {}})
        db.session.commit()
    caplog.set_level(logging.ERROR, logger="koppel.plugins")
    try:
        started = time.monotonic()
        decision = _decide(slow.test_client(), "aalten", world.records["aalten"]["family"],
                           world.bearer("coordinator"))
        elapsed = time.monotonic() - started
    finally:
        with slow.app_context():
            db.engine.dispose()

    assert elapsed < 1.5, f"the request waited {elapsed:.2f} s for a plugin limited to 0.2 s"
    assert decision["outcome"] == "needs_coordinator"
    found = {f["plugin"]: f for f in decision["findings"]}
    assert (found[FAULTY]["result"], found[FAULTY]["plugin_version"]) == ("error", "0.1.0")
    assert "timed out after 0.2 s" in found[FAULTY]["explanation"]
    # the plugins of a hook run one after another in one worker; those after the hung one are not run
    assert found[EXAMPLE]["result"] == "met" or (
        found[EXAMPLE]["result"] == "error" and f"not run: {FAULTY} timed out before it" in found[EXAMPLE]["explanation"])
    _logged(caplog, "timed out")


def test_the_same_plugin_answering_in_time_counts(app, world, client):
    with app.app_context():
        service.change(world.ids["aalten"], {FAULTY: {"mode": "ok"}})
        db.session.commit()
    decision = _decide(client, "aalten", world.records["aalten"]["family"], world.bearer("coordinator"))
    assert decision["outcome"] == "eligible"
    assert [(f["plugin"], f["result"]) for f in decision["findings"]] == [(FAULTY, "met")]


# --- a hook method that matches no specification -------------------------------------------------------------


class _Throwaway(Plugin):
    name = "test.throwaway"
    kind = "eligibility"
    version = "0.0.1"
    title = {"nl": "Weggooien", "en": "Throwaway"}
    description = {"nl": "Alleen voor een test.", "en": "For a test only."}

    class Config(Schema):
        min_children = fields.Integer(load_default=3)


def test_a_misspelled_hook_is_refused():
    class Misspelled(_Throwaway):
        @hookimpl
        def koppel_eligibilty(self, family, today):  # sic: "eligibilty"
            return None

    class Spelled(_Throwaway):
        @hookimpl
        def koppel_eligibility(self, family, today):
            return None

    assert Misspelled.contract_problems() == []  # the contract is met; the hook is what is wrong
    with pytest.raises(manager.PluginError, match="koppel_eligibilty"):
        manager.build_manager({"test.throwaway": {}}, classes={"test.throwaway": Misspelled})
    built = manager.build_manager({"test.throwaway": {}}, classes={"test.throwaway": Spelled})
    assert [impl.plugin_name for impl in built.hook.koppel_eligibility.get_hookimpls()] == ["test.throwaway"]
