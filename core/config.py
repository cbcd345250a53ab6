"""Configuration from environment variables.

Every setting has a documented default so that the demo runs with nothing
configured. The README lists them all.
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

#: The secret shipped for development; refused outside development/testing.
DEV_SECRET_KEY = "dev-only-not-secret"

ENVIRONMENTS = ("production", "development", "testing")


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says which setting."""


def _default_database_url(instance_path: str) -> str:
    return "sqlite:///" + str(Path(instance_path) / "koppel.sqlite3")


def _fallback_secret(koppel_env: str, instance_path: str) -> str | None:
    """No SECRET_KEY set: none in production, a fixed one for tests, and in
    development a random one kept in the instance folder (sessions survive restarts)."""
    if koppel_env == "production":
        return None
    if koppel_env == "testing":
        return DEV_SECRET_KEY
    path = Path(instance_path) / "dev-secret-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def load(instance_path: str, overrides: dict | None = None) -> dict:
    """Build the configuration mapping from the environment and *overrides*."""
    env = os.environ
    overrides = dict(overrides or {})
    koppel_env = overrides.get("KOPPEL_ENV", env.get("KOPPEL_ENV", "production"))
    if koppel_env not in ENVIRONMENTS:
        raise ConfigError(f"KOPPEL_ENV must be one of {', '.join(ENVIRONMENTS)}, not {koppel_env!r}")
    database_url = env.get("DATABASE_URL") or _default_database_url(instance_path)
    config = {
        "KOPPEL_ENV": koppel_env,
        "TESTING": koppel_env == "testing",
        "SECRET_KEY": env.get("SECRET_KEY") or _fallback_secret(koppel_env, instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # Migrations run as the role that owns the tables; the app does not.
        "MIGRATION_DATABASE_URL": env.get("MIGRATION_DATABASE_URL") or database_url,
        "DATABASE_APP_ROLE": env.get("DATABASE_APP_ROLE", "koppel_app"),
        # Pooled connections are pinged at checkout only after this long idle (core/pool.py).
        "DATABASE_PING_IDLE_SECONDS": _seconds(env, "DATABASE_PING_IDLE_SECONDS", "10"),
        "REDIS_URL": env.get("REDIS_URL") or None,
        "RATELIMIT_STORAGE_URI": env.get("REDIS_URL") or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Public registration: per client IP, and per municipality (against floods from many addresses).
        "REGISTRATION_LIMIT_PER_IP": env.get("REGISTRATION_LIMIT_PER_IP", "10 per hour"),
        "REGISTRATION_LIMIT_PER_MUNICIPALITY": env.get("REGISTRATION_LIMIT_PER_MUNICIPALITY", "200 per day"),
        "BABEL_DEFAULT_LOCALE": "nl",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Amsterdam",
        "LANGUAGES": ("nl", "en"),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        # Sessions: idle and absolute timeouts; cookies only over HTTPS in production.
        "SESSION_IDLE_TIMEOUT": timedelta(minutes=int(env.get("SESSION_IDLE_MINUTES", "30"))),
        "SESSION_ABSOLUTE_TIMEOUT": timedelta(hours=int(env.get("SESSION_ABSOLUTE_HOURS", "12"))),
        "SESSION_COOKIE_NAME": "koppel_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": koppel_env == "production",
        "REMEMBER_COOKIE_DURATION": timedelta(seconds=0),
        # Login throttling: this many failures within the window lock the account for the window.
        "LOGIN_MAX_FAILURES": 10,
        "LOGIN_FAILURE_WINDOW": timedelta(minutes=15),
        "API_TOKEN_DEFAULT_DAYS": int(env.get("API_TOKEN_DEFAULT_DAYS", "90")),
        "AUTH_CACHE_SECONDS": _seconds(env, "AUTH_CACHE_SECONDS", "10"),
        # A policy plugin's hook call that takes longer counts as failed (the decision needs a coordinator).
        "PLUGIN_TIMEOUT_SECONDS": _seconds(env, "PLUGIN_TIMEOUT_SECONDS", "2"),
        # flask-smorest / OpenAPI
        "API_TITLE": "Koppel API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",  # the Swagger UI we ship (4.15) reads 3.0
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "WTF_CSRF_TIME_LIMIT": None,
        "JSON_SORT_KEYS": False,
    }
    config.update(overrides)
    if "SQLALCHEMY_DATABASE_URI" in overrides and "MIGRATION_DATABASE_URL" not in overrides:
        config["MIGRATION_DATABASE_URL"] = overrides["SQLALCHEMY_DATABASE_URI"]
    _check(config)
    return config


def _seconds(env, name: str, default: str) -> float:
    value = env.get(name, default)
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise ConfigError(f"{name} must be a number of seconds (0 or more), not {value!r}")
    return seconds


def _check(config: dict) -> None:
    if config["KOPPEL_ENV"] == "production" and config.get("SECRET_KEY") in (None, "", DEV_SECRET_KEY):
        raise ConfigError(
            "SECRET_KEY is missing or is the development default; set SECRET_KEY "
            "(or KOPPEL_ENV=development for a local run)"
        )
