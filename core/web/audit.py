"""The audit log pages: a municipality's for its administrators, everything for the platform's.

A municipality's log says that a user of another organisation was refused there, without naming them;
the platform's log names them (:func:`core.audit.shown`). Filters on the action and the days are query
parameters (no personal data in them); pages are keyset pages, newest first.
"""
from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from marshmallow import ValidationError
from wtforms import DateField, SelectField
from wtforms.validators import Optional

from core import audit
from core.api.common import keyset_page
from core.audit import AuditEvent
from core.auth import roles as R
from core.auth.access import PLATFORM, requires
from core.extensions import db
from core.web import bp
from tenants.context import cross_tenant_scope

PAGE_SIZE = 50
#: The filter's choices of action: a prefix (ending in a dot) or one action.
ACTIONS = (("family.", _l("Family records")), ("family.read", _l("Reads of a family")),
           ("access", _l("Refused access")), ("auth.", _l("Logins")), ("export.", _l("Exports and downloads")),
           ("report.", _l("Reports")), ("policy.", _l("Policy changes")), ("user.", _l("Users")),
           ("token.", _l("API tokens")), ("match.", _l("Matches")))
OUTCOMES = {audit.SUCCESS: _l("done"), audit.FAILURE: _l("failed"), audit.DENIED: _l("refused")}


class AuditFilterForm(FlaskForm):
    """The log's filters (GET; made with ``meta={"csrf": False}``)."""

    action = SelectField(_l("What"), validators=[Optional()])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("Up to and including"), validators=[Optional()])

    def fill(self) -> AuditFilterForm:
        self.action.choices = [("", _("Everything")), *((code, str(text)) for code, text in ACTIONS)]
        return self

    def values(self) -> dict:
        return {name: getattr(self, name).data for name in ("action", "since", "until") if getattr(self, name).data}


def _log(template: str, *, platform: bool):
    filters = AuditFilterForm(request.args, meta={"csrf": False}).fill()
    rows, next_cursor, status = [], None, 200
    if filters.validate():
        values = filters.values()
        query = {"limit": PAGE_SIZE, "cursor": request.args.get("cursor", "")}
        try:
            found, next_cursor = keyset_page(audit.listing(**values), query, AuditEvent.id, descending=True)
            rows = [audit.shown(e, platform=platform) for e in found]
        except ValidationError:
            filters.form_errors.append(_("This page of the list no longer exists; start again from the first page."))
            status = 400
    else:
        status = 422
    links = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in filters.values().items()} \
        if not filters.errors else {}
    return render_template(template, filters=filters, rows=rows, next_cursor=next_cursor, filter_values=links,
                           outcomes=OUTCOMES, platform=platform), status


@bp.get("/<municipality>/admin/audit")
@requires(R.TENANT_ADMIN)
def admin_audit():
    """The municipality's audit log."""
    return _log("audit/log.html", platform=False)


@bp.get("/platform/audit")
@requires(R.PLATFORM_ADMIN, scope=PLATFORM)
def platform_audit():
    """Every audit event, naming who was refused."""
    with cross_tenant_scope(audit.PLATFORM_SCOPE):
        html = _log("audit/log.html", platform=True)
        db.session.commit()
    return html
