"""A family's subject-access document (AVG art. 15) as a printable page or a JSON download, and the erasure
request (art. 17). The rules are in :mod:`core.usecases.subject_access` and :mod:`core.usecases.retention`."""
from __future__ import annotations

import json

from flask import Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from core.auth import roles as R
from core.auth.access import requires
from core.extensions import db
from core.usecases import retention, subject_access
from core.web import bp
from core.web.families import _status_for
from core.web.forms import Refused, attempt

STAFF = (R.COORDINATOR, R.TENANT_ADMIN)
#: A heading per table of the export (the table's name where none is given).
TITLES = {
    "family": _l("Family"), "member": _l("Household members"), "consent": _l("Consents"),
    "family_status_change": _l("Status changes"), "intake_meeting": _l("Intake meetings"),
    "approval": _l("Approvals"), "decision": _l("Decisions"), "duplicate_flag": _l("Possible duplicates"),
    "match": _l("Matches"), "match_transition": _l("Match steps"), "match_override": _l("Rule overrides"),
    "match_extension": _l("Match extensions"), "evaluation": _l("Evaluations"), "contact": _l("Contacts"),
    "referrer_notification": _l("Messages to the referrer"), "notification": _l("Notifications"),
    "work_item": _l("Work items"), "destruction_item": _l("Destruction lists"),
}
#: Columns that are the database's bookkeeping, not data about the family.
HIDDEN = ("tenant_id", "row_key")


class ErasureForm(FlaskForm):
    reason = TextAreaField(_l("The family's request"), validators=[DataRequired(), Length(max=retention.MAX_TEXT)])
    legal_basis = TextAreaField(_l("Legal exceptions weighed"),
                                validators=[DataRequired(), Length(max=retention.MAX_TEXT)])


def _page(data: dict, form: ErasureForm) -> str:
    return render_template("privacy/subject.html", data=data, form=form, titles=TITLES, hidden=HIDDEN)


@bp.get("/<municipality>/families/<int:family_id>/subject-access")
@requires(*STAFF)
def family_subject_access(family_id):
    """Everything stored about the family, readable and printable (the export is audited)."""
    data = subject_access.export(family_id, "html")
    html = _page(data, ErasureForm(formdata=None))
    db.session.commit()
    return html


@bp.get("/<municipality>/families/<int:family_id>/subject-access.json")
@requires(*STAFF)
def family_subject_access_json(family_id):
    """The same as a JSON file."""
    data = subject_access.export(family_id, "json")
    db.session.commit()
    return Response(json.dumps(data, ensure_ascii=False, indent=1), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="koppel-family-{family_id}.json"'})


@bp.post("/<municipality>/families/<int:family_id>/erasure")
@requires(*STAFF)
def family_erasure(family_id):
    """Record a request for erasure: a destruction list of one, for a second person to approve."""
    form = ErasureForm()
    if form.validate_on_submit():
        try:
            found = attempt(form, retention.request_erasure, family_id, form.reason.data, form.legal_basis.data)
            flash(_("The request is recorded; a second person approves the destruction."), "success")
            return redirect(url_for("web.retention_list", destruction_list_id=found.id))
        except Refused:
            pass
    data = subject_access.export(family_id, "html")
    html = _page(data, form)
    db.session.commit()
    return html, _status_for(form)
