"""Web forms (Flask-WTF, CSRF-protected) and the bridge from a form to a use case.

A form renders and carries the CSRF token; the rules stay in the use case and its
marshmallow schema, so a page refuses exactly what the API refuses. :func:`attempt`
calls the use case and, when it refuses, puts its messages on the form's fields (or at
the top of the form) and rolls back, so that nothing half-written stays behind.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from marshmallow import ValidationError
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, Length

from core.errors import KoppelHTTPError, PreconditionFailed
from core.extensions import db
from core.messages import render_all
from core.web import bp


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    next = HiddenField()


class PostForm(FlaskForm):
    """A form with only the CSRF token, for buttons that POST (log out, language, a lifecycle step)."""


@bp.app_template_global()
def attributes(field, described: str, css: str, extra: dict) -> dict:
    """The HTML attributes of a form control: its classes, what describes it, whether it is invalid."""
    attrs = {"class_": css, **extra}
    if described.strip():
        attrs["aria-describedby"] = described.strip()
    if field.errors:
        attrs["aria-invalid"] = "true"
    return attrs


class Refused(Exception):
    """A use case refused a form; its messages are on the form."""


def _flatten(messages, prefix: str = ""):
    """(field path, [texts]) pairs of marshmallow's nested error dict."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(messages, (list, tuple)) and messages and all(isinstance(m, str) for m in messages):
        yield prefix, list(messages)
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            yield from _flatten(item, prefix)
    else:
        yield prefix, [str(messages)]


def show_errors(form: FlaskForm, error: Exception, fields: dict[str, str] | None = None) -> None:
    """Put *error*'s messages on *form*: a field's on that field (*fields* maps a schema field to a form
    field where the names differ), the rest at the top of the form."""
    fields = fields or {}
    if isinstance(error, ValidationError):
        from core.web.schema_forms import translate  # marshmallow's own messages, in the reader's language

        for path, texts in _flatten(render_all(error.messages)):
            texts = [translate(text) for text in texts]
            name = fields.get(path, path.split(".")[0])
            field = form._fields.get(name) if name not in ("", "_schema") else None
            if field is not None and field.type != "CSRFTokenField":
                field.errors = [*field.errors, *texts]
            else:
                form.form_errors.extend(texts)
        return
    if isinstance(error, PreconditionFailed):
        form.form_errors.append(str(_l("Someone else changed this in the meantime. Reload the page and "
                                       "make your change again.")))
        return
    form.form_errors.append(error.text())


def attempt(form: FlaskForm, action, *args, fields: dict[str, str] | None = None, **kwargs):
    """Run the use case *action*; commit and return its result, or (refused: a validation error or a
    4xx) roll back, put the reasons on *form* and raise :class:`Refused`."""
    try:
        result = action(*args, **kwargs)
        db.session.commit()
        return result
    except ValidationError as error:
        db.session.rollback()
        show_errors(form, error, fields)
    except KoppelHTTPError as error:
        db.session.rollback()
        if error.status >= 500 or error.status in (401, 403, 404):
            raise
        show_errors(form, error, fields)
    raise Refused()


def same_version(version: str | int | None):
    """A ``check_version`` for the use cases: the object must still be at the *version* the form showed."""
    def check(obj) -> None:
        if version is None or str(obj.version) != str(version):
            raise PreconditionFailed()
    return check
