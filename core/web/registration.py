"""The public registration form of a municipality (no login), and the confirmation by e-mail link.

A family asking for help, or a family that wants to help, signs up here. The form is short and in plain
Dutch (B1). The submission goes through the same schema and use case as the API's public endpoint
(:mod:`core.api.registrations`): it is kept unconfirmed, and a mail asks to confirm it
(:mod:`core.usecases.registrations`); only the confirmed registration becomes a family that this
municipality's coordinators see. An e-mail address is therefore required; the form says that a family
without one registers through a coordinator (by phone).

Against junk: the API's limit per client IP (counted in the API's own bucket, one allowance for both ways
in), and a honeypot field, hidden from people and from assistive technology, that a bot fills in: then the
answer is the same confirmation page and nothing is stored. The pages carry no personal data in their URL:
the confirmation page's text needs only the kind of registration, kept in the session; the mailed link holds
a signed id, nothing personal. The link opens a page with a button, so a mail scanner that follows links
confirms nothing.
"""
from __future__ import annotations

import logging

from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_limiter.errors import RateLimitExceeded
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, RadioField, SelectMultipleField, StringField, TelField, TextAreaField
from wtforms.validators import Length
from wtforms.widgets import CheckboxInput, ListWidget

from core.auth.access import public_in_tenant
from core.extensions import db, limiter
from core.labels import LABELS
from core.messages import label
from core.programme import vocabulary as V
from core.programme.registration import RegistrationSchema
from core.usecases import registrations
from core.web import bp
from core.web.forms import PostForm, Refused, attempt

log = logging.getLogger(__name__)

#: The version of the consent text the form shows (stored with the consent; change it when the text changes).
CONSENT_WORDING = "web-2026-01"
#: Within how many working days a coordinator contacts a family that signed up (said on the confirmation page).
RESPONSE_WORKING_DAYS = 5
#: The session key that tells the confirmation page what was registered (no personal data).
DONE_KEY = "registered_kind"

#: Plain-language messages per field, shown instead of the schema's technical wording (the public form is B1).
PLAIN = {
    "kind": _l("Choose whether you are looking for help or want to help."),
    "display_name": _l("Fill in your name."),
    "email": _l("This e-mail address is not correct. Check it, for example: name@example.nl."),
    "phone": _l("This phone number is too long."),
    "postcode": _l("Fill in your postcode, for example 7001 AB."),
    "house_number": _l("Fill in your house number."),
    "support_kinds": _l("Choose one of the kinds of help."),
    "message": _l("Your message is too long. Use at most 4,000 characters."),
    "consent_processing": _l("We can only help you if you agree. Tick the box."),
}
EMAIL_NEEDED = _l("Fill in your e-mail address. We send you an e-mail to confirm your sign-up.")


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes for a multiple choice (rendered with the ``choices`` macro)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RegistrationForm(FlaskForm):
    kind = RadioField(_l("What do you want?"), choices=[
        (V.REQUESTING, _l("I am looking for help for my family")),
        (V.SUPPORTING, _l("I want to help another family")),
    ], validate_choice=False)
    display_name = StringField(_l("Your name"), validators=[Length(max=120)])
    email = EmailField(_l("E-mail address"), validators=[Length(max=254)])
    phone = TelField(_l("Phone number"), validators=[Length(max=32)])
    postcode = StringField(_l("Postcode"), validators=[Length(max=10)])
    house_number = StringField(_l("House number"), validators=[Length(max=16)])
    support_kinds = MultiCheckboxField(_l("What kind of help?"), validate_choice=False)
    message = TextAreaField(_l("Anything else you want to tell us?"), validators=[Length(max=4000)])
    consent_processing = BooleanField(_l("Yes, I agree"))
    #: The honeypot: hidden from people and assistive technology (see register/form.html); a bot fills it in.
    website = StringField(_l("Leave this field empty"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.support_kinds.choices = [(code, label("support_kind", code)) for code in LABELS["support_kind"]]


def _data(form: RegistrationForm) -> dict:
    """The form as the schema takes it: empty optional fields left out (None), the consent wording added."""
    def text(field):
        value = (field.data or "").strip()
        return value or None

    return {
        "kind": form.kind.data or "", "display_name": text(form.display_name) or "",
        "email": text(form.email), "phone": text(form.phone),
        "postcode": (text(form.postcode) or "").upper(), "house_number": text(form.house_number) or "",
        "support_kinds": list(form.support_kinds.data or []), "message": text(form.message),
        "referral_source": "self", "consent_processing": bool(form.consent_processing.data),
        "consent_wording_version": CONSENT_WORDING,
    }


def _register(data: dict):
    """Validate with the public form's schema, then the use case (the same as the API's)."""
    return registrations.submit(RegistrationSchema().load(data))


def _plain_errors(form: RegistrationForm, data: dict) -> None:
    """Replace the schema's wording by plain language, one message per field. The schema checks consent only
    once every field is valid; say it at once too, so a family corrects all in one go."""
    if not data.get("consent_processing") and not form.consent_processing.errors:
        form.consent_processing.errors = [str(PLAIN["consent_processing"])]
    for name, field in form._fields.items():
        if not field.errors or name == "csrf_token":
            continue
        if name == "email" and not data.get("email"):
            field.errors = [str(EMAIL_NEEDED)]
        elif name in PLAIN:
            field.errors = [str(PLAIN[name])]


def _too_many(request_limit=None):
    """The Dutch (or English) page for a registration over the limit, with status 429."""
    return current_app.make_response((render_template("register/too_many.html"), 429))


#: The API's rate-limit bucket (flask-limiter names a bucket by endpoint and scope): the form counts in the same
#: one, so a client cannot double its allowance by using both ways in. tests/test_web_register.py checks this.
API_BUCKET = "registrations.register"


@bp.route("/<municipality>/register", methods=["GET", "POST"])
@limiter.shared_limit(lambda: current_app.config["REGISTRATION_LIMIT_PER_IP"], scope=API_BUCKET, methods=["POST"],
                      on_breach=_too_many)
@public_in_tenant
def register():
    """Sign up with the municipality as a family looking for help or as a family that wants to help."""
    form = RegistrationForm()
    if request.method == "POST" and form.website.data:  # the honeypot: the same answer, nothing stored
        log.info("registration: honeypot field filled in; nothing stored")
        session[DONE_KEY] = request.form.get("kind") if request.form.get("kind") in dict(form.kind.choices) else None
        return redirect(url_for("web.register_done"))
    if form.validate_on_submit():
        data = _data(form)
        try:
            attempt(form, _register, data)
            session[DONE_KEY] = data["kind"]
            return redirect(url_for("web.register_done"))
        except Refused:
            _plain_errors(form, data)
    status = 422 if request.method == "POST" else 200
    return render_template("register/form.html", form=form, days=RESPONSE_WORKING_DAYS), status


@bp.get("/<municipality>/register/done")
@public_in_tenant
def register_done():
    """What happens next, after signing up: confirm by e-mail (nothing personal: only whether help was asked or
    offered)."""
    return render_template("register/done.html", kind=session.get(DONE_KEY), days=RESPONSE_WORKING_DAYS,
                           hours=current_app.config["REGISTRATION_CONFIRM_HOURS"])


@bp.route("/<municipality>/register/confirm/<token>", methods=["GET", "POST"])
@public_in_tenant
def register_confirm(token):
    """The mailed link: a button confirms the registration (once); then the coordinators see it."""
    form = PostForm()
    try:
        if form.validate_on_submit():
            family = registrations.confirm(token)
            db.session.commit()
            session[DONE_KEY] = family.kind
            return redirect(url_for("web.register_confirmed"))
        registrations.check(token)
    except registrations.LinkInvalid:
        db.session.rollback()
        return render_template("register/link_invalid.html", hours=current_app.config["REGISTRATION_CONFIRM_HOURS"]), 410
    return render_template("register/confirm.html", form=form)


@bp.get("/<municipality>/register/confirmed")
@public_in_tenant
def register_confirmed():
    """After the confirmation: what happens next (only whether help was asked or offered)."""
    return render_template("register/confirmed.html", kind=session.get(DONE_KEY), days=RESPONSE_WORKING_DAYS)


@bp.errorhandler(RateLimitExceeded)
def rate_limited(error):
    """A page over a rate limit: the registration's own page (see :func:`_too_many`), else the error page."""
    if error.response is not None:
        return error.response
    return render_template("error.html", status=429, code="too_many_attempts", message=""), 429
