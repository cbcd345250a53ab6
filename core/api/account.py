"""Who am I: the caller's identity and grants."""
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from core.auth.access import USER, current_principal, requires

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


@blp.get("/me")
@requires(scope=USER)
@blp.response(200, MeSchema)
def me():
    """The principal behind the bearer token."""
    p = current_principal()
    grants = [{"role": r, "municipality_id": m, "consortium_id": c} for r, m, c in p.grants]
    return {"label": p.label, "user_id": p.user_id, "token_id": p.token_id, "grants": grants}
