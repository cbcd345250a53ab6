"""Evaluations that are due, and completing them."""
from __future__ import annotations

from datetime import date

from marshmallow import fields

from core.api.common import Blueprint, PageQuerySchema, get_or_404, page, page_of
from core.api.matches import EvaluationSchema
from core.auth import roles as R
from core.auth.access import requires
from core.extensions import db
from core.programme import evaluations
from core.programme import schemas as S
from core.programme.models import Evaluation

blp = Blueprint("evaluations", __name__, url_prefix="/api/v1/<municipality>", description="Evaluations")

STAFF = (R.COORDINATOR, R.TENANT_ADMIN)


class EvaluationQuerySchema(PageQuerySchema):
    overdue = fields.Boolean(load_default=False)
    as_of = fields.Date()


@blp.get("/evaluations")
@requires(*STAFF)
@blp.arguments(EvaluationQuerySchema, location="query")
@blp.response(200, page_of(EvaluationSchema))
def list_open(query):
    """Open evaluations by due date; ``overdue=true`` for those past due."""
    statement = evaluations.open_items(query.get("as_of") or date.today(), overdue_only=query["overdue"])
    return page(statement, query, Evaluation.id, Evaluation.due_on)


@blp.post("/evaluations/<int:evaluation_id>/complete")
@requires(*STAFF)
@blp.arguments(S.EvaluationCompleteSchema)
@blp.response(200, EvaluationSchema)
@blp.alt_response(409, response="CONFLICT")
def complete(data, evaluation_id):
    """Record both families' satisfaction, goal progress, the four wellbeing scales and the decision."""
    evaluation = get_or_404(Evaluation, evaluation_id)
    evaluations.complete(evaluation, data)
    db.session.commit()
    return evaluation
