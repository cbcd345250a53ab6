"""The session class used by the app: Flask-SQLAlchemy's, with tenant isolation."""
from flask_sqlalchemy.session import Session as _FlaskSession

from tenants import isolation


class TenantSession(_FlaskSession):
    """A session that filters and guards tenant-owned rows.

    ``get()`` may answer from the identity map without a query, where no
    loader criteria apply; it is checked against the current scope here.
    """

    def get(self, entity, ident, **kwargs):
        obj = super().get(entity, ident, **kwargs)
        if obj is not None and not isolation.visible(obj):
            return None
        return obj


isolation.install(TenantSession)
