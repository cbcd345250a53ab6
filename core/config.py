"""Configuration from environment variables.

Every setting has a documented default so that the demo runs with nothing
configured. :data:`SETTINGS` names every variable read here; the README's
configuration table lists exactly these (``tests/test_config.py`` checks).
A value that cannot be used is refused with a :class:`ConfigError` that
names the setting, in one line.
"""
from __future__ import annotations

import hashlib
import math
import os
import re
import secrets
import ipaddress
import ssl
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

from limits import parse_many
from sqlalchemy.engine import make_url

#: The secret shipped for development; refused outside development/testing.
DEV_SECRET_KEY = "dev-only-not-secret"

ENVIRONMENTS = ("production", "development", "testing")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

MIB = 1024 * 1024

#: Every environment variable this configuration reads (``LOG_FORMAT`` through :func:`core.logs.default_format`).
SETTINGS = (
    "KOPPEL_ENV", "SECRET_KEY", "DATABASE_URL", "MIGRATION_DATABASE_URL", "DATABASE_APP_ROLE", "REDIS_URL",
    "CROSS_TENANT_DATABASE_URL", "DATABASE_CROSS_ROLE",
    "FIELD_ENCRYPTION_KEYS",
    "LOG_LEVEL", "LOG_FORMAT", "SESSION_IDLE_MINUTES", "SESSION_ABSOLUTE_HOURS", "API_TOKEN_DEFAULT_DAYS",
    "PLUGIN_TIMEOUT_SECONDS", "AUTH_CACHE_SECONDS", "DATABASE_PING_IDLE_SECONDS", "PROXY_FIX_X_FOR",
    "REQUEST_MAX_BYTES", "IMPORT_MAX_BYTES", "REGISTRATION_LIMIT_PER_IP", "REGISTRATION_MAX_UNCONFIRMED",
    "REGISTRATION_CONFIRM_HOURS",
    "SMTP_URL", "MAIL_FROM", "SCHEDULER_REQUEUE_SECONDS", "BROKER_VISIBILITY_SECONDS",
    "PUBLIC_URL", "WEBHOOK_CA_FILE", "WEBHOOK_TIMEOUT_SECONDS", "WEBHOOK_PRIVATE_NETWORKS",
    "LOGIN_LIMIT_PER_IP", "LOGIN_LIMIT_PER_ACCOUNT_IP", "LOGIN_LIMIT_PER_ACCOUNT", "REAUTH_MINUTES",
    "AUDIT_CHAIN_KEY",
)

#: Engine options in every environment: no statement parameters (personal data) in a log line or an error.
ENGINE_OPTIONS = {"hide_parameters": True}


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message names the setting (Dutch first when given)."""

    def __init__(self, english: str, dutch: str | None = None):
        self.english, self.dutch = english, dutch
        super().__init__(f"{dutch} / {english}" if dutch else english)


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
    from core import logs  # it imports ConfigError from here

    env = os.environ
    overrides = dict(overrides or {})
    koppel_env = overrides.get("KOPPEL_ENV", env.get("KOPPEL_ENV", "production"))
    if koppel_env not in ENVIRONMENTS:
        raise ConfigError(f"KOPPEL_ENV must be one of {', '.join(ENVIRONMENTS)}, not {koppel_env!r}",
                          f"KOPPEL_ENV moet een van {', '.join(ENVIRONMENTS)} zijn, niet {koppel_env!r}")
    database_url = _database_url(env, "DATABASE_URL", _default_database_url(instance_path))
    redis_url = _redis_url(env)
    proxies = _number(env, "PROXY_FIX_X_FOR", "0", ("proxies", "proxy's"))
    request_max_bytes = _number(env, "REQUEST_MAX_BYTES", str(MIB), ("bytes", "bytes"), minimum=1)
    config = {
        "KOPPEL_ENV": koppel_env,
        "TESTING": koppel_env == "testing",
        "SECRET_KEY": env.get("SECRET_KEY") or _fallback_secret(koppel_env, instance_path),
        # Key-encryption keys of the special-category fields (core/crypto/kek.py): required in production.
        "FIELD_ENCRYPTION_KEYS": _value(env, "FIELD_ENCRYPTION_KEYS", ""),
        # keys the audit log's hash chain (core/audit.py); unset, a key derived from SECRET_KEY
        "AUDIT_CHAIN_KEY": _audit_chain_key(env),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": dict(ENGINE_OPTIONS),
        # Migrations run as the role that owns the tables; the app does not.
        "MIGRATION_DATABASE_URL": _database_url(env, "MIGRATION_DATABASE_URL", database_url),
        "DATABASE_APP_ROLE": _role(env),
        # Cross-tenant scopes (scheduler, consortium aggregation, platform maintenance) as a role of their own.
        "CROSS_TENANT_DATABASE_URL": (_database_url(env, "CROSS_TENANT_DATABASE_URL", "")
                                      if _value(env, "CROSS_TENANT_DATABASE_URL", "") else None),
        "DATABASE_CROSS_ROLE": _role(env, "DATABASE_CROSS_ROLE", "koppel_cross"),
        # Pooled connections are pinged at checkout only after this long idle (core/pool.py).
        "DATABASE_PING_IDLE_SECONDS": _seconds(env, "DATABASE_PING_IDLE_SECONDS", "10"),
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Public registration: per client IP; then confirmed by a mailed link within REGISTRATION_CONFIRM_HOURS, and
        # at most REGISTRATION_MAX_UNCONFIRMED waiting per municipality (the oldest go first: a flood from many
        # addresses cannot fill the queue nor lock out a family).
        "REGISTRATION_LIMIT_PER_IP": _rate_limit(env, "REGISTRATION_LIMIT_PER_IP", "10 per hour"),
        "REGISTRATION_MAX_UNCONFIRMED": _number(env, "REGISTRATION_MAX_UNCONFIRMED", "500",
                                                ("registrations", "aanmeldingen"), minimum=1),
        "REGISTRATION_CONFIRM_HOURS": _number(env, "REGISTRATION_CONFIRM_HOURS", "72", ("hours", "uren"),
                                              minimum=1, maximum=720),
        # Strict-Transport-Security in production (served over HTTPS); none in development (plain http).
        "HSTS": "max-age=31536000; includeSubDomains" if koppel_env == "production" else None,
        # Trusted proxies in front (core/app.py wraps the app in ProxyFix); None: no proxy.
        "PROXY_FIX_X_FOR": proxies or None,
        # The largest request body (Flask's MAX_CONTENT_LENGTH); the import allows IMPORT_MAX_BYTES.
        "REQUEST_MAX_BYTES": request_max_bytes,
        "MAX_CONTENT_LENGTH": request_max_bytes,
        "IMPORT_MAX_BYTES": _number(env, "IMPORT_MAX_BYTES", str(10 * MIB), ("bytes", "bytes"), minimum=1),
        # Scheduled work (tasks/): Redis when REDIS_URL is set, else kombu's SQLAlchemy transport on SQLite.
        "CELERY_BROKER_URL": redis_url or _sqlite_broker(instance_path, database_url),
        # With Redis, a task taken by a worker that died comes back after this long (no ETA may be longer).
        "BROKER_VISIBILITY_SECONDS": _number(env, "BROKER_VISIBILITY_SECONDS", "3600", ("seconds", "seconden"),
                                             minimum=300),
        # A pending item enqueued this long ago and not done is enqueued again (a lost message, a dead worker).
        "SCHEDULER_REQUEUE_SECONDS": _number(env, "SCHEDULER_REQUEUE_SECONDS", "300", ("seconds", "seconden"),
                                             minimum=1),
        # Mail: an SMTP server, or (unset) .eml files in instance/mail for a local run.
        "SMTP_URL": _smtp_url(env),
        "MAIL_FROM": _mail_from(env),
        "MAIL_DIRECTORY": str(Path(instance_path) / "mail"),
        # Funder exports (core/exports): the address in links sent by mail; the webhook's extra CA and timeout.
        "PUBLIC_URL": _public_url(env),
        "WEBHOOK_CA_FILE": _ca_file(env),
        "WEBHOOK_PRIVATE_NETWORKS": _networks(env, "WEBHOOK_PRIVATE_NETWORKS"),
        "WEBHOOK_TIMEOUT_SECONDS": _number(env, "WEBHOOK_TIMEOUT_SECONDS", "30", ("seconds", "seconden"), minimum=1,
                                           whole=False),
        "BABEL_DEFAULT_LOCALE": "nl",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Amsterdam",
        "LANGUAGES": ("nl", "en"),
        "LOG_LEVEL": _log_level(env),
        "LOG_FORMAT": logs.default_format(koppel_env),
        # Sessions: idle and absolute timeouts; cookies only over HTTPS in production.
        "SESSION_IDLE_TIMEOUT": timedelta(
            minutes=_number(env, "SESSION_IDLE_MINUTES", "30", ("minutes", "minuten"), minimum=1)),
        "SESSION_ABSOLUTE_TIMEOUT": timedelta(
            hours=_number(env, "SESSION_ABSOLUTE_HOURS", "12", ("hours", "uren"), minimum=1)),
        "SESSION_COOKIE_NAME": "koppel_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": koppel_env == "production",
        "REMEMBER_COOKIE_DURATION": timedelta(seconds=0),
        # Login throttling (core/auth/login.py): failed attempts per client IP, per account from one IP, and per
        # account from IPs the user never logged in from.
        "LOGIN_LIMIT_PER_IP": _rate_limit(env, "LOGIN_LIMIT_PER_IP", "30 per 15 minutes"),
        "LOGIN_LIMIT_PER_ACCOUNT_IP": _rate_limit(env, "LOGIN_LIMIT_PER_ACCOUNT_IP", "10 per 15 minutes"),
        "LOGIN_LIMIT_PER_ACCOUNT": _rate_limit(env, "LOGIN_LIMIT_PER_ACCOUNT", "20 per hour"),
        # Password and code again before a sensitive change when the last time is longer ago (core/web/reauth.py).
        "REAUTH_TIMEOUT": timedelta(
            minutes=_number(env, "REAUTH_MINUTES", "15", ("minutes", "minuten"), minimum=1)),
        # core/auth/tokens.py accepts 1 to 366 days.
        "API_TOKEN_DEFAULT_DAYS": _number(env, "API_TOKEN_DEFAULT_DAYS", "90", ("days", "dagen"),
                                          minimum=1, maximum=366),
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
    # an override adds engine options; it never drops hide_parameters
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {**config["SQLALCHEMY_ENGINE_OPTIONS"], **ENGINE_OPTIONS}
    if "SQLALCHEMY_DATABASE_URI" in overrides and "MIGRATION_DATABASE_URL" not in overrides:
        config["MIGRATION_DATABASE_URL"] = overrides["SQLALCHEMY_DATABASE_URI"]
    if config.get("CROSS_TENANT_DATABASE_URL") and make_url(config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() == "postgresql":
        config["SQLALCHEMY_BINDS"] = {**config.get("SQLALCHEMY_BINDS", {}), "cross": config["CROSS_TENANT_DATABASE_URL"]}
    _check(config)
    return config


def _value(env, name: str, default: str) -> str:
    """The setting's value; unset or empty means *default*."""
    return env.get(name, "").strip() or default


def _number(env, name: str, default: str, unit: tuple[str, str], *, minimum: int = 0,
            maximum: int | None = None, whole: bool = True):
    """*name* as a (whole) number of *unit* (English, Dutch) from *minimum* to *maximum*."""
    value = _value(env, name, default)
    try:
        number = int(value) if whole else float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and minimum <= number <= (math.inf if maximum is None else maximum)):
        en, nl = ("a whole number", "een heel aantal") if whole else ("a number", "een aantal")
        bounds = (f"{minimum} or more", f"{minimum} of meer") if maximum is None else (
            f"{minimum} to {maximum}", f"{minimum} tot en met {maximum}")
        raise ConfigError(f"{name} must be {en} of {unit[0]} ({bounds[0]}), not {value!r}",
                          f"{name} moet {nl} {unit[1]} zijn ({bounds[1]}), niet {value!r}")
    return number


def _seconds(env, name: str, default: str) -> float:
    return _number(env, name, default, ("seconds", "seconden"), whole=False)


def _database_url(env, name: str, default: str) -> str:
    """A database URL whose driver is installed; the value is not repeated (it may hold a password)."""
    value = _value(env, name, default)
    try:
        make_url(value).get_dialect()
    except Exception:  # noqa: BLE001 - not a URL, or no such dialect or driver
        example = "postgresql+psycopg://koppel_app:...@host/koppel, sqlite:///path/koppel.sqlite3"
        raise ConfigError(f"{name} is not a database URL with an installed driver (such as {example})",
                          f"{name} is geen database-URL met een geïnstalleerde driver (zoals {example})") from None
    return value


def _redis_url(env) -> str | None:
    value = _value(env, "REDIS_URL", "")
    if value and not value.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("REDIS_URL must start with redis://, rediss:// or unix://",
                          "REDIS_URL moet beginnen met redis://, rediss:// of unix://")
    return value or None


def _sqlite_broker(instance_path: str, database_url: str) -> str:
    """The embedded broker: ``instance/celery.sqlite3`` for the default database; another database gets a file of
    its own, so that two local platforms never take each other's tasks."""
    name = "celery.sqlite3"
    if database_url != _default_database_url(instance_path):
        name = f"celery-{hashlib.sha256(database_url.encode()).hexdigest()[:12]}.sqlite3"
    return "sqla+sqlite:///" + str(Path(instance_path) / name)


def _smtp_url(env) -> str | None:
    value = _value(env, "SMTP_URL", "")
    if value and not value.startswith(("smtp://", "smtps://")):
        raise ConfigError("SMTP_URL must start with smtp:// (add ?starttls=true for STARTTLS) or smtps://",
                          "SMTP_URL moet beginnen met smtp:// (met ?starttls=true voor STARTTLS) of smtps://")
    return value or None


def _mail_from(env) -> str:
    value = _value(env, "MAIL_FROM", "Koppel <noreply@koppel.example>")
    if "@" not in parseaddr(value)[1]:
        raise ConfigError(f"MAIL_FROM must be an e-mail address (such as Koppel <noreply@example.org>), not {value!r}",
                          f"MAIL_FROM moet een e-mailadres zijn (zoals Koppel <noreply@example.org>), niet {value!r}")
    return value


def _public_url(env) -> str | None:
    """Where people reach this installation (``https://koppel.example.org``), without a trailing slash."""
    value = _value(env, "PUBLIC_URL", "")
    if not value:
        return None
    try:
        parts = urlsplit(value)
        usable = (parts.scheme in ("https", "http") and parts.hostname and not parts.query and not parts.fragment
                  and parts.port != 0)
    except ValueError:
        usable = False
    if not usable:
        raise ConfigError(f"PUBLIC_URL must be an https:// (or http://) address without query, such as "
                          f"https://koppel.example.org, not {value!r}",
                          f"PUBLIC_URL moet een https://- (of http://-)adres zonder query zijn, zoals "
                          f"https://koppel.example.org, niet {value!r}")
    return value.rstrip("/")


def _ca_file(env) -> str | None:
    """A file of PEM certificates trusted for webhooks beside the system's (a private receiver's CA)."""
    value = _value(env, "WEBHOOK_CA_FILE", "")
    if not value:
        return None
    try:
        ssl.create_default_context().load_verify_locations(cafile=value)
    except (OSError, ssl.SSLError):
        raise ConfigError(f"WEBHOOK_CA_FILE must be a readable file of PEM certificates, not {value!r}",
                          f"WEBHOOK_CA_FILE moet een leesbaar bestand met PEM-certificaten zijn, niet {value!r}") from None
    return value


def _audit_chain_key(env) -> str | None:
    """The audit chain's key: at least 32 characters (``openssl rand -base64 48``), or unset."""
    value = _value(env, "AUDIT_CHAIN_KEY", "")
    if value and len(value) < 32:
        raise ConfigError("AUDIT_CHAIN_KEY must be at least 32 characters long (openssl rand -base64 48)",
                          "AUDIT_CHAIN_KEY moet minstens 32 tekens lang zijn (openssl rand -base64 48)")
    return value or None


def _networks(env, name: str) -> tuple:
    """Comma-separated IP networks (``10.1.2.0/24, 127.0.0.1``), as ``ipaddress`` networks."""
    value = _value(env, name, "")
    try:
        return tuple(ipaddress.ip_network(part.strip()) for part in value.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"{name} must be IP networks separated by commas, such as 10.1.2.0/24, not {value!r}",
                          f"{name} moet bestaan uit IP-netwerken gescheiden door komma's, zoals 10.1.2.0/24, "
                          f"niet {value!r}") from None


def _role(env, name: str = "DATABASE_APP_ROLE", default: str = "koppel_app") -> str:
    value = _value(env, name, default)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", value):
        raise ConfigError(f"{name} must be a PostgreSQL role name (letters, digits, _), not {value!r}",
                          f"{name} moet een PostgreSQL-rolnaam zijn (letters, cijfers, _), niet {value!r}")
    return value


def _rate_limit(env, name: str, default: str) -> str:
    value = _value(env, name, default)
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(f"{name} must be a rate limit such as '10 per hour', not {value!r}",
                          f"{name} moet een limiet zijn zoals '10 per hour', niet {value!r}") from None
    return value


def _log_level(env) -> str:
    value = _value(env, "LOG_LEVEL", "INFO").upper()
    if value not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {value!r}",
                          f"LOG_LEVEL moet een van {', '.join(LOG_LEVELS)} zijn, niet {value!r}")
    return value


def _check(config: dict) -> None:
    if config["SCHEDULER_REQUEUE_SECONDS"] >= config["BROKER_VISIBILITY_SECONDS"]:
        raise ConfigError("SCHEDULER_REQUEUE_SECONDS must be shorter than BROKER_VISIBILITY_SECONDS",
                          "SCHEDULER_REQUEUE_SECONDS moet korter zijn dan BROKER_VISIBILITY_SECONDS")
    if config["KOPPEL_ENV"] == "production" and config.get("SECRET_KEY") in (None, "", DEV_SECRET_KEY):
        raise ConfigError(
            "SECRET_KEY is missing or is the development default; set SECRET_KEY "
            "(or KOPPEL_ENV=development for a local run)",
            "SECRET_KEY ontbreekt of is die voor ontwikkeling; zet SECRET_KEY "
            "(of KOPPEL_ENV=development om lokaal te werken)",
        )
    if isinstance(config["FIELD_ENCRYPTION_KEYS"], str):  # an override may give the parsed key ring
        from core.crypto import kek

        config["FIELD_ENCRYPTION_KEYS"] = kek.parse(config["FIELD_ENCRYPTION_KEYS"], config["KOPPEL_ENV"])
