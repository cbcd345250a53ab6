"""Translated labels for roles and error pages, available in every template."""
from flask_babel import format_date, format_datetime, format_decimal, format_percent, get_locale
from flask_babel import lazy_gettext as _l

from core.web import bp

ROLE_LABELS = {
    "coordinator": _l("coordinator"),
    "tenant_admin": _l("municipality administrator"),
    "consortium_admin": _l("region administrator"),
    "funder": _l("funder"),
    "platform_admin": _l("platform administrator"),
}

ERROR_TITLES = {
    "tenant_suspended": _l("This municipality is suspended"),
    "forbidden": _l("No access"),
    "not_found": _l("Page not found"),
    "too_many_attempts": _l("Too many attempts"),
    # Werkzeug's own descriptions of these are English: show ours instead.
    "bad_request": _l("The request could not be handled"),
    "internal_server_error": _l("Something went wrong"),
    "request_refused": _l("The request could not be handled"),
    "too_large": _l("The file is too large"),
}

ERROR_TEXTS = {
    "tenant_suspended": _l("The municipality's data is kept, but nobody can use Koppel here until it is reactivated. "
                           "Contact your region's administrator."),
    "forbidden": _l("Your role does not allow this page."),
    "not_found": _l("This page does not exist, or you have no access to it."),
    "too_many_attempts": _l("Too many failed attempts. Wait a quarter of an hour and try again."),
    "bad_request": _l("The form may have expired. Reload the page and try again."),
    "internal_server_error": _l("Something went wrong on our side. Try again later."),
    "request_refused": _l("This page cannot handle this request. Go back and try again."),
    "too_large": _l("The file is larger than allowed. Split it into parts and send them one by one."),
}


@bp.app_template_filter("role_label")
@bp.app_template_global("role_label")
def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def _known(code: str, status: int) -> str:
    """Our own wording for every error: Werkzeug's descriptions are English only."""
    if code in ERROR_TITLES:
        return code
    return "not_found" if status == 404 else "request_refused" if status < 500 else "internal_server_error"


@bp.app_template_global()
def error_title(code: str, status: int) -> str:
    return str(ERROR_TITLES[_known(code, status)])


#: Errors whose own message says more than a fixed text could (the limit, and what to do).
OWN_MESSAGE = {"too_large"}


@bp.app_template_global()
def error_text(code: str, status: int, message: str | None = None) -> str:
    if code in OWN_MESSAGE and message:
        return message
    return str(ERROR_TEXTS[_known(code, status)])


bp.add_app_template_global(format_decimal, "format_decimal")
bp.add_app_template_global(get_locale, "get_locale")
bp.add_app_template_global(format_date, "format_date")
bp.add_app_template_global(format_datetime, "format_datetime")
bp.add_app_template_global(format_percent, "format_percent")


@bp.app_template_global()
def vocab(vocabulary: str, code: str | None) -> str:
    """A vocabulary code (a status, a kind, an end reason) in the reader's language."""
    from core.messages import label

    return "" if code is None else label(vocabulary, code)
