"""Logging in and out, and choosing the language."""
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from core.auth import login as password_login
from core.auth import sessions
from core.auth.access import USER, public, requires
from core.errors import TooManyAttempts
from core.web import bp
from core.web.forms import LoginForm, PostForm


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
