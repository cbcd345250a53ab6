"""Use cases of export runs: make a schedule's file for a period, regenerate it, list runs, download one.

* :func:`produce` is idempotent: a schedule and a period never give two
  different files. When the period has a run, that run is returned, its
  stored bytes untouched; else the report is built for the funder (audience
  ``FUNDER``, the funder's pseudonym key) and rendered, and the file is
  stored with its size and SHA-256.
* :func:`regenerate` (an admin's) stores a new version of the period's file
  and keeps the old one, superseded by the new.
* Before a file is made, the funder must still hold the funder role
  covering the scope, and no earlier export of the funder (of this scope or
  one sharing figures with it) may cover part of the period without being
  the same period: so no export lies within another (409, or a failed item
  with the reason).
* :func:`download` hands the stored bytes to the funder of the run or an
  admin of its scope.

Every generation and every download is audited (ids, period, version and
checksum; no personal data).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core import audit, reports
from core.errors import Conflict, NotFound
from core.exports import access, pseudonyms
from core.exports.access import CONSORTIUM_SCOPE, Scope, Viewer
from core.exports.models import DELIVERED, DONE, DOWNLOAD, PENDING, ExportDelivery, ExportRun, ExportSchedule
from core.exports.rules import Period
from core.extensions import db
from core.messages import Message
from core.types import utcnow
from tenants.context import cross_tenant_scope
from tenants.models import Consortium, Municipality


@dataclass(frozen=True)
class File:
    """A stored export file, as a download hands it out."""

    content: bytes
    media_type: str
    file_name: str
    sha256: str


def listing(scope: Scope, viewer: Viewer, schedule_id: int | None = None):
    """The SELECT of the runs *viewer* sees in *scope* (optionally of one schedule), for a page; run it in
    ``scope.entered()``."""
    statement = select(ExportRun).where(scope.rows(ExportRun), viewer.sees(ExportRun))
    return statement if schedule_id is None else statement.where(ExportRun.schedule_id == schedule_id)


def get(scope: Scope, run_id: int, viewer: Viewer) -> ExportRun:
    """One run of *scope* that *viewer* sees; 404 otherwise (another funder's, another scope's)."""
    found = db.session.scalar(listing(scope, viewer).where(ExportRun.id == run_id))
    if found is None:
        raise NotFound(Message("No export %(id)s.", {"id": run_id}, code="not_found"))
    return found


def current(schedule_id: int, period: Period) -> ExportRun | None:
    """The schedule's run of *period* that no regeneration has superseded."""
    return db.session.scalar(select(ExportRun).where(
        ExportRun.schedule_id == schedule_id, ExportRun.period_start == period.start,
        ExportRun.period_end == period.end, ExportRun.superseded_at.is_(None)))


def produce(schedule: ExportSchedule, period: Period, *, actor: str | None = None) -> tuple[ExportRun, bool]:
    """The schedule's file of *period*: the stored run when there is one (``False``), else made now (``True``).
    The caller commits."""
    with Scope.of(schedule).entered():
        found = current(schedule.id, period)
        if found is not None:
            return found, False
        try:
            with db.session.begin_nested():
                return _make(schedule, period, version=1, actor=actor), True
        except IntegrityError:  # made at this moment by another process: theirs stands
            found = current(schedule.id, period)
            if found is None:
                raise
            return found, False


def regenerate(run: ExportRun, *, actor: str | None = None) -> ExportRun:
    """A new version of *run*'s period (of the current version of its schedule), which supersedes the current
    one; the old file is kept. The caller commits (and hands the new run to delivery)."""
    schedule = run.schedule
    if schedule is None:
        raise Conflict(Message("The schedule of this export was deleted; there is nothing to regenerate it from.",
                               code="export_schedule_deleted"))
    period = Period(run.period_start, run.period_end, run.period)
    with Scope.of(schedule).entered():
        old = current(schedule.id, period)
        version = 1 + (db.session.scalar(select(func.max(ExportRun.version)).where(
            ExportRun.schedule_id == schedule.id, ExportRun.period_start == period.start,
            ExportRun.period_end == period.end)) or 0)
        try:
            with db.session.begin_nested():
                new = _make(schedule, period, version=version, actor=actor)
        except IntegrityError:
            raise Conflict(Message("This export was regenerated at the same moment by someone else; see its newest "
                                   "version.", code="export_regenerated_meanwhile")) from None
        if old is not None:
            old.superseded_at, old.superseded_by_id = utcnow(), new.id
            db.session.flush()
        audit.record("export.regenerate", object_type="export_run", object_id=new.id, tenant_id=schedule.tenant_id,
                     actor=actor, detail={"schedule_id": schedule.id, "supersedes": old.id if old else None,
                                          "version": version, "period_start": period.start.isoformat(),
                                          "period_end": period.end.isoformat(), "sha256": new.sha256})
    return new


def download(run: ExportRun, viewer: Viewer) -> File:
    """The stored bytes of *run* for *viewer* (its funder, or an admin of its scope: 404 otherwise);
    audited. The caller commits."""
    if not viewer.may_see(run):
        raise NotFound(Message("No export %(id)s.", {"id": run.id}, code="not_found"))
    with Scope.of(run).entered():
        content = db.session.scalar(select(ExportRun.content).where(ExportRun.id == run.id))
        audit.record("export.download", object_type="export_run", object_id=run.id, tenant_id=run.tenant_id,
                     detail={"schedule_id": run.schedule_id, "consortium_id": run.consortium_id,
                             "version": run.version, "sha256": run.sha256, "as_admin": viewer.admin})
    return File(content, run.media_type, run.file_name, run.sha256)


# ----------------------------------------------------------------------------- making the file

def _make(schedule: ExportSchedule, period: Period, *, version: int, actor: str | None) -> ExportRun:
    """Check the rules, build and render the report, store it as a run (and, for a download, record it as
    delivered); audited. Inside the schedule's scope."""
    scope = Scope.of(schedule)
    if not access.is_funder(schedule.funder_id, scope):
        raise Conflict(Message("The schedule's funder no longer holds the funder role for this municipality or "
                               "consortium (or the account is inactive); no export is made.",
                               code="funder_without_role"))
    _check_no_nesting(schedule, scope, period)
    rendered = _render(schedule, scope, period)
    content = bytes(rendered.content)
    digest = hashlib.sha256(content).hexdigest()
    name = f"koppel-{_slug(scope)}-{period.label}" + (f"-v{version}" if version > 1 else "")
    run = ExportRun(tenant_id=schedule.tenant_id, consortium_id=schedule.consortium_id, schedule_id=schedule.id,
                    funder_id=schedule.funder_id, period=period.kind, period_start=period.start,
                    period_end=period.end, version=version, format=schedule.format, language=schedule.language,
                    channel=schedule.channel, media_type=rendered.media_type, file_name=f"{name}.{rendered.extension}",
                    size=len(content), sha256=digest, content=content, created_by_id=audit.actor_user_id(),
                    status=DONE if schedule.channel == DOWNLOAD else PENDING)
    db.session.add(run)
    db.session.flush()
    if schedule.channel == DOWNLOAD:
        db.session.add(ExportDelivery(tenant_id=run.tenant_id, run_id=run.id, channel=DOWNLOAD, outcome=DELIVERED))
        db.session.flush()
    audit.record("export.generate", object_type="export_run", object_id=run.id, tenant_id=schedule.tenant_id,
                 actor=actor, detail={"schedule_id": schedule.id, "consortium_id": schedule.consortium_id,
                                      "funder_user_id": schedule.funder_id, "period_start": period.start.isoformat(),
                                      "period_end": period.end.isoformat(), "version": version,
                                      "format": schedule.format, "size": len(content), "sha256": digest})
    return run


def _check_no_nesting(schedule: ExportSchedule, scope: Scope, period: Period) -> None:
    """409 when an earlier export of the funder, of a scope sharing figures with this one, covers part of
    *period* without covering exactly *period* (a schedule whose kind of period changed, say)."""
    with cross_tenant_scope(CONSORTIUM_SCOPE):
        clash = db.session.execute(
            select(ExportRun.period_start, ExportRun.period_end)
            .where(ExportRun.funder_id == schedule.funder_id, scope.overlapping(ExportRun),
                   ExportRun.period_start <= period.end, ExportRun.period_end >= period.start,
                   (ExportRun.period_start != period.start) | (ExportRun.period_end != period.end)).limit(1)).first()
    if clash is not None:
        raise Conflict(Message(
            "An earlier export for this funder covers %(start)s to %(end)s, part of this period: an export may "
            "not lie within another, so this period is not exported.",
            {"start": clash.period_start, "end": clash.period_end}, code="export_period_overlaps"))


def _slug(scope: Scope) -> str:
    if scope.tenant_id is not None:
        return db.session.scalar(select(Municipality.slug).where(Municipality.id == scope.tenant_id))
    return db.session.scalar(select(Consortium.slug).where(Consortium.id == scope.consortium_id))


def _render(schedule: ExportSchedule, scope: Scope, period: Period):
    """The funder's report of *period* for *scope*, as of the period's last day, rendered in the schedule's
    format and language."""
    target = (db.session.get(Municipality, scope.tenant_id) if scope.tenant_id is not None
              else db.session.get(Consortium, scope.consortium_id))
    try:
        report = reports.build(target, period, audience=reports.FUNDER,
                               as_of=period.end, language=schedule.language,
                               pseudonym_key=pseudonyms.key_of(schedule.funder_id))
    except ValueError as error:  # a consortium without members
        raise Conflict(Message("The report cannot be made: %(reason)s.", {"reason": str(error)},
                               code="report_not_possible")) from None
    return reports.render(report, schedule.format)
