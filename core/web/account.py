"""Logging in and out, the language, and the own account: settings, password, API tokens, e-mailed links.

A link from an invitation or password mail (``/invitation/<token>``, ``/password-reset/<token>``) holds a
signed token and nothing personal (:mod:`core.usecases.users`); a link that was used or has expired gives
a page that says so, with status 410. "Forgot your password?" answers the same whether or not the address
is known, and is rate limited per client IP.
"""
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, IntegerField, PasswordField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from core.auth import login as password_login
from core.auth import sessions
from core.auth.access import USER, public, requires
from core.errors import TooManyAttempts
from core.extensions import db, limiter
from core.types import utcnow
from core.usecases import users
from core.web import bp
from core.web.forms import LoginForm, PostForm, Refused, attempt

#: "Forgot your password?" per client IP.
FORGOT_LIMIT = "5 per 15 minutes"


def _safe_next(target: str | None) -> str:
    """Only a local path may be a redirect target."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("web.home")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    form = LoginForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        try:
            user = password_login.check_password(form.email.data, form.password.data)
        except TooManyAttempts:
            flash(_("Too many failed attempts. Wait a quarter of an hour and try again."), "error")
            return render_template("login.html", form=form), 429
        if user is not None:
            sessions.start(user)
            return redirect(_safe_next(form.next.data))
        flash(_("The e-mail address or password is not correct."), "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form), status


@bp.post("/logout")
@requires(scope=USER)
def logout():
    if PostForm().validate_on_submit():
        sessions.end()
    return redirect(url_for("web.login"))


@bp.post("/language")
@public
def language():
    if PostForm().validate_on_submit() and request.form.get("lang") in ("nl", "en"):
        session["lang"] = request.form["lang"]
    return redirect(_safe_next(request.form.get("next")))


# ----------------------------------------------------------------------------- forms

LANGUAGE_CHOICES = [("", _l("The language of my browser")), ("nl", "Nederlands"), ("en", "English")]


class SettingsForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=120)])
    language = RadioField(_l("Language of Koppel and its e-mails"), choices=LANGUAGE_CHOICES, validate_choice=False)


class TokenForm(FlaskForm):
    name = StringField(_l("Name of the token"), validators=[DataRequired(), Length(max=120)])
    scope = SelectField(_l("Where the token may be used"), validate_choice=False)
    days = IntegerField(_l("Valid for (days)"), validators=[Optional(), NumberRange(min=1, max=366)])


class RevokeForm(FlaskForm):
    token_id = HiddenField(validators=[DataRequired()])


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])


class ForgotForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])


PASSWORD_HINT = _l("At least 12 characters. A few words in a row are easy to remember and hard to guess.")


# ----------------------------------------------------------------------------- the account page

def _scope_label(membership) -> str:
    from core.web.labels import role_label

    roles = sorted(role_label(m.role) for m in current_user.memberships
                   if m.municipality_id == membership.municipality_id and m.consortium_id == membership.consortium_id)
    place = (membership.municipality.name if membership.municipality else
             membership.consortium.name if membership.consortium else _("Platform"))
    return f"{place} ({', '.join(roles)})"


def _token_form() -> TokenForm:
    form = TokenForm(prefix="token")
    form.scope.choices = [(key, _scope_label(m)) for key, m in users.token_scopes(current_user)]
    return form


def _account_page(settings=None, token_form=None, created=None, status=200):
    settings = settings or SettingsForm(prefix="settings", name=current_user.name, language=current_user.language or "")
    return render_template("account/account.html", settings=settings, token_form=token_form or _token_form(),
                           tokens=users.own_tokens(current_user), created=created, revoke=RevokeForm(),
                           now=utcnow()), status


@bp.route("/account", methods=["GET", "POST"])
@requires(scope=USER)
def account():
    """Your name, language and API tokens."""
    form = SettingsForm(prefix="settings")
    if form.validate_on_submit():
        try:
            attempt(form, users.change_settings, current_user, name=form.name.data, language=form.language.data or None)
            if current_user.language:
                session["lang"] = current_user.language
            flash(_("Your settings are saved."), "success")
            return redirect(url_for("web.account"))
        except Refused:
            pass
    status = 422 if form.errors or form.form_errors else 200
    return _account_page(settings=form if request.method == "POST" else None, status=status)


@bp.route("/account/tokens", methods=["GET", "POST"])
@requires(scope=USER)
def account_token_new():
    """Make an own API token; it is shown once, on the page this answers (a GET goes to the account page)."""
    if request.method == "GET":
        return redirect(url_for("web.account"))
    form = _token_form()
    if form.validate_on_submit():
        try:
            raw, token = attempt(form, users.create_own_token, current_user, form.name.data, form.scope.data,
                                 form.days.data)
            return _account_page(created={"raw": raw, "token": token}, status=201)
        except Refused:
            pass
    return _account_page(token_form=form, status=422)


@bp.post("/account/tokens/revoke")
@requires(scope=USER)
def account_token_revoke():
    form = RevokeForm()
    if form.validate_on_submit() and form.token_id.data.isdigit():
        try:
            attempt(form, users.revoke_own_token, current_user, int(form.token_id.data))
            flash(_("The token is revoked. It no longer works."), "success")
            return redirect(url_for("web.account"))
        except Refused:
            pass
    flash(_("This token could not be revoked."), "error")
    return redirect(url_for("web.account"))


@bp.route("/account/password", methods=["GET", "POST"])
@requires(scope=USER)
def password_change():
    """Change your password; your other sessions end."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            attempt(form, users.change_password, current_user, form.current_password.data, form.password.data,
                    keep_session_hash=sessions.current_digest())
            flash(_("Your password is changed."), "success")
            return redirect(url_for("web.account"))
        except Refused:
            pass
    status = 422 if form.errors or form.form_errors else 200
    return render_template("account/password_change.html", form=form, hint=PASSWORD_HINT), status


# ----------------------------------------------------------------------------- links by e-mail

def _forgot_limited(request_limit=None):
    return current_app.make_response((render_template("account/too_many.html"), 429))


@bp.route("/password-forgot", methods=["GET", "POST"])
@limiter.limit(FORGOT_LIMIT, methods=["POST"], scope="web-password-forgot-per-ip", on_breach=_forgot_limited)
@public
def password_forgot():
    """Ask for a link to choose a new password; the answer is the same whether the address is known or not."""
    form = ForgotForm()
    if form.validate_on_submit():
        users.request_password_reset(form.email.data)
        db.session.commit()
        return redirect(url_for("web.password_forgot_sent"))
    status = 422 if request.method == "POST" else 200
    return render_template("account/password_forgot.html", form=form), status


@bp.get("/password-forgot/sent")
@public
def password_forgot_sent():
    return render_template("account/password_forgot_sent.html")


def _link_invalid(error: users.LinkInvalid, purpose: str):
    return render_template("account/link_invalid.html", reason=error.reason, purpose=purpose), 410


def _set_password_page(purpose: str, token: str, use):
    try:
        user = users.check_link(purpose, token)
    except users.LinkInvalid as error:
        return _link_invalid(error, purpose)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            user = attempt(form, use, token, form.password.data)
            sessions.start(user)
            flash(_("Welcome to Koppel. Your password is set and you are logged in.") if purpose == users.INVITATION
                  else _("Your new password is set and you are logged in."), "success")
            return redirect(url_for("web.home"))
        except users.LinkInvalid as error:
            db.session.rollback()
            return _link_invalid(error, purpose)
        except Refused:
            pass
    status = 422 if form.errors or form.form_errors else 200
    return render_template("account/set_password.html", form=form, purpose=purpose, user=user,
                           hint=PASSWORD_HINT), status


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
@public
def password_reset(token):
    """Choose a new password with the link from the e-mail."""
    return _set_password_page(users.PASSWORD_RESET, token, users.reset_password)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@public
def invitation(token):
    """Accept an invitation: choose a password, then you are logged in."""
    return _set_password_page(users.INVITATION, token, users.accept_invitation)
