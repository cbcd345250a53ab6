"""The bulk import: upload, dry run, and the progress of the background job.

As the API does (:mod:`core.api.imports`): what can be told of the upload at once (no file, not a workbook,
not UTF-8) is refused with the report (422); otherwise the upload becomes an import job that a worker runs
(:mod:`core.scheduling.imports`), a dry run unless the coordinator chose to import. The job's page shows its
progress (a ``<progress>`` bar that htmx refreshes every second from a small fragment; without JavaScript a
"refresh" link) and, when done, its report: the problems per sheet and row.
"""
from __future__ import annotations

from flask import current_app, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import RadioField

from core.auth import roles as R
from core.auth.access import requires
from core.extensions import db
from core.lookup import get_or_404
from core.programme import imports
from core.scheduling import imports as background
from core.scheduling.models import DONE, FAILED, ImportJob
from core.web import bp
from core.web.matches import status_of

STAFF = (R.COORDINATOR, R.TENANT_ADMIN)
#: Recent jobs listed on the upload page.
RECENT = 10


class ImportForm(FlaskForm):
    workbook = FileField(_l("Workbook (Excel, .xlsx)"))
    families = FileField(_l("Families (CSV)"))
    members = FileField(_l("Household members (CSV)"))
    matches = FileField(_l("Matches (CSV)"))
    dry_run = RadioField(_l("What should happen?"), default="yes", choices=[
        ("yes", _l("Only check the file: nothing is written (dry run)")),
        ("no", _l("Import: all rows are written, or none when there is a problem"))])


@bp.route("/<municipality>/import", methods=["GET", "POST"])
@requires(*STAFF)
def import_upload():
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        dry_run = form.dry_run.data != "no"
        sent = imports.received(request.files)
        checked = imports.check_upload(sent)
        if checked.problems:
            report = imports.Report(dry_run=dry_run, source=checked.source, problems=checked.problems).as_dict()
        else:
            principal = g.principal
            job = background.submit({name: item.content for name, item in sent.items()},
                                    [item.label for item in sent.values()],
                                    dry_run=dry_run, actor=principal.label, user_id=principal.user_id)
            db.session.commit()
            background.send(job)
            return redirect(url_for("web.import_job", import_job_id=job.id))
    jobs = db.session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(RECENT)).all()
    status = 422 if report is not None else status_of(form)
    return render_template("imports/upload.html", form=form, report=report, jobs=background.summaries(jobs),
                           limit_mb=round(current_app.config["IMPORT_MAX_BYTES"] / 2**20, 1)), status


def _job(import_job_id: int) -> dict:
    return background.describe(get_or_404(ImportJob, import_job_id))


@bp.get("/<municipality>/import/<int:import_job_id>")
@requires(*STAFF)
def import_job(import_job_id):
    return render_template("imports/job.html", job=_job(import_job_id), finished=(DONE, FAILED))


@bp.get("/<municipality>/import/<int:import_job_id>/progress")
@requires(*STAFF)
def import_job_progress(import_job_id):
    """The progress and, when done, the report: the fragment the job page refreshes."""
    return render_template("imports/_progress.html", job=_job(import_job_id), finished=(DONE, FAILED))
