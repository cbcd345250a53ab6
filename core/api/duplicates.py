"""Possible duplicate families, for the coordinator to resolve (never merged automatically)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import select

from core.api.common import Blueprint, PageQuerySchema, get_or_404, page, page_of
from core.api.families import DuplicateOutSchema
from core.auth import roles as R
from core.auth.access import requires
from core.extensions import db
from core.programme import duplicates
from core.programme.models import DuplicateFlag

blp = Blueprint("duplicates", __name__, url_prefix="/api/v1/<municipality>", description="Possible duplicates")

STAFF = (R.COORDINATOR, R.TENANT_ADMIN)


class ResolveSchema(Schema):
    resolution = fields.String(required=True, validate=validate.OneOf(("distinct", "same")))


@blp.get("/duplicates")
@requires(*STAFF)
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, page_of(DuplicateOutSchema))
def list_open(query):
    """Flags not yet resolved, oldest first."""
    return page(select(DuplicateFlag).where(DuplicateFlag.resolution.is_(None)), query, DuplicateFlag.id)


@blp.post("/duplicates/<int:duplicate_flag_id>/resolve")
@requires(*STAFF)
@blp.arguments(ResolveSchema)
@blp.response(200, DuplicateOutSchema)
def resolve(data, duplicate_flag_id):
    flag = duplicates.resolve(get_or_404(DuplicateFlag, duplicate_flag_id), data["resolution"])
    db.session.commit()
    return flag
