"""Who am I: the caller's identity and grants."""
from marshmallow import Schema, fields, validate

from core.api.common import Blueprint
from core import audit
from core.auth.access import USER, current_principal, requires
from core.auth.models import User
from core.errors import Conflict
from core.extensions import db
from core.messages import LANGUAGES, Message

blp = Blueprint("account", __name__, url_prefix="/api/v1", description="The caller")


class GrantSchema(Schema):
    role = fields.String()
    municipality_id = fields.Integer(allow_none=True)
    consortium_id = fields.Integer(allow_none=True)


class MeSchema(Schema):
    label = fields.String()
    user_id = fields.Integer(allow_none=True)
    token_id = fields.Integer(allow_none=True)
    grants = fields.List(fields.Nested(GrantSchema))
    language = fields.String(allow_none=True, metadata={"description": "nl or en; none: the browser's"})


class SettingsSchema(Schema):
    language = fields.String(required=True, allow_none=True, validate=validate.OneOf(LANGUAGES))


def _user():
    user_id = current_principal().user_id
    return db.session.get(User, user_id) if user_id is not None else None


@blp.get("/me")
@requires(scope=USER)
@blp.response(200, MeSchema)
def me():
    """The principal behind the bearer token."""
    p = current_principal()
    grants = [{"role": r, "municipality_id": m, "consortium_id": c} for r, m, c in p.grants]
    user = _user()
    return {"label": p.label, "user_id": p.user_id, "token_id": p.token_id, "grants": grants,
            "language": user.language if user else None}


@blp.patch("/me")
@requires(scope=USER)
@blp.arguments(SettingsSchema)
@blp.response(200, MeSchema)
@blp.alt_response(409, response="CONFLICT")
def change_settings(data):
    """The language Koppel speaks to you (messages, decisions, errors): ``nl``, ``en``, or none for the
    browser's (``Accept-Language``)."""
    user = _user()
    if user is None:
        raise Conflict(Message("A machine token has no settings; use a person's token.", code="no_person"))
    user.language = data["language"]
    audit.record("user.settings", object_type="user", object_id=user.id, detail={"language": user.language})
    db.session.commit()
    return me()
