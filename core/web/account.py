"""Logging in and out, the language, and the own account: settings, password, API tokens, sessions, e-mailed links.

Logging in takes two steps: the password (``/login``), then a code from the authenticator app or a recovery
code (``/login/code``); a user without an authenticator sets one up first (``/login/enrol``: a QR code and
the secret as text, confirmed with a code, then ten recovery codes shown once). Only then is there a session
(:mod:`core.auth.sessions`). A link from an invitation or password mail leads to the same second step: a
password set by e-mail never logs anyone in alone.

A link from an invitation or password mail (``/invitation/<token>``, ``/password-reset/<token>``) holds a
signed token and nothing personal (:mod:`core.usecases.users`); a link that was used or has expired gives
a page that says so, with status 410. "Forgot your password?" answers the same whether or not the address
is known, and is rate limited per client IP. Every failed login gets the same page and status.
"""
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, IntegerField, PasswordField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from core.auth import login as password_login
from core.auth import mfa, sessions
from core.auth.access import USER, public, requires
from core.extensions import db, limiter
from core.types import utcnow
from core.usecases import users
from core.web import bp
from core.web.forms import LoginForm, PostForm, Refused, attempt
from core.web.reauth import fresh_login, safe_next

#: "Forgot your password?" per client IP.
FORGOT_LIMIT = "5 per 15 minutes"

class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])


class ReauthForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    next = HiddenField()


CODE_HINT = _l("The 6 digits your authenticator app shows for Koppel, or one of your recovery codes.")


def _second_step(user, next_url: str | None = None):
    """The password is right: on to the code, or to setting up the authenticator."""
    sessions.begin_pending(user, next_url)
    return redirect(url_for("web.login_code" if mfa.is_enrolled(user) else "web.login_enrol"))


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Step one: e-mail address and password. Every failure (unknown, disabled, wrong, throttled) answers the
    same."""
    form = LoginForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        user = password_login.check_password(form.email.data, form.password.data, request.remote_addr)
        if user is not None:
            return _second_step(user, form.next.data)
        flash(_("The e-mail address or password is not correct, or there were too many attempts. "
                "Try again in a while."), "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form), status


@bp.route("/login/code", methods=["GET", "POST"])
@public
def login_code():
    """Step two: a code from the authenticator app, or a recovery code."""
    user = sessions.pending_user()
    if user is None or not mfa.is_enrolled(user):
        return redirect(url_for("web.login_enrol" if user is not None else "web.login"))
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        if password_login.check_code(user, form.code.data, request.remote_addr):
            next_url = sessions.pending_next()
            sessions.start(user)
            if mfa.recovery_codes_left(user) <= 2:
                flash(_("You have few recovery codes left. Make new ones on your account page."), "info")
            return redirect(safe_next(next_url))
        form.code.errors.append(_("is not correct, was used already, or there were too many attempts"))
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("account/login_code.html", form=form, hint=CODE_HINT), status


@bp.route("/login/enrol", methods=["GET", "POST"])
@public
def login_enrol():
    """Set up the authenticator app (first login): scan the QR code or type the secret, confirm with a code;
    the answer shows the recovery codes once, and the user is logged in."""
    user = sessions.pending_user()
    if user is None or mfa.is_enrolled(user):
        return redirect(url_for("web.login_code" if user is not None else "web.login"))
    secret = mfa.pending_secret(user)
    db.session.commit()
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            codes = attempt(form, users.enrol_mfa, user, form.code.data)
            next_url = sessions.pending_next()
            password_login.remember_source(user, request.remote_addr)
            user.last_login_at = utcnow()
            sessions.start(user)  # commits
            return render_template("account/recovery_codes.html", codes=codes, next=safe_next(next_url)), 201
        except Refused:
            status = 422
    elif request.method == "POST":
        status = 400
    uri = mfa.provisioning_uri(user, secret)
    return render_template("account/login_enrol.html", form=form, qr=mfa.qr_svg(uri), secret=secret,
                           grouped=" ".join(secret[i:i + 4] for i in range(0, len(secret), 4))), status


@bp.route("/reauthenticate", methods=["GET", "POST"])
@requires(scope=USER)
def reauthenticate():
    """Password and code again before a sensitive change; then back to the page (same site only)."""
    form = ReauthForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        if password_login.check_reauthentication(current_user, form.password.data, form.code.data,
                                                 request.remote_addr):
            sessions.confirm_authentication()
            db.session.commit()
            flash(_("Thank you. You can make the change now."), "success")
            return redirect(safe_next(form.next.data))
        flash(_("The password or code is not correct, or there were too many attempts. Try again in a while."),
              "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("account/reauthenticate.html", form=form, hint=CODE_HINT), status


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
    return redirect(safe_next(request.form.get("next")))


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
                           now=utcnow(), sessions=sessions.of_user(current_user), this_session=sessions.current_digest(),
                           codes_left=mfa.recovery_codes_left(current_user)), status


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
@fresh_login
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
@fresh_login
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


@bp.post("/account/sessions/end")
@requires(scope=USER)
@fresh_login
def account_sessions_end():
    """End the own sessions on other devices (this one stays)."""
    if PostForm().validate_on_submit():
        ended = users.end_other_sessions(current_user, sessions.current_digest())
        db.session.commit()
        flash(_("Your other sessions are ended (%(n)s).", n=ended), "success")
    return redirect(url_for("web.account"))


@bp.post("/account/recovery-codes")
@requires(scope=USER)
@fresh_login
def account_recovery_codes():
    """Make new recovery codes (the old ones stop working); shown once."""
    if not PostForm().validate_on_submit():
        return redirect(url_for("web.account"))
    codes = users.new_recovery_codes(current_user)
    db.session.commit()
    return render_template("account/recovery_codes.html", codes=codes, next=url_for("web.account")), 201


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
            response = _second_step(user)  # (it clears the cookie's session: the message comes after)
            flash(_("Your password is set. Now set up your authenticator app.") if not mfa.is_enrolled(user)
                  else _("Your new password is set. Now give the code from your authenticator app."), "success")
            return response
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
