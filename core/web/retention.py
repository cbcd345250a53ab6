"""Retention: the period (tenant admin), the destruction lists, their review and four-eyes approval.
The rules are in :mod:`core.usecases.retention`; ids travel in the path (numbers), reasons in the body."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from core.auth import roles as R
from core.auth.access import current_principal, requires
from core.programme import retention as R_
from core.usecases import retention
from core.web import bp
from core.web.families import _status_for
from core.web.forms import Refused, attempt

STAFF = (R.COORDINATOR, R.TENANT_ADMIN)


class PeriodForm(FlaskForm):
    retention_months = IntegerField(_l("Retention period in months after a file is closed"),
                                    validators=[InputRequired()])


class NoteForm(FlaskForm):
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=retention.MAX_TEXT)])


def _is_admin() -> bool:
    from flask import g

    return R.TENANT_ADMIN in current_principal().roles_for_municipality(g.tenant)


def _overview(form: PeriodForm | None = None, status: int = 200):
    municipality = retention._municipality()
    form = form or PeriodForm(formdata=None, data={"retention_months": municipality.retention_months})
    html = render_template("privacy/retention.html", municipality=municipality, form=form, lists=retention.lists(),
                           admin=_is_admin(), default=R_.DEFAULT_MONTHS)
    return html, status


@bp.get("/<municipality>/retention")
@requires(*STAFF)
def retention_overview():
    """The retention period and the destruction lists, newest first."""
    return _overview()


@bp.post("/<municipality>/retention/period")
@requires(R.TENANT_ADMIN)
def retention_period():
    form = PeriodForm()
    if form.validate_on_submit():
        try:
            attempt(form, retention.set_retention_months, form.retention_months.data)
            flash(_("The retention period is saved."), "success")
            return redirect(url_for("web.retention_overview"))
        except Refused:
            pass
    return _overview(form, 422)


def _list_page(list_id: int, form: FlaskForm | None = None, status: int = 200):
    found = retention.get(list_id)
    html = render_template("privacy/list.html", found=found, form=form or NoteForm(formdata=None),
                           me=current_principal().user_id)
    return html, status


@bp.get("/<municipality>/retention/<int:destruction_list_id>")
@requires(*STAFF)
def retention_list(destruction_list_id):
    """A destruction list: review and submit it (open), approve or reject it (submitted, a second person)."""
    return _list_page(destruction_list_id)


def _step(list_id: int, step: str):
    form = NoteForm()
    if form.validate_on_submit():
        try:
            if step == "submit":
                exclusions = {int(k.removeprefix("exclude-")): v for k, v in request.form.items()
                              if k.startswith("exclude-") and k.removeprefix("exclude-").isdigit() and v.strip()}
                attempt(form, retention.submit, list_id, exclusions)
                flash(_("The list is submitted; a second person approves it."), "success")
            elif step == "approve":
                attempt(form, retention.approve, list_id, form.note.data)
                flash(_("The list is approved and the personal data destroyed."), "success")
            else:
                attempt(form, retention.reject, list_id, form.note.data)
                flash(_("The list is rejected; nothing is destroyed."), "success")
            return redirect(url_for("web.retention_list", destruction_list_id=list_id))
        except Refused:
            pass
    return _list_page(list_id, form, _status_for(form))


@bp.post("/<municipality>/retention/<int:destruction_list_id>/submit")
@requires(*STAFF)
def retention_submit(destruction_list_id):
    return _step(destruction_list_id, "submit")


@bp.post("/<municipality>/retention/<int:destruction_list_id>/approve")
@requires(*STAFF)
def retention_approve(destruction_list_id):
    return _step(destruction_list_id, "approve")


@bp.post("/<municipality>/retention/<int:destruction_list_id>/reject")
@requires(*STAFF)
def retention_reject(destruction_list_id):
    return _step(destruction_list_id, "reject")
