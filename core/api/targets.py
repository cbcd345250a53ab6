"""Programme targets of a municipality, per year."""
from __future__ import annotations

from marshmallow import ValidationError, fields
from sqlalchemy import select

from core.api.common import Blueprint, PageQuerySchema, page, page_of
from core.auth import roles as R
from core.auth.access import requires
from core.extensions import db
from core.programme import schemas as S
from core.programme import targets
from core.programme.models import ProgrammeTarget

blp = Blueprint("targets", __name__, url_prefix="/api/v1/<municipality>", description="Programme targets")


class TargetOutSchema(S.TargetSchema):
    year = fields.Integer()


@blp.get("/targets")
@requires(R.COORDINATOR, R.TENANT_ADMIN, R.FUNDER)
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, page_of(TargetOutSchema))
def list_targets(query):
    """The targets by year."""
    return page(select(ProgrammeTarget), query, ProgrammeTarget.id, ProgrammeTarget.year)


@blp.put("/targets/<int:year>")
@requires(R.TENANT_ADMIN)
@blp.arguments(S.TargetSchema)
@blp.response(200, TargetOutSchema)
def set_target(data, year):
    """Set the year's target, e.g. 10 new matches in year one and 10–15 in year two."""
    if not 2000 <= year <= 2100:
        raise ValidationError({"year": ["give a year between 2000 and 2100"]})
    target = targets.set_target(year, data)
    db.session.commit()
    return target
