"""The application factory."""
from __future__ import annotations

import gc
from pathlib import Path

from flask import Flask, current_app, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from core import cache
from core import config as config_module
from core import inputs, logs, messages, pool
from core.errors import KoppelHTTPError, Unauthenticated
from core.messages import render as render_message
from core.extensions import api, babel, csrf, db, limiter, login_manager, migrate
from tenants import rls

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def create_app(config: dict | None = None) -> Flask:
    """Create the Koppel app; *config* overrides settings read from the environment."""
    app = Flask(__name__, instance_relative_config=True)
    app.jinja_env.add_extension("jinja2.ext.do")  # the form macros collect their problems with {% do %}
    app.config.update(config_module.load(app.instance_path, config))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    inputs.init_app(app)  # first: the int converter must be in place before any route is added
    logs.configure(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"])
    if app.config["PROXY_FIX_X_FOR"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"], x_proto=1)

    import core.models  # noqa: F401  (register every model on the metadata)

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            pool.ping_when_idle(engine, app.config["DATABASE_PING_IDLE_SECONDS"])
            if engine.dialect.name == "postgresql":
                rls.install(engine, rls.scope_key(app.config["SECRET_KEY"]))
    cache.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    _init_auth(app)
    babel.init_app(app, locale_selector=_locale)
    limiter.init_app(app)
    api.init_app(app)

    from core import api as api_package
    from core.api import docs as api_docs
    from core import health, web
    from tenants import resolution

    resolution.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(api_docs.bp)
    app.register_blueprint(web.bp)
    for blueprint in api_package.blueprints():
        csrf.exempt(blueprint)  # the API takes bearer tokens, never cookies
        api.register_blueprint(blueprint)
    _init_errors(app)
    app.after_request(_security_headers)

    from tasks import celery_init_app

    celery_init_app(app)

    from core.cli import register as register_cli

    register_cli(app)
    return app


def tune_garbage_collector() -> None:
    """For a serving process, once the app is made: what start-up made lives as long as the process, so
    keep the collector from scanning it (``gc.freeze``; pages also stay shared after a fork), and collect
    the youngest objects less often: a request makes many short-lived ones, and the default (every 700
    allocations) adds pauses of tens of milliseconds to the slowest requests."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000)


def _init_auth(app: Flask) -> None:
    from core.auth import access, sessions

    login_manager.init_app(app)
    login_manager.user_loader(sessions.load_user)
    login_manager.login_view = "web.login"
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    app.teardown_request(access.leave_tenant)


def _locale() -> str:
    """The language chosen on the page, else the user's setting, else (for the API) Accept-Language; Dutch
    by default. Pages stay Dutch in a browser set to English until the reader picks English."""
    from flask_login import current_user

    from core.auth.access import current_principal, is_api_request
    from core.messages import DEFAULT_LANGUAGE, LANGUAGES

    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    setting = getattr(current_user, "language", None) if current_user else None
    if setting is None and is_api_request():
        try:
            setting = _token_user_language(current_principal())
        except KoppelHTTPError:  # a bad token: its error is being rendered
            setting = None
    if setting in LANGUAGES:
        return setting
    if is_api_request():
        return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE)
    return DEFAULT_LANGUAGE


def _token_user_language(principal) -> str | None:
    """The language setting of the user behind an API token, if any."""
    if principal is None or principal.user_id is None:
        return None
    from core.auth.models import User

    user = db.session.get(User, principal.user_id)
    return user.language if user else None


def _init_errors(app: Flask) -> None:
    """API errors are JSON ``{code, status, error, message[, errors]}``; pages get error.html."""
    from werkzeug.http import HTTP_STATUS_CODES

    from core.auth.access import is_api_request

    def render(status: int, error: str, message: str, **extra):
        if is_api_request():
            body = {"code": status, "status": HTTP_STATUS_CODES.get(status, ""), "error": error, "message": message}
            return make_response({**body, **extra}, status)
        return make_response(render_template("error.html", status=status, code=error, message=message), status)

    @app.errorhandler(KoppelHTTPError)
    def koppel_error(error):
        if isinstance(error, Unauthenticated) and not is_api_request():
            return redirect(url_for("web.login", next=request.full_path if request.query_string else request.path))
        extra = {"params": error.params, **error.details} if is_api_request() else {}
        response = render(error.status, error.code, error.text(), **extra)
        if isinstance(error, Unauthenticated):
            response.headers["WWW-Authenticate"] = 'Bearer realm="koppel"'
        return response

    @app.errorhandler(HTTPException)
    def http_error(error):
        message = _http_message(error)
        if is_api_request():
            payload, status, headers = api.handle_http_exception(error)  # keeps webargs' field errors (422)
            payload.setdefault("error", _http_code(error))
            if message is not None:
                payload["message"] = render_message(message)
                payload.setdefault("params", message.as_dict()["params"])
            else:
                payload.setdefault("message", error.description)
                payload.setdefault("params", {})
            response = make_response(payload, status, headers)
        else:
            response = render(error.code, _http_code(error),
                              render_message(message) if message is not None else error.description)
        for name, value in error.get_headers():  # e.g. Allow on a 405
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(IntegrityError)
    def integrity_error(error):
        """A constraint refused a write that the checks before it let through (a last line): a reference to a
        row this municipality does not have (a foreign key, which includes the tenant) answers 404, like any
        other unknown id; any other 409. Nothing of the database's message, which names keys and ids."""
        db.session.rollback()
        from core.errors import Conflict, NotFound
        import logging

        orig = getattr(error, "orig", None)
        sqlstate, diag = getattr(orig, "sqlstate", None), getattr(orig, "diag", None)
        logging.getLogger("koppel.db").warning("a constraint refused a write: %s %s", sqlstate,
                                               getattr(diag, "constraint_name", None))
        return koppel_error(NotFound() if sqlstate == "23503" else Conflict())

    @app.errorhandler(ValidationError)
    def validation_error(error):
        db.session.rollback()
        return render(422, "invalid_input", gettext("The input is not valid"), params={},
                      errors={"json": messages.render_all(error.messages)})


def _http_code(error: HTTPException) -> str:
    return {413: "too_large"}.get(error.code) or error.name.lower().replace(" ", "_")


def _http_message(error: HTTPException) -> messages.Message | None:
    """Koppel's own words for the HTTP errors that the guards on input give (None: Werkzeug's)."""
    if isinstance(error, MethodNotAllowed):
        allowed = ", ".join(sorted(error.valid_methods or ()))
        return messages.Message("This method is not allowed here; allowed: %(allowed)s", {"allowed": allowed},
                                code="method_not_allowed")
    if isinstance(error, RequestEntityTooLarge):
        limit = {"limit": round((request.max_content_length or 0) / 2**20, 1)}
        if inputs.is_upload():
            return messages.Message("The upload is larger than %(limit)s MB; split the file (for example one file "
                                    "per sheet, or the families in parts) and import the parts one after the other",
                                    limit, code="too_large")
        return messages.Message("The request is larger than %(limit)s MB", limit, code="too_large")
    return None


#: The Content Security Policy of every answer (the API's documentation page sets its own, core/api/docs.py).
CSP = "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"


def _security_headers(response):
    """The same headers on every answer; HSTS in production only (``HSTS`` in core/config.py: a local run over
    plain http must not tell the browser to insist on HTTPS for the host)."""
    headers = response.headers
    if current_app.config.get("HSTS"):
        headers.setdefault("Strict-Transport-Security", current_app.config["HSTS"])
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Content-Security-Policy", CSP)
    if request.path not in ("/healthz", "/readyz") and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
    return response
