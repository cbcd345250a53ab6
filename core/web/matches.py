"""Match suggestions, the match page and its lifecycle.

* ``family_suggestions``: for a requesting family, the supporting families the matching plugins rank best,
  each with its reasons and a button to propose; or any other available supporting family. When the policy
  does not let the two families through, the page names the rule and asks for the override's reason.
* ``matches``: the municipality's matches, by state, a page at a time.
* ``match``: one match with its families, history, the lifecycle's next steps as forms (each with the version
  the page showed), its evaluations, the wellbeing scales over time, and its contacts and hours.
"""
from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta
from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional

from core.api.common import keyset_page
from core.auth import roles as R
from core.auth.access import requires
from core.errors import Conflict, KoppelHTTPError, PreconditionFailed
from core.extensions import db
from core.messages import render
from core.policy import manager, service, suggestions
from core.programme import schemas as S
from core.programme import vocabulary as V
from core.programme.matches import ALLOWED
from core.programme.models import Contact, Evaluation, Family, Match, MatchOverride
from core.usecases import decisions
from core.usecases import families as family_cases
from core.usecases import matches as match_cases
from core.web import bp
from core.web.forms import Refused, attempt, same_version

STAFF = (R.COORDINATOR, R.TENANT_ADMIN)
#: Matches on one page of the list.
PAGE_SIZE = 50
#: Suggestions shown for a requesting family.
SUGGESTIONS = 10
#: Supporting families offered in the "another family" list.
CHOICES_LIMIT = 500

#: Words for coded values that core/labels.py has no vocabulary for.
WELLBEING = {"parenting": _l("Parenting"), "parent_wellbeing": _l("The parent's wellbeing"),
             "children_wellbeing": _l("The children's wellbeing"), "family_management": _l("Family life")}


# ----------------------------------------------------------------------------- shared by the pages of this area

def run(form: FlaskForm, action, *args, fields: dict[str, str] | None = None, **kwargs):
    """:func:`core.web.forms.attempt`, keeping the refusal (a 4xx error) on ``form.refusal`` for the page."""
    form.refusal = None

    def remembering():
        try:
            return action(*args, **kwargs)
        except KoppelHTTPError as error:
            form.refusal = error
            raise

    return attempt(form, remembering, fields=fields)


def status_of(*forms) -> int:
    """The status of a page with *forms*: the refusal's (a stale version is a conflict), 400 for a form that
    lost its CSRF token, 422 for other errors, else 200."""
    for form in forms:
        if form is None:
            continue
        refusal = getattr(form, "refusal", None)
        if refusal is not None:
            return 409 if isinstance(refusal, PreconditionFailed) else refusal.status
        if "csrf_token" in form.errors:
            return 400
        if form.errors or form.form_errors:
            return 422
    return 200


def payload(form: FlaskForm, *names: str) -> dict:
    """The form's data for a schema: the named fields, empty ones left out (the schema's defaults apply)."""
    out = {}
    for name in names:
        value = form[name].data
        if isinstance(value, str):
            value = value.strip()
        if value not in (None, ""):
            out[name] = value
    return out


def language() -> str:
    return get_locale().language if get_locale() else "nl"


def rule_title(rule: str | None) -> str:
    """A plugin's title in the reader's language (its name when it is not installed)."""
    try:
        return manager.plugin_class(rule).title.get(language()) or rule
    except Exception:  # noqa: BLE001 - an uninstalled or unnamed rule: show what is stored
        return rule or ""


def blockers_of(form: FlaskForm, families: dict[int, Family]) -> list[dict]:
    """The decisions the policy refused on (from the refusal's ``problems``), for the page."""
    refusal = getattr(form, "refusal", None)
    if not isinstance(refusal, Conflict):
        return []
    out = []
    for problem in refusal.details.get("problems") or []:
        family = families.get(problem.get("family_id"))
        out.append({**problem, "family_name": family.display_name if family else problem.get("family_id"),
                    "findings": [{**f, "title": rule_title(f.get("rule"))} for f in problem.get("findings", [])]})
    return out


def _number(text: str | None):
    """A number as a Dutch or English reader types it (4,5 or 4.5); the text itself when it is not one."""
    if text is None or not str(text).strip():
        return None
    try:
        return float(str(text).strip().replace(",", "."))
    except ValueError:
        return str(text).strip()  # the schema says what is wrong


# ----------------------------------------------------------------------------- suggestions and proposing

class ProposeForm(FlaskForm):
    supporting_family_id = SelectField(_l("Supporting family"), coerce=int, validate_choice=False,
                                       validators=[Optional()])
    children = IntegerField(_l("Number of children in this match"), default=1,
                            validators=[Optional(), NumberRange(min=1, max=10)])
    override_reason = TextAreaField(_l("Reason for the override"), validators=[Optional(), Length(max=2000)])


def with_reason(step, reason: str | None):
    """``step(reason)``; when *reason* is too short for an override, first ``step(None)``: if the policy
    refuses, the refusal keeps the reason's problem (``reason_problem``) so that the page shows both the
    rules that failed and what is wrong with the reason. If it does not refuse, no override was needed."""
    problem = decisions.check_reason(reason) if reason else None
    if problem is None:
        return step(reason)
    try:
        return step(None)
    except Conflict as error:
        error.details["reason_problem"] = problem
        raise


def reason_problem(form: FlaskForm) -> None:
    """Put the override reason's problem (see :func:`with_reason`) on the form's ``override_reason``."""
    refusal = getattr(form, "refusal", None)
    problem = refusal.details.get("reason_problem") if isinstance(refusal, Conflict) else None
    if problem is not None:
        form.override_reason.errors = [*form.override_reason.errors, render(problem)]


def _propose(requesting_id: int, data: dict) -> Match:
    """Propose the match (``MatchProposeSchema``), with the override's reason when one is given."""
    loaded = S.MatchProposeSchema().load({"requesting_family_id": requesting_id, **data})
    return with_reason(lambda reason: match_cases.propose(dict(loaded), reason), loaded.pop("override_reason", None))


def _supporting_choices() -> list[tuple[int, str]]:
    rows = db.session.execute(
        select(Family.id, Family.display_name, Family.status)
        .where(Family.kind == V.SUPPORTING, Family.status.in_((V.AVAILABLE, V.MATCHED)))
        .order_by(Family.display_name, Family.id).limit(CHOICES_LIMIT)).all()
    return [(row.id, f"{row.display_name} ({row.id})") for row in rows]


@bp.route("/<municipality>/families/<int:family_id>/suggestions", methods=["GET", "POST"])
@requires(*STAFF)
def family_suggestions(family_id):
    family = family_cases.read(family_id)
    form = ProposeForm()
    form.supporting_family_id.choices = [(0, _("Choose a supporting family"))] + _supporting_choices()
    if form.validate_on_submit():
        if not form.supporting_family_id.data:
            form.supporting_family_id.errors = [_("Choose a supporting family.")]
        else:
            try:
                match = run(form, _propose, family.id,
                            payload(form, "supporting_family_id", "children", "override_reason"),
                            fields={"reason": "override_reason"})
                flash(_("The match is proposed. Plan the introduction of the two families."), "success")
                return redirect(url_for("web.match", match_id=match.id))
            except Refused:
                reason_problem(form)
    found, unavailable = [], None
    try:
        found = suggestions.suggest(family, SUGGESTIONS)
    except Conflict as error:
        unavailable = error.text()
    db.session.commit()  # the read's audit record
    supporting = None
    if form.supporting_family_id.data:
        supporting = db.session.get(Family, form.supporting_family_id.data)
    families = {f.id: f for f in (family, supporting) if f is not None}
    blockers = blockers_of(form, families)
    return render_template("matches/suggestions.html", family=family, form=form, suggestions=found,
                           unavailable=unavailable, blockers=blockers, supporting=supporting), status_of(form)


# ----------------------------------------------------------------------------- the list

class MatchFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter

    state = SelectField(_l("State"), validators=[Optional()],
                        choices=[("", _l("All states"))] + [(s, s) for s in V.MATCH_STATES])


@bp.get("/<municipality>/matches")
@requires(*STAFF)
def matches():
    form = MatchFilterForm(request.args)
    form.state.choices = [("", _("All states"))] + [(s, _vocab("match_state", s)) for s in V.MATCH_STATES]
    statement = select(Match).options(joinedload(Match.requesting_family), joinedload(Match.supporting_family))
    rows, next_cursor, status = [], None, 200
    if form.validate():
        if form.state.data:
            statement = statement.where(Match.state == form.state.data)
        query = {"limit": PAGE_SIZE, "cursor": request.args.get("cursor", "")[:200]}
        rows, next_cursor = keyset_page(statement, query, Match.id, descending=True)
    else:
        status = 422
    next_url = url_for("web.matches", state=form.state.data or None, cursor=next_cursor) if next_cursor else None
    first_url = url_for("web.matches", state=form.state.data or None) if request.args.get("cursor") else None
    return render_template("matches/list.html", form=form, matches=rows, next_url=next_url,
                           first_url=first_url), status


def _vocab(vocabulary: str, code: str) -> str:
    from core.messages import label

    return label(vocabulary, code)


# ----------------------------------------------------------------------------- the match page and its steps

class StepForm(FlaskForm):
    version = HiddenField()
    on = DateField(_l("Date"), validators=[Optional()])
    reason = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


class ActivateForm(StepForm):
    agreement = TextAreaField(_l("The agreement between the families"), validators=[Optional(), Length(max=8000)])
    planned_end_on = DateField(_l("Planned end"), validators=[Optional()])
    frequency = SelectField(_l("How often the families meet"), validate_choice=False, validators=[Optional()])
    hours_per_session = StringField(_l("Hours each time"), validators=[Optional(), Length(max=10)])
    overnight_stays = BooleanField(_l("Children may stay overnight"))
    override_reason = TextAreaField(_l("Reason for the override"), validators=[Optional(), Length(max=2000)])


class EndForm(StepForm):
    end_reason = SelectField(_l("Why the match ends"), validate_choice=False, validators=[Optional()])
    outcome = SelectField(_l("Outcome for the family"), validate_choice=False, validators=[Optional()])


class ExtendForm(FlaskForm):
    version = HiddenField()
    new_end_on = DateField(_l("New end date"), validators=[Optional()])
    both_families_agree = BooleanField(_l("Both families want to continue"))
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


class ContactForm(FlaskForm):
    kind = SelectField(_l("Kind of contact"), validate_choice=False, validators=[Optional()])
    occurred_on = DateField(_l("Date"), validators=[Optional()])
    duration_minutes = IntegerField(_l("Duration in minutes"), validators=[Optional(), NumberRange(min=0, max=1440)])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=8000)])


#: The steps of the lifecycle: action -> (target state, form class, button label, schema).
STEPS = {
    "introduce": (V.INTRODUCTION, StepForm, _l("Record the introduction"), S.MatchStepSchema),
    "start_trial": (V.TRIAL, StepForm, _l("Start the trial period"), S.MatchStepSchema),
    "activate": (V.ACTIVE, ActivateForm, _l("Make the match active"), S.MatchActivateSchema),
    "extend": (None, ExtendForm, _l("Extend the match"), S.MatchExtendSchema),
    "end": (V.ENDED, EndForm, _l("End the match"), S.MatchEndSchema),
    "cancel": (V.CANCELLED, StepForm, _l("Cancel the match"), S.MatchStepSchema),
}


def _steps_open(match: Match) -> list[str]:
    """The actions the lifecycle allows now, in the order of the lifecycle."""
    allowed = ALLOWED[match.state]
    return [action for action, (to, *_rest) in STEPS.items()
            if (to in allowed) or (action == "extend" and match.state == V.ACTIVE)]


def _choices(form, terms) -> None:
    """Fill the select fields of *form* (the policy's frequencies; the end reasons and outcomes)."""
    if isinstance(form, ActivateForm):
        form.frequency.choices = [(f, _vocab("frequency", f)) for f in terms.frequencies]
    if isinstance(form, EndForm):
        form.end_reason.choices = [("", _("Choose a reason"))] + [(r, _vocab("end_reason", r)) for r in V.END_REASONS]
        form.outcome.choices = [(o, _vocab("outcome", o)) for o in V.OUTCOMES]
    if isinstance(form, ContactForm):
        form.kind.choices = [(k, _vocab("contact_kind", k)) for k in V.CONTACT_KINDS]


def _make_form(action: str, match: Match, terms, formdata=None):
    form_class = ContactForm if action == "contact" else STEPS[action][1]
    form = form_class(formdata=formdata, prefix=action) if formdata is not None else form_class(prefix=action)
    if formdata is None and "version" in form:
        form.version.data = match.version
    if formdata is None and isinstance(form, ActivateForm):
        form.frequency.data = terms.frequency_default
        form.hours_per_session.data = _plain_number(terms.hours_per_session_default)
        form.planned_end_on.data = date.today() + relativedelta(months=terms.duration_months_default)
    if formdata is None and isinstance(form, EndForm):
        form.outcome.data = "unknown"
    if formdata is None and isinstance(form, ContactForm):
        form.kind.data = "support_session"
    _choices(form, terms)
    return form


def _plain_number(value: float) -> str:
    from flask_babel import format_decimal

    return format_decimal(value)


def _load_match(match_id: int) -> Match:
    return db.session.scalars(
        select(Match).where(Match.id == match_id).options(
            joinedload(Match.requesting_family), joinedload(Match.supporting_family),
            selectinload(Match.transitions), selectinload(Match.extensions),
            selectinload(Match.overrides).joinedload(MatchOverride.decision))
        .execution_options(populate_existing=True)).one()


def _status_of_evaluation(evaluation: Evaluation, today: date) -> str:
    if evaluation.completed_on is not None:
        return "done"
    if evaluation.skipped_reason is not None:
        return "skipped"
    return "due" if evaluation.due_on <= today else "planned"


def _render_match(match_id: int, failed: tuple[str, FlaskForm] | None = None):
    """The match page; *failed* is the action whose form was refused, shown with its messages."""
    match_cases.read(match_id)  # the read is audited
    db.session.commit()
    match = _load_match(match_id)
    terms = service.current(match.tenant_id).match_terms()
    forms = {action: _make_form(action, match, terms) for action in _steps_open(match)}
    forms["contact"] = _make_form("contact", match, terms)
    failed_form = None
    if failed is not None:
        action, failed_form = failed
        _choices(failed_form, terms)
        if "version" in failed_form:
            failed_form.version.data = match.version  # the next try is against the version shown now
        forms[action] = failed_form
    today = date.today()
    evaluations = db.session.scalars(select(Evaluation).where(Evaluation.match_id == match.id)
                                     .order_by(Evaluation.due_on, Evaluation.id)).all()
    contacts = db.session.scalars(select(Contact).where(Contact.match_id == match.id)
                                  .order_by(Contact.occurred_on.desc(), Contact.id.desc())).all()
    minutes = sum(c.duration_minutes for c in contacts if c.kind == "support_session")
    scored = [e for e in evaluations if e.completed_on is not None
              and any(getattr(e, s) is not None for s in V.WELLBEING_SCALES)]
    scored.sort(key=lambda e: (e.completed_on, e.id))
    chart = None
    if scored:
        from flask_babel import format_date

        chart = {"labels": [format_date(e.completed_on) for e in scored],
                 "series": [(str(WELLBEING[s]), [getattr(e, s) for e in scored]) for s in V.WELLBEING_SCALES]}
    families = {match.requesting_family.id: match.requesting_family, match.supporting_family.id: match.supporting_family}
    blockers = blockers_of(failed_form, families) if failed_form is not None else []
    return render_template(
        "matches/match.html", match=match, forms=forms, steps=STEPS, failed_form=failed_form, terms=terms,
        evaluations=[(e, _status_of_evaluation(e, today)) for e in evaluations], contacts=contacts,
        volunteer_hours=minutes / 60, chart=chart, blockers=blockers,
    ), status_of(failed_form)


@bp.get("/<municipality>/matches/<int:match_id>")
@requires(*STAFF)
def match(match_id):
    return _render_match(match_id)


def _do_step(match_id: int, action: str, form: FlaskForm):
    """Run the step *action* of the lifecycle with the form's data (the schema checks it)."""
    to, _form_class, _label, schema = STEPS[action]
    check = same_version(form.version.data)
    if action == "activate":
        data = payload(form, "on", "reason", "agreement", "planned_end_on", "frequency", "override_reason")
        hours = _number(form.hours_per_session.data)
        if hours is not None:
            data["hours_per_session"] = hours
        data["overnight_stays"] = bool(form.overnight_stays.data)
        loaded = schema().load(data)
        reason = loaded.pop("override_reason", None)
        return with_reason(lambda given: match_cases.activate(match_id, dict(loaded), check, given), reason)
    if action == "extend":
        data = payload(form, "new_end_on", "note")
        data["both_families_agree"] = bool(form.both_families_agree.data)
        return match_cases.extend(match_id, schema().load(data), check)
    names = ("on", "reason", "end_reason", "outcome") if action == "end" else ("on", "reason")
    return match_cases.step(match_id, to, schema().load(payload(form, *names)), check)


DONE = {
    "introduce": _l("The introduction is recorded."),
    "start_trial": _l("The trial period has started."),
    "activate": _l("The match is active. The agreement and its terms are recorded."),
    "extend": _l("The match is extended."),
    "end": _l("The match has ended."),
    "cancel": _l("The match is cancelled."),
}


def _step_view(action: str):
    def view(match_id):
        form = _make_form(action, db.session.get(Match, match_id), service.current(g.tenant.id).match_terms(),
                          formdata=request.form)
        if form.validate_on_submit():
            try:
                run(form, _do_step, match_id, action, form,
                    fields={"reason": "override_reason"} if action == "activate" else None)
                flash(str(DONE[action]), "success")
                return redirect(url_for("web.match", match_id=match_id))
            except Refused:
                if action == "activate":
                    reason_problem(form)
        return _render_match(match_id, (action, form))

    view.__name__ = f"match_{action}"
    return view


for _action in STEPS:
    bp.add_url_rule(f"/<municipality>/matches/<int:match_id>/{_action.replace('_', '-')}", f"match_{_action}",
                    requires(*STAFF)(_step_view(_action)), methods=["POST"])


def _log_contact(match_id: int, form: ContactForm):
    return match_cases.log_contact(match_id, S.ContactSchema().load(
        payload(form, "kind", "occurred_on", "duration_minutes", "note")))


@bp.post("/<municipality>/matches/<int:match_id>/contacts")
@requires(*STAFF)
def match_contact(match_id):
    form = _make_form("contact", db.session.get(Match, match_id), service.current(g.tenant.id).match_terms(),
                      formdata=request.form)
    if form.validate_on_submit():
        try:
            run(form, _log_contact, match_id, form)
            flash(_("The contact is logged."), "success")
            return redirect(url_for("web.match", match_id=match_id) + "#contacts")
        except Refused:
            pass
    return _render_match(match_id, ("contact", form))
