"""The tenant admin's pages: users and invitations, API tokens, programme targets, scheduled work.

The rules live in :mod:`core.usecases.users` (users, invitations, tokens), :mod:`core.programme.targets`
and :mod:`core.scheduling.status`, as the API calls them. A user or token of another municipality is
"not found" (users and tokens are not tenant models: the use case checks the membership). Object ids
travel in the POST body, never as personal data in the URL.
"""
from __future__ import annotations

from datetime import date

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from marshmallow import ValidationError
from sqlalchemy import select
from wtforms import EmailField, HiddenField, IntegerField, RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from core.auth import roles as R
from core.auth.access import requires
from core.errors import NotFound
from core.extensions import db
from core.messages import Message, current_language
from core.programme import schemas as S
from core.programme import targets
from core.programme.models import ProgrammeTarget
from core.scheduling import status as work_status
from core.scheduling.models import ScheduledItem
from core.types import utcnow
from core.usecases import dashboard, users
from core.web import bp
from core.web.forms import Refused, attempt
from core.web.reauth import fresh_login
from core.web.labels import role_label
from tenants.models import Municipality

ADMIN = R.TENANT_ADMIN


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _tenant() -> Municipality:
    return db.session.get(Municipality, g.tenant.id)


def _role_choices():
    return [(role, role_label(role)) for role in users.STAFF_ROLES]


# ----------------------------------------------------------------------------- users

class InviteForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])
    role = RadioField(_l("Role"), validators=[DataRequired()], validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = _role_choices()


class UserActionForm(FlaskForm):
    user_id = HiddenField(validators=[DataRequired()])
    action = HiddenField(validators=[DataRequired()])


#: What a button on the users page does: the use case and what is said after it.
USER_ACTIONS = {
    "disable": (lambda m, uid: users.disable(m, uid, by=current_user),
                _l("%(name)s is disabled and logged out everywhere.")),
    "enable": (users.enable, _l("%(name)s can log in again.")),
    "invite_again": (users.resend_invitation, _l("A new invitation is on its way to %(name)s.")),
    "password_link": (users.send_password_link, _l("A link to choose a new password is on its way to %(name)s.")),
    "end_sessions": (lambda m, uid: users.end_user_sessions(m, uid, by=current_user),
                     _l("%(name)s is logged out everywhere.")),
    "reset_mfa": (lambda m, uid: users.reset_mfa(m, uid, by=current_user),
                  _l("The authenticator of %(name)s is reset; they set up a new one at their next login.")),
}


def _users_page(form: InviteForm | None = None, status: int = 200):
    return render_template("admin/users.html", rows=users.users_of(g.tenant), form=form or InviteForm(),
                           me=current_user.id), status


def _invite_staff(email: str, name: str, role: str):
    """A tenant admin invites the municipality's staff only: a coordinator or a tenant admin."""
    if role not in users.STAFF_ROLES:
        raise ValidationError({"role": [Message("choose coordinator or municipality administrator")]})
    return users.invite(email, name, role, municipality=_tenant(), invited_by=current_user)


@bp.route("/<municipality>/admin/users", methods=["GET", "POST"])
@requires(ADMIN)
@fresh_login
def admin_users():
    """The municipality's users with their roles and status; invite a coordinator or tenant admin."""
    form = InviteForm()
    if form.validate_on_submit():
        try:
            user = attempt(form, _invite_staff, form.email.data, form.name.data, form.role.data)
            flash(_("%(name)s is invited. The invitation is sent by e-mail.", name=user.name), "success")
            return redirect(url_for("web.admin_users"))
        except Refused:
            pass
    status = 422 if form.errors or form.form_errors else 200
    return _users_page(form, status)


@bp.route("/<municipality>/admin/users/action", methods=["GET", "POST"])
@requires(ADMIN)
@fresh_login
def admin_user_action():
    """Disable or enable a user, send an invitation again, or send a link to choose a new password (a GET,
    such as the language switch on a refused action's page, goes to the users page)."""
    if request.method == "GET":
        return redirect(url_for("web.admin_users"))
    form = UserActionForm()
    if not form.validate_on_submit() or form.action.data not in USER_ACTIONS or not form.user_id.data.isdigit():
        flash(_("This action could not be done. Try again."), "error")
        return _users_page(status=400)
    action, said = USER_ACTIONS[form.action.data]
    try:
        user = attempt(form, action, _tenant(), int(form.user_id.data))
    except Refused:
        for message in form.form_errors:
            flash(message, "error")
        return _users_page(status=409)
    flash(str(said) % {"name": user.name}, "success")
    return redirect(url_for("web.admin_users"))


# ----------------------------------------------------------------------------- API tokens

class MunicipalityTokenForm(FlaskForm):
    name = StringField(_l("Name of the token"), validators=[DataRequired(), Length(max=120)])
    roles = MultiCheckboxField(_l("Roles"), validate_choice=False)
    days = IntegerField(_l("Valid for (days)"), validators=[Optional(), NumberRange(min=1, max=366)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.roles.choices = _role_choices()


class TokenRevokeForm(FlaskForm):
    token_id = HiddenField(validators=[DataRequired()])


def _tokens_page(form=None, created=None, status=200):
    return render_template("admin/tokens.html", form=form or MunicipalityTokenForm(),
                           tokens=users.municipality_tokens(g.tenant), created=created, now=utcnow()), status


@bp.route("/<municipality>/admin/tokens", methods=["GET", "POST"])
@requires(ADMIN)
@fresh_login
def admin_tokens():
    """Tokens for the municipality's own systems: made here and shown once, revoked here."""
    form = MunicipalityTokenForm()
    if form.validate_on_submit():
        try:
            raw, token = attempt(form, users.create_municipality_token, _tenant(), form.name.data,
                                 form.roles.data, form.days.data)
            return _tokens_page(created={"raw": raw, "token": token}, status=201)
        except Refused:
            pass
    status = 422 if form.errors or form.form_errors else 200
    return _tokens_page(form, status=status)


@bp.route("/<municipality>/admin/tokens/revoke", methods=["GET", "POST"])
@requires(ADMIN)
@fresh_login
def admin_token_revoke():
    if request.method == "GET":
        return redirect(url_for("web.admin_tokens"))
    form = TokenRevokeForm()
    if form.validate_on_submit() and form.token_id.data.isdigit():
        try:
            attempt(form, users.revoke_municipality_token, _tenant(), int(form.token_id.data))
            flash(_("The token is revoked. It no longer works."), "success")
            return redirect(url_for("web.admin_tokens"))
        except Refused:
            pass
    flash(_("This token could not be revoked."), "error")
    return _tokens_page(status=400)


# ----------------------------------------------------------------------------- targets

class TargetForm(FlaskForm):
    year = IntegerField(_l("Year"), validators=[InputRequired(), NumberRange(min=2000, max=2100)])
    new_matches_min = IntegerField(_l("New matches: at least"), validators=[InputRequired()])
    new_matches_max = IntegerField(_l("New matches: at most"), validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


def _set_target(year, data: dict):
    """The API's rules: the year, then the target's schema, then the use case."""
    if year is None or not 2000 <= year <= 2100:
        raise ValidationError({"year": ["give a year between 2000 and 2100"]})
    return targets.set_target(year, S.TargetSchema().load(data))


@bp.route("/<municipality>/admin/targets", methods=["GET", "POST"])
@requires(ADMIN)
def admin_targets():
    """Programme targets per year (new matches), with the actual number of each year so far."""
    form = TargetForm(year=date.today().year) if request.method == "GET" else TargetForm()
    if form.validate_on_submit():
        data = {"new_matches_min": form.new_matches_min.data, "new_matches_max": form.new_matches_max.data,
                "note": (form.note.data or "").strip() or None}
        try:
            target = attempt(form, _set_target, form.year.data, data)
            flash(_("The target for %(year)s is saved.", year=target.year), "success")
            return redirect(url_for("web.admin_targets"))
        except Refused:
            pass
    notes = dict(db.session.execute(select(ProgrammeTarget.year, ProgrammeTarget.note)).all())
    rows = dashboard.targets_and_actuals(date.today())
    status = 422 if form.errors or form.form_errors else 200
    return render_template("admin/targets.html", form=form, rows=rows, notes=notes), status


# ----------------------------------------------------------------------------- scheduled work

class RunAgainForm(FlaskForm):
    item_id = HiddenField(validators=[DataRequired()])


@bp.get("/<municipality>/admin/scheduled-work")
@requires(ADMIN)
def admin_scheduled_work():
    """Per kind of work: last run, next run, counts and the latest failures, each of which can run again."""
    kinds = work_status.overview()
    language = current_language()
    return render_template("admin/scheduled_work.html", kinds=kinds, language=language)


@bp.post("/<municipality>/admin/scheduled-work/run-again")
@requires(ADMIN)
def admin_scheduled_run_again():
    """Run a failed item again (audited); it goes to a worker at once."""
    form = RunAgainForm()
    if not form.validate_on_submit() or not form.item_id.data.isdigit():
        flash(_("This action could not be done. Try again."), "error")
        return redirect(url_for("web.admin_scheduled_work"))
    item = db.session.get(ScheduledItem, int(form.item_id.data))
    if item is None:
        raise NotFound()
    try:
        ticket = attempt(form, work_status.run_again, item)
    except Refused:
        for message in form.form_errors:
            flash(message, "error")
        return redirect(url_for("web.admin_scheduled_work"))
    work_status.send(ticket)
    flash(_("The work is handed to a worker again."), "success")
    return redirect(url_for("web.admin_scheduled_work"))
