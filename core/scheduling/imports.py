"""Background imports (kind ``import``): the request stores the upload as a job, a worker imports it.

:func:`submit` stores the job, with the uploaded files in a zip, and a
scheduled item about it in the request's transaction; after the commit
:func:`send` puts the item on the queue (the kind has no ``find``: should the
message be lost, the dispatcher sends the pending item again). :func:`run`
reads the files and imports them through :func:`core.usecases.imports.run`,
as the person who sent them, inside the transaction that marks the item
done: the import's rows, the job's report and the item commit together, or
nothing does. The upload is dropped then. Problems in the file are a report
(``committed`` false), not a failure of the task.

Progress (rows checked and written, problems so far) is written to the job
at most once a second in a transaction of its own, so that it can be read
while the import's transaction is still open. That takes PostgreSQL: SQLite
lets one connection write at a time, and the worker's transaction holds the
lock from the moment it claims the item, so there the job shows its figures
when it is done.
"""
from __future__ import annotations

import io
import time as clock
import zipfile
from contextlib import contextmanager
from datetime import datetime

from flask import g
from sqlalchemy import select, update

from core import notifications
from core.auth.access import Principal
from core.errors import Conflict
from core.extensions import db
from core.messages import Message
from core.programme import imports
from core.scheduling import queue
from core.scheduling.models import DONE, FAILED, QUEUED, RUNNING, ImportJob, ScheduledItem
from core.scheduling.registry import BadData, Kind, Transient, register
from core.scheduling.runner import reason_of
from core.types import utcnow
from core.usecases import imports as import_cases
from tenants import rls
from tenants.context import Scope, current_tenant_id, tenant_scope

KIND = "import"
#: Progress is written at most this often (seconds).
PROGRESS_SECONDS = 1.0
#: What a file name may keep of its length.
NAME_LENGTH = 120


def key(job_id: int) -> str:
    return f"{KIND}:{job_id}"


# ----------------------------------------------------------------------------- the request

def pack(files: dict[str, bytes]) -> bytes:
    """The uploaded files (field name -> content) as a zip, one entry per field."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for field, content in files.items():
            archive.writestr(field, content)
    return out.getvalue()


def unpack(data: bytes) -> tuple[bytes | None, dict[str, bytes]]:
    """The workbook and the CSV files (by sheet) that :func:`pack` stored."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    return files.pop("workbook", None), files


def submit(files: dict[str, bytes], file_names: list[str], *, dry_run: bool, actor: str | None,
           user_id: int | None) -> ImportJob:
    """Store an import job and its item in the current tenant (the caller commits, then :func:`send`)."""
    source = "xlsx" if "workbook" in files else "csv"
    job = ImportJob(dry_run=dry_run, state=QUEUED, source=source, actor=actor, user_id=user_id,
                    file_names=[name[:NAME_LENGTH] for name in file_names], upload_data=pack(files))
    db.session.add(job)
    db.session.flush()
    now = utcnow()
    db.session.add(ScheduledItem(kind=KIND, key=key(job.id), tenant_id=current_tenant_id(), subject_id=job.id,
                                 due_at=now, enqueued_at=now))
    db.session.flush()
    return job


def send(job: ImportJob) -> None:
    """Put the job's item on the queue (after commit); when the broker is down, leave it to the dispatcher."""
    item_id = db.session.scalar(select(ScheduledItem.id).where(ScheduledItem.key == key(job.id)))
    if queue.enqueue([queue.Ticket(item_id, job.tenant_id)]) == 0:
        db.session.execute(update(ScheduledItem).where(ScheduledItem.id == item_id).values(enqueued_at=None)
                           .execution_options(synchronize_session=False))
        db.session.commit()


# ----------------------------------------------------------------------------- the worker

class Progress:
    """The progress callback of one run: counts rows, and writes the counts to the job now and then."""

    def __init__(self, job: ImportJob):
        self.job_id, self.tenant_id = job.id, job.tenant_id
        self.total = self.checked = self.written = self.problems = 0
        self.live = db.engine.dialect.name == "postgresql"  # see the module's docstring
        self.last = 0.0

    def __call__(self, what: str, problems: int) -> None:
        if what == imports.CHECKED:
            self.checked += 1
        else:
            self.written += 1
        self.problems = problems
        if self.live and clock.monotonic() - self.last >= PROGRESS_SECONDS:
            self.write()

    def figures(self) -> dict:
        return {"rows_total": self.total, "rows_checked": self.checked, "rows_written": self.written,
                "problem_count": self.problems}

    def write(self, **values) -> None:
        """In a transaction of its own, at once (PostgreSQL only): the figures, and *values*."""
        if not self.live:
            return
        self.last = clock.monotonic()
        table = ImportJob.__table__
        with db.engine.begin() as connection:
            rls.apply_scope(connection, Scope(tenant_id=self.tenant_id))
            connection.execute(update(table).where(table.c.id == self.job_id).values(**self.figures(), **values))


@contextmanager
def acting_for(job: ImportJob):
    """The services record the import as done by whoever sent it (``g.principal`` of the worker's app context)."""
    had, before = "principal" in g, g.get("principal")
    g.principal = Principal(label=job.actor or f"import {job.id}", grants=(), user_id=job.user_id)
    try:
        yield
    finally:
        if had:
            g.principal = before
        else:
            g.pop("principal", None)


def run(item) -> None:
    """Import the job's upload, in the transaction that marks *item* done; the report goes into the job."""
    job = db.session.get(ImportJob, item.subject_id)
    if job is None:
        raise BadData("the import job no longer exists")
    if job.upload_data is None:
        raise BadData("the upload is no longer kept; send the file again")
    progress = Progress(job)
    started = utcnow()
    progress.write(state=RUNNING, started_at=started, error=None)
    try:
        with acting_for(job):
            upload = imports.read_upload(*unpack(job.upload_data))
            progress.total = upload.rows
            progress.write()
            report = import_cases.run(upload, dry_run=job.dry_run, progress=progress)
    except Conflict:
        progress.write(state=QUEUED, error="changed at the same moment by someone else; tried again")
        raise Transient("the same families or matches were changed at the same moment") from None
    except Exception as error:
        progress.write(state=QUEUED, error=reason_of(error))
        raise
    report.committed = not job.dry_run and not report.problems
    figures = {**progress.figures(), "problem_count": len(report.problems)}
    if not report.committed:
        figures["rows_written"] = 0  # a dry run's rows, and a refused import's, were rolled back
    stored = report.as_dict()
    stored.pop("message")  # made again when read, in the reader's language
    db.session.execute(update(ImportJob).where(ImportJob.id == job.id).values(
        state=DONE, report=stored, upload_data=None, started_at=job.started_at or started, finished_at=utcnow(),
        error=None, **figures).execution_options(synchronize_session=False))
    _tell(job, _finished(job, report))


def _finished(job: ImportJob, report) -> Message:
    if report.problems:
        return Message("Import %(id)s is done: %(count)s problem(s) found, nothing was imported.",
                       {"id": job.id, "count": len(report.problems)}, code="import_refused")
    if job.dry_run:
        return Message("Dry run %(id)s is done: no problems found, nothing was written.", {"id": job.id},
                       code="import_checked")
    return Message("Import %(id)s is done: the file was imported.", {"id": job.id}, code="import_done")


def _tell(job: ImportJob, message: Message) -> None:
    if job.user_id is not None:
        notifications.notify([job.user_id], KIND, key(job.id), message, subject_type="import", subject_id=job.id)


def sweep(now: datetime) -> int:
    """Jobs whose item failed for good: failed too, their upload dropped, their sender told."""
    failed = db.session.execute(
        select(ImportJob, ScheduledItem.error).join(ScheduledItem, (ScheduledItem.kind == KIND)
                                                    & (ScheduledItem.subject_id == ImportJob.id))
        .where(ScheduledItem.state == FAILED, ImportJob.state != FAILED)).all()
    for job, error in failed:
        job.state, job.error, job.finished_at, job.upload_data = FAILED, error, job.finished_at or now, None
        db.session.flush()  # here, in the scheduler's scope: the next job may be another municipality's
        with tenant_scope(job.tenant_id):
            _tell(job, Message("Import %(id)s failed; nothing was imported. Send the file again.", {"id": job.id},
                               code="import_failed"))
    return len(failed)


# ----------------------------------------------------------------------------- what the API shows

def _item_states(job_ids: list[int]) -> dict[int, tuple[str, str | None]]:
    rows = db.session.execute(select(ScheduledItem.subject_id, ScheduledItem.state, ScheduledItem.error)
                              .where(ScheduledItem.key.in_([key(i) for i in job_ids])))
    return {row.subject_id: (row.state, row.error) for row in rows}


def summaries(jobs: list[ImportJob]) -> list[dict]:
    """The jobs as the API shows them, without their reports; a job whose item failed for good is failed
    (until the dispatcher's sweep records that in the job too)."""
    items = _item_states([job.id for job in jobs])
    out = []
    for job in jobs:
        state, error = job.state, job.error
        item_state, item_error = items.get(job.id, (None, None))
        if item_state == FAILED and state in (QUEUED, RUNNING):
            state, error = FAILED, item_error
        out.append({"id": job.id, "state": state, "dry_run": job.dry_run, "source": job.source,
                    "file_names": job.file_names, "error": error, "created_at": job.created_at,
                    "started_at": job.started_at, "finished_at": job.finished_at,
                    "progress": {"rows_total": job.rows_total, "rows_checked": job.rows_checked,
                                 "rows_written": job.rows_written, "problem_count": job.problem_count}})
    return out


def describe(job: ImportJob) -> dict:
    """One job as the API shows it: when done, with the report (its message in the reader's language)."""
    out = summaries([job])[0]
    if job.report is not None:
        out["report"] = {**job.report, "message": imports.summary(job.report)}
        out["committed"] = job.report["committed"]
    return out


register(Kind(KIND, {"nl": "Imports op de achtergrond", "en": "Background imports"}, run, sweep=sweep))
