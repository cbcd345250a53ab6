"""Configuration: every setting the README lists is read and checked, a bad value is refused with its
name, and the app refuses to start in production without a real secret."""
import os
import re
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from werkzeug.middleware.proxy_fix import ProxyFix

from core import config as config_module
from core import create_app
from core.config import DEV_SECRET_KEY, SETTINGS, ConfigError
from core.extensions import db

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name in SETTINGS:
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
    env.setenv("FIELD_ENCRYPTION_KEYS", "prod1:" + "A" * 43 + "=")  # a 32-byte key
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


# --- the README's table and what config.py reads ---------------------------------------------------------

def _readme_settings() -> list[str]:
    """The variables of the table under "## Configuration" in the README."""
    section = README.read_text(encoding="utf-8").split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([A-Z_]+)` \|", section, flags=re.MULTILINE)


def test_the_readme_documents_exactly_the_settings_that_are_read():
    documented = _readme_settings()
    assert len(documented) == len(set(documented)), "a setting is listed twice"
    assert set(documented) - set(SETTINGS) == set(), "documented but never read"
    assert set(SETTINGS) - set(documented) == set(), "read but not in the README's table"


class _Recording(dict):
    """os.environ's values, remembering every name asked for."""

    def __init__(self, values):
        super().__init__(values)
        self.asked = set()

    def get(self, name, default=None):
        self.asked.add(name)
        return super().get(name, default)

    def __getitem__(self, name):
        self.asked.add(name)
        return super().__getitem__(name)

    def __contains__(self, name):
        self.asked.add(name)
        return super().__contains__(name)


def test_settings_names_every_variable_the_configuration_reads(env, tmp_path):
    env.setenv("KOPPEL_ENV", "testing")
    recording = _Recording(os.environ)
    env.setattr(os, "environ", recording)
    config_module.load(str(tmp_path))
    asked = set(recording.asked)
    env.undo()
    assert asked == set(SETTINGS)


# --- a bad value is refused, named -------------------------------------------------------------------------

BAD_VALUES = [
    ("SESSION_IDLE_MINUTES", "abc", "SESSION_IDLE_MINUTES must be a whole number of minutes (1 or more), not 'abc'"),
    ("SESSION_IDLE_MINUTES", "0", "SESSION_IDLE_MINUTES must be a whole number of minutes"),
    ("SESSION_IDLE_MINUTES", "1.5", "SESSION_IDLE_MINUTES must be a whole number of minutes"),
    ("SESSION_ABSOLUTE_HOURS", "twelve", "SESSION_ABSOLUTE_HOURS must be a whole number of hours (1 or more)"),
    ("API_TOKEN_DEFAULT_DAYS", "x", "API_TOKEN_DEFAULT_DAYS must be a whole number of days (1 to 366)"),
    ("API_TOKEN_DEFAULT_DAYS", "400", "API_TOKEN_DEFAULT_DAYS must be a whole number of days (1 to 366)"),
    ("PROXY_FIX_X_FOR", "-1", "PROXY_FIX_X_FOR must be a whole number of proxies (0 or more), not '-1'"),
    ("PROXY_FIX_X_FOR", "yes", "PROXY_FIX_X_FOR must be a whole number of proxies"),
    ("REQUEST_MAX_BYTES", "1MB", "REQUEST_MAX_BYTES must be a whole number of bytes (1 or more), not '1MB'"),
    ("REQUEST_MAX_BYTES", "0", "REQUEST_MAX_BYTES must be a whole number of bytes"),
    ("IMPORT_MAX_BYTES", "10 MiB", "IMPORT_MAX_BYTES must be a whole number of bytes"),
    ("DATABASE_PING_IDLE_SECONDS", "ten", "DATABASE_PING_IDLE_SECONDS must be a number of seconds (0 or more)"),
    ("AUTH_CACHE_SECONDS", "-1", "AUTH_CACHE_SECONDS must be a number of seconds"),
    ("PLUGIN_TIMEOUT_SECONDS", "nan", "PLUGIN_TIMEOUT_SECONDS must be a number of seconds"),
    ("PLUGIN_TIMEOUT_SECONDS", "inf", "PLUGIN_TIMEOUT_SECONDS must be a number of seconds"),
    ("KOPPEL_ENV", "staging", "KOPPEL_ENV must be one of production, development, testing, not 'staging'"),
    ("DATABASE_URL", "not a url", "DATABASE_URL is not a database URL"),
    ("DATABASE_URL", "nosuchdb://host/x", "DATABASE_URL is not a database URL"),
    ("MIGRATION_DATABASE_URL", "://", "MIGRATION_DATABASE_URL is not a database URL"),
    ("DATABASE_APP_ROLE", 'app"; DROP TABLE x; --', "DATABASE_APP_ROLE must be a PostgreSQL role name"),
    ("CROSS_TENANT_DATABASE_URL", "://", "CROSS_TENANT_DATABASE_URL is not a database URL"),
    ("DATABASE_CROSS_ROLE", "cross role", "DATABASE_CROSS_ROLE must be a PostgreSQL role name"),
    ("REDIS_URL", "localhost:6379", "REDIS_URL must start with redis://"),
    ("LOG_LEVEL", "LOUD", "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, not 'LOUD'"),
    ("LOG_FORMAT", "xml", "LOG_FORMAT must be one of json, text"),
    ("REGISTRATION_LIMIT_PER_IP", "many", "REGISTRATION_LIMIT_PER_IP must be a rate limit"),
    ("LOGIN_LIMIT_PER_IP", "lots", "LOGIN_LIMIT_PER_IP must be a rate limit"),
    ("LOGIN_LIMIT_PER_ACCOUNT_IP", "5 a minute", "LOGIN_LIMIT_PER_ACCOUNT_IP must be a rate limit"),
    ("LOGIN_LIMIT_PER_ACCOUNT", "20 each hour", "LOGIN_LIMIT_PER_ACCOUNT must be a rate limit"),
    ("REAUTH_MINUTES", "0", "REAUTH_MINUTES must be a whole number of minutes (1 or more)"),
    ("REGISTRATION_MAX_UNCONFIRMED", "0", "REGISTRATION_MAX_UNCONFIRMED must be a whole number of registrations (1 or more)"),
    ("REGISTRATION_CONFIRM_HOURS", "1000", "REGISTRATION_CONFIRM_HOURS must be a whole number of hours (1 to 720)"),
    ("SMTP_URL", "mail.example:25", "SMTP_URL must start with smtp://"),
    ("MAIL_FROM", "Koppel", "MAIL_FROM must be an e-mail address"),
    ("SCHEDULER_REQUEUE_SECONDS", "0", "SCHEDULER_REQUEUE_SECONDS must be a whole number of seconds (1 or more)"),
    ("BROKER_VISIBILITY_SECONDS", "60", "BROKER_VISIBILITY_SECONDS must be a whole number of seconds (300 or more)"),
    ("PUBLIC_URL", "koppel.example.org", "PUBLIC_URL must be an https:// (or http://) address"),
    ("WEBHOOK_CA_FILE", "/nonexistent/ca.pem", "WEBHOOK_CA_FILE must be a readable file of PEM certificates"),
    ("WEBHOOK_PRIVATE_NETWORKS", "10.0.0.0/33", "WEBHOOK_PRIVATE_NETWORKS must be IP networks separated by commas"),
    ("WEBHOOK_TIMEOUT_SECONDS", "0", "WEBHOOK_TIMEOUT_SECONDS must be a number of seconds (1 or more)"),
    ("FIELD_ENCRYPTION_KEYS", "2026a:c2hvcnQ=", "FIELD_ENCRYPTION_KEYS must be distinct <id>:<base64 of 32 bytes>"),
    ("AUDIT_CHAIN_KEY", "short", "AUDIT_CHAIN_KEY must be at least 32 characters long"),
]


@pytest.mark.parametrize("name, value, message", BAD_VALUES, ids=[f"{n}={v}" for n, v, _ in BAD_VALUES])
def test_a_bad_value_is_refused_with_its_name(env, name, value, message):
    env.setenv("KOPPEL_ENV", "development")
    env.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        create_app()
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)
    assert str(refused.value).startswith(name)  # Dutch first, English after " / ", both naming it


def test_every_setting_has_a_bad_value_in_the_tests():
    refused = {name for name, _, _ in BAD_VALUES} | {"SECRET_KEY"}  # SECRET_KEY: the production tests above
    assert refused == set(SETTINGS)


def test_a_secret_key_error_is_dutch_first_then_english(env):
    with pytest.raises(ConfigError) as refused:
        create_app()
    assert refused.value.dutch.startswith("SECRET_KEY ontbreekt")
    assert str(refused.value) == f"{refused.value.dutch} / {refused.value.english}"


def test_defaults(env):
    env.setenv("KOPPEL_ENV", "development")
    app = create_app()
    assert app.config["PROXY_FIX_X_FOR"] is None and not isinstance(app.wsgi_app, ProxyFix)
    assert app.config["MAX_CONTENT_LENGTH"] == app.config["REQUEST_MAX_BYTES"] == 1024 * 1024
    assert app.config["IMPORT_MAX_BYTES"] == 10 * 1024 * 1024
    assert app.config["API_TOKEN_DEFAULT_DAYS"] == 90
    assert app.config["SESSION_IDLE_TIMEOUT"].total_seconds() == 30 * 60
    assert app.config["LOG_FORMAT"] == "text" and app.config["LOG_LEVEL"] == "INFO"


def test_values_from_the_environment(env):
    env.setenv("KOPPEL_ENV", "development")
    for name, value in {"PROXY_FIX_X_FOR": "2", "REQUEST_MAX_BYTES": "2048", "IMPORT_MAX_BYTES": "4096",
                        "SESSION_IDLE_MINUTES": " 45 ", "SESSION_ABSOLUTE_HOURS": "8", "API_TOKEN_DEFAULT_DAYS": "30",
                        "LOG_LEVEL": "debug", "REDIS_URL": "", "REGISTRATION_LIMIT_PER_IP": "5/minute"}.items():
        env.setenv(name, value)
    app = create_app()
    assert app.config["PROXY_FIX_X_FOR"] == 2 and isinstance(app.wsgi_app, ProxyFix) and app.wsgi_app.x_for == 2
    assert app.config["MAX_CONTENT_LENGTH"] == app.config["REQUEST_MAX_BYTES"] == 2048
    assert app.config["IMPORT_MAX_BYTES"] == 4096
    assert app.config["SESSION_IDLE_TIMEOUT"].total_seconds() == 45 * 60
    assert app.config["SESSION_ABSOLUTE_TIMEOUT"].total_seconds() == 8 * 3600
    assert app.config["API_TOKEN_DEFAULT_DAYS"] == 30 and app.config["LOG_LEVEL"] == "DEBUG"
    assert app.config["REDIS_URL"] is None and app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert app.config["REGISTRATION_LIMIT_PER_IP"] == "5/minute"


def test_a_request_larger_than_request_max_bytes_is_refused(env):
    env.setenv("KOPPEL_ENV", "development")
    env.setenv("REQUEST_MAX_BYTES", "100")
    response = create_app().test_client().post("/login", data={"email": "x" * 200})
    assert response.status_code == 413


# --- no statement parameters in logs or errors --------------------------------------------------------------

@pytest.mark.parametrize("overrides", [{}, {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True}}])
def test_statement_parameters_are_hidden_in_every_environment(env, overrides):
    for koppel_env in ("development", "testing"):
        app = create_app({"KOPPEL_ENV": koppel_env, **overrides})
        assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True
        with app.app_context():
            with pytest.raises(DBAPIError) as failed:
                db.session.execute(text("SELECT no_such_column FROM no_such_table WHERE x = :name"),
                                   {"name": "Jansen-de Vries"})
            db.session.rollback()
        assert "Jansen" not in str(failed.value) and "hidden due to hide_parameters" in str(failed.value)
    env.setenv("SECRET_KEY", "a-long-random-production-secret")
    env.setenv("FIELD_ENCRYPTION_KEYS", "prod1:" + "A" * 43 + "=")  # a 32-byte key
    assert create_app(overrides).config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True
