"""Flask extensions, created unbound and bound to an app in ``create_app``."""
from http import HTTPStatus

from flask_babel import Babel, gettext
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from apispec.ext.marshmallow import MarshmallowPlugin, resolver
from marshmallow import Schema
from sqlalchemy import MetaData

from core import messages
from core.api import openapi
from tenants.session import TenantSession

# Stable constraint names, so that migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(
    metadata=MetaData(naming_convention=NAMING_CONVENTION),
    session_options={"class_": TenantSession},
)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
#: Rate limits (per client IP: behind a proxy set PROXY_FIX_X_FOR). The counters live in RATELIMIT_STORAGE_URI: Redis
#: when REDIS_URL is set (shared by every process), memory in the embedded default. While Redis cannot be reached
#: the limits are counted in this process's memory instead: still limited, and no request fails for it.
limiter = Limiter(key_func=get_remote_address, key_prefix="koppel", in_memory_fallback_enabled=True)
def _schema_name(schema) -> str:
    """OpenAPI component names: the class name without 'Schema', and 'Patch' for partial (PATCH) input."""
    name = resolver(schema)
    return name + "Patch" if isinstance(schema, Schema) and schema.partial else name


class KoppelApi(Api):
    """flask-smorest's Api with Koppel's error body (in the document and for HTTP errors) and bearer tokens."""

    ERROR_SCHEMA = openapi.ErrorSchema

    def _init_spec(self, **kwargs):
        super()._init_spec(**kwargs)
        self.spec.components.security_scheme(openapi.SECURITY_SCHEME, {
            "type": "http", "scheme": "bearer",
            "description": "An API token (`kpl_...`): `koppel token create` (see the README)"})

    def _register_responses(self):
        for status in HTTPStatus:
            response = {"description": openapi.DESCRIPTIONS.get(status, status.phrase)}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "An error", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)

    def register_blueprint(self, blp, **options):
        super().register_blueprint(blp, **options)
        name = options.get("name", blp.name)
        for rule in self._app.url_map.iter_rules():
            if rule.endpoint.startswith(f"{name}."):
                openapi.describe(self.spec, rule, self._app.view_functions[rule.endpoint],
                                 self.flask_plugin.flaskpath2openapi(rule.rule))

    def handle_http_exception(self, error):
        """webargs' invalid input (422) as the app's own (``invalid_input``, messages rendered); core.app
        completes every HTTP error's body (see :class:`core.api.openapi.ErrorSchema`)."""
        payload, status, headers = super().handle_http_exception(error)
        if status == 422:
            payload.update(error="invalid_input", message=gettext("The input is not valid"))
            payload["errors"] = messages.render_all(payload.get("errors", {}))
        return payload, status, headers


api = KoppelApi(spec_kwargs={"marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=_schema_name)})
