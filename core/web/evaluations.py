"""Completing an evaluation of a match.

The form is made from the policy's evaluation instrument: the questions of the enabled outcome plugins
(``koppel_outcome_instrument``), each a scale with the words for its two ends. A question whose answer has
no place in an evaluation (``EvaluationCompleteSchema``) is not asked. A completed evaluation is shown
read-only.
"""
from __future__ import annotations

from flask import flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, TextAreaField
from wtforms.validators import Length, Optional

from core.auth import roles as R
from core.auth.access import requires
from core.extensions import db
from core.lookup import get_or_404
from core.policy import service
from core.programme import evaluations as evaluation_service
from core.programme import schemas as S
from core.programme import vocabulary as V
from core.programme.models import Evaluation, Match
from core.web import bp
from core.web.forms import Refused
from core.web.matches import language, payload, run, status_of

STAFF = (R.COORDINATOR, R.TENANT_ADMIN)
#: What the schema can store of an instrument's answers.
STORED = set(S.EvaluationCompleteSchema().fields) - {"completed_on", "moment", "decision", "notes", "goal_progress"}

DECISIONS = {"continue": _l("continue as it is"), "adjust": _l("continue with changes"), "end": _l("end the match")}


def _int_or_none(value):
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return value  # the schema says what is wrong


def questions() -> list[dict]:
    """The instrument's questions that an evaluation stores, in the reader's language."""
    policy = service.current(g.tenant.id)
    lang, out, seen = language(), [], set()
    for result in policy.call("koppel_outcome_instrument"):
        if result.error is not None or not result.value:
            continue
        for q in result.value.questions:
            if q.key not in STORED or q.key in seen:
                continue
            seen.add(q.key)
            ends = (q.labels or {}).get(lang) or (q.labels or {}).get("nl") or []
            out.append({"key": q.key, "text": q.text.get(lang) or q.text.get("nl") or q.key,
                        "min": q.scale_min, "max": q.scale_max, "ends": ends,
                        "instrument": result.value.title.get(lang) or result.value.name})
    return out


def form_for(asked: list[dict]):
    """A form class with a radio group per question, then progress, the decision and notes."""
    attrs = {}
    for q in asked:
        choices = []
        for value in range(q["min"], q["max"] + 1):
            text = str(value)
            if q["ends"] and value == q["min"]:
                text += f" – {q['ends'][0]}"
            elif len(q["ends"]) > 1 and value == q["max"]:
                text += f" – {q['ends'][-1]}"
            choices.append((value, text))
        attrs[q["key"]] = RadioField(q["text"], choices=choices, coerce=_int_or_none, validate_choice=False,
                                     validators=[Optional()])
    attrs["completed_on"] = DateField(_l("Date of the evaluation"), validators=[Optional()])
    attrs["goal_progress"] = TextAreaField(_l("Progress on the goals"), validators=[Optional(), Length(max=8000)])
    attrs["decision"] = RadioField(_l("Decision"), choices=[(k, v) for k, v in DECISIONS.items()],
                                   validate_choice=False, validators=[Optional()])
    attrs["notes"] = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=8000)])
    return type("EvaluationForm", (FlaskForm,), attrs)


def _complete(evaluation_id: int, data: dict) -> Evaluation:
    """Complete the evaluation (``EvaluationCompleteSchema`` data), as the API does."""
    evaluation = get_or_404(Evaluation, evaluation_id)
    return evaluation_service.complete(evaluation, S.EvaluationCompleteSchema().load(data))


@bp.route("/<municipality>/evaluations/<int:evaluation_id>", methods=["GET", "POST"])
@requires(*STAFF)
def evaluation(evaluation_id):
    evaluation = get_or_404(Evaluation, evaluation_id)
    asked = questions()
    form = form_for(asked)()
    if form.validate_on_submit():
        names = [q["key"] for q in asked] + ["completed_on", "goal_progress", "decision", "notes"]
        try:
            run(form, _complete, evaluation.id, payload(form, *names))
            flash(_("The evaluation is completed."), "success")
            return redirect(url_for("web.match", match_id=evaluation.match_id))
        except Refused:
            pass
    evaluation = db.session.get(Evaluation, evaluation_id)
    match = db.session.get(Match, evaluation.match_id)
    answers = []
    if evaluation.completed_on is not None:
        keys = [q["key"] for q in asked] or [*V.WELLBEING_SCALES]
        texts = {q["key"]: q["text"] for q in asked}
        from core.web.matches import WELLBEING

        answers = [(texts.get(k) or str(WELLBEING.get(k, k)), getattr(evaluation, k)) for k in keys
                   if getattr(evaluation, k, None) is not None]
    status = status_of(form)
    return render_template("evaluations/evaluation.html", evaluation=evaluation, match=match, form=form,
                           asked=asked, answers=answers, decisions=DECISIONS), status
