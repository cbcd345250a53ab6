"""The funder portal: the exports a funder receives, and their files.

A funder holds the funder role for a municipality or for a consortium. The portal lists, per such
membership, the funder's own export schedules and stored runs, read through the same use cases as the API
(:mod:`core.exports.schedules`, :mod:`core.exports.runs`) with a :class:`~core.exports.access.Viewer` that
is not an admin: another funder's schedule or run is never listed, and its file is "not found" (404).
Runs hold aggregated, pseudonymised reports only (``docs/reports.md``); this page shows their facts (period,
format, size), never a figure about a person.

A file is downloaded under the municipality or consortium it belongs to, so the access check applies the
funder role there and (for a municipality) checks that the run is one of its rows before the view runs.
"""
from __future__ import annotations


from flask import g, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from core.auth import roles as R
from core.auth.access import CONSORTIUM, PLATFORM, requires
from core.exports import rules, runs, schedules
from core.exports.access import Scope, Viewer
from core.exports.models import ExportRun, ExportSchedule
from core.extensions import db
from core.types import utcnow
from core.api.exports import file_response
from core.web import bp


#: How a schedule's period and channel read.
PERIODS = {"month": _l("a month"), "quarter": _l("a quarter"), "year": _l("a year")}
CHANNELS = {"download": _l("download here"), "email": _l("by e-mail"), "webhook": _l("sent to your system (webhook)")}


def _next_run(schedule: ExportSchedule):
    return rules.next_fire(schedule.cron, schedule.time_zone, utcnow()) if schedule.active else None


@bp.get("/funder/")
@requires(R.FUNDER, scope=PLATFORM)  # a funder role anywhere (a municipality's or a region's); 403 otherwise
def funder_home():
    """The exports this funder receives: per municipality or region, its schedules and its stored files."""
    memberships = sorted((m for m in current_user.memberships if m.role == R.FUNDER),
                         key=lambda m: (m.consortium_id is None, (m.consortium or m.municipality).name))
    viewer = Viewer(current_user.id, admin=False)
    places = []
    for membership in memberships:
        scope = Scope(tenant_id=membership.municipality_id) if membership.municipality_id is not None \
            else Scope(consortium_id=membership.consortium_id)
        with scope.entered():
            found_schedules = db.session.scalars(schedules.listing(scope, viewer).order_by(ExportSchedule.id)).all()
            found_runs = db.session.scalars(runs.listing(scope, viewer)
                                            .order_by(ExportRun.period_start.desc(), ExportRun.id.desc())).all()
        places.append({"membership": membership, "scope": scope,
                       "name": membership.municipality.name if membership.municipality_id is not None
                       else membership.consortium.name,
                       "schedules": [(s, _next_run(s)) for s in found_schedules], "runs": found_runs})
    return render_template("funder/home.html", places=places, period_labels=PERIODS, channel_labels=CHANNELS)


@bp.get("/<municipality>/funder/exports/<int:export_run_id>")
@requires(R.FUNDER)
def funder_download(export_run_id):
    """A stored export file of this municipality that was made for this funder (404 for anyone else's)."""
    viewer = Viewer(current_user.id, admin=False)
    run = runs.get(Scope(tenant_id=g.tenant.id), export_run_id, viewer)
    return file_response(run, viewer)


@bp.get("/regio/<consortium>/funder/exports/<int:export_run_id>")
@requires(R.FUNDER, scope=CONSORTIUM)
def funder_consortium_download(export_run_id):
    """A stored export file of this region (or one of its members) made for this funder (404 otherwise)."""
    viewer = Viewer(current_user.id, admin=False)
    scope = Scope(consortium_id=g.consortium.id)
    with scope.entered():
        run = runs.get(scope, export_run_id, viewer)
    return file_response(run, viewer)
