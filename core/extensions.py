"""Flask extensions, created unbound and bound to an app in ``create_app``."""
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from apispec.ext.marshmallow import MarshmallowPlugin, resolver
from marshmallow import Schema
from sqlalchemy import MetaData

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
limiter = Limiter(key_func=get_remote_address)  # storage: RATELIMIT_STORAGE_URI (Redis when REDIS_URL is set)
def _schema_name(schema) -> str:
    """OpenAPI component names: the class name without 'Schema', and 'Patch' for partial (PATCH) input."""
    name = resolver(schema)
    return name + "Patch" if isinstance(schema, Schema) and schema.partial else name


api = Api(spec_kwargs={"marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=_schema_name)})
