"""Configuration: the app refuses to start in production without a real secret."""
import pytest

from core import create_app
from core.config import DEV_SECRET_KEY, ConfigError


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name in ("SECRET_KEY", "DATABASE_URL", "KOPPEL_ENV", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/c.sqlite3")
    return monkeypatch


def test_production_without_a_secret_refuses_to_start(env):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_production_with_the_development_secret_refuses_to_start(env):
    env.setenv("SECRET_KEY", DEV_SECRET_KEY)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_production_with_a_secret_starts_with_secure_cookies(env):
    env.setenv("SECRET_KEY", "a-long-random-production-secret")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["KOPPEL_ENV"] == "production"


def test_development_makes_and_keeps_a_random_secret(env):
    env.setenv("KOPPEL_ENV", "development")
    first = create_app().config["SECRET_KEY"]
    assert first not in (None, DEV_SECRET_KEY) and len(first) > 40
    assert create_app().config["SECRET_KEY"] == first


def test_an_unknown_environment_is_named(env):
    env.setenv("KOPPEL_ENV", "staging")
    with pytest.raises(ConfigError, match="KOPPEL_ENV must be one of"):
        create_app()


def test_the_default_database_is_sqlite_in_the_instance_folder(env):
    env.delenv("DATABASE_URL")
    env.setenv("KOPPEL_ENV", "testing")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{app.instance_path}/koppel.sqlite3"
    assert app.config["MIGRATION_DATABASE_URL"] == app.config["SQLALCHEMY_DATABASE_URI"]
    assert app.config["BABEL_DEFAULT_TIMEZONE"] == "Europe/Amsterdam"

@pytest.mark.parametrize("name", ["DATABASE_PING_IDLE_SECONDS", "AUTH_CACHE_SECONDS", "PLUGIN_TIMEOUT_SECONDS"])
@pytest.mark.parametrize("value", ["ten", "-1", "nan"])
def test_a_bad_number_of_seconds_is_named(env, name, value):
    env.setenv("KOPPEL_ENV", "development")
    env.setenv(name, value)
    with pytest.raises(ConfigError, match=f"{name} must be a number of seconds"):
        create_app()


def test_seconds_from_the_environment(env):
    env.setenv("KOPPEL_ENV", "development")
    env.setenv("DATABASE_PING_IDLE_SECONDS", "2.5")
    assert create_app().config["DATABASE_PING_IDLE_SECONDS"] == 2.5
