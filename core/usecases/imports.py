"""Import a spreadsheet of families, members and matches: the use case behind every import.

Parsing and planning are :mod:`core.programme.imports`; here the plan is
written through the same use cases as work done by hand, in one transaction:
all rows or none. A worker runs it (:mod:`core.scheduling.imports`). Matches that the file leaves open (proposed, introduced, in
their trial or active) must pass the policy like any proposal and activation;
a row's ``override_reason`` is the importing coordinator's override, as on the
API. Matches that the file closes (ended, cancelled) are history: they are
recorded as they happened, without asking today's policy.
"""
from __future__ import annotations

from datetime import date

from marshmallow import ValidationError
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from core import audit
from core.errors import Conflict, KoppelHTTPError
from core.extensions import db
from core.messages import render
from core.programme import consent as consent_service
from core.programme import families as family_service
from core.programme import matches as match_service
from core.programme import vocabulary as V
from core.programme.imports import (MATCHABLE, REASON, WORDING_VERSION, WRITTEN, FamilyPlan, Plan, Problem, Report,
                                    Upload, _flatten, _nothing, plan, replay_order)
from core.programme.models import Family, ReferrerNotification
from core.usecases import families as family_cases
from core.usecases import matches as match_cases
from tenants.context import current_tenant_id


class _RowFailed(Exception):
    def __init__(self, problem: Problem):
        super().__init__(problem.message)
        self.problem = problem


def _messages(exc: Exception) -> list[tuple[str | None, str]]:
    if isinstance(exc, ValidationError):
        return [(column, render(message, "en")) for column, message in _flatten(exc.messages)]
    text_ = exc.text("en") if isinstance(exc, KoppelHTTPError) else str(exc)
    for problem in exc.details.get("problems", []) if isinstance(exc, KoppelHTTPError) else []:
        findings = "; ".join(f"{f['rule']}: {f['result']} ({f['explanation']})" for f in problem["findings"])
        text_ += f" Family {problem['family_id']}, {problem['decision_kind']}: {findings}."
    return [(None, text_)]


def _guard(sheet: str, row: int | None, fn, *args, **kwargs):
    """Call a service; a refusal becomes a problem on the row (a safety net: the plan checks the same rules)."""
    try:
        return fn(*args, **kwargs)
    except (ValidationError, KoppelHTTPError) as exc:
        column, message = _messages(exc)[0]
        raise _RowFailed(Problem(sheet, row, column, message)) from exc


def apply(out: Plan, progress=_nothing) -> None:
    """Write the plan through the services, in the caller's transaction; *progress* is called with
    :data:`~core.programme.imports.WRITTEN` after each row created or updated."""
    created: dict[str, Family] = {}
    for item in out.families.values():
        if item.action == "create":
            data = {**item.data, "members": [dict(m) for m in item.members],
                    "status": MATCHABLE[item.kind] if item.file_matches else (item.status or V.REGISTERED)}
            on = data.get("registered_on") or date.today()
            consents = tuple((purpose, WORDING_VERSION, on) for purpose in ("processing", *item.consents))
            family = _guard("families", item.row, family_cases.register, data, consents=consents)
            created[item.ref] = family
            progress(WRITTEN, 0)
        elif item.action == "update":
            family = item.existing
            if item.data:
                _guard("families", item.row, family_service.update, family, dict(item.data))
            for purpose in item.consents:
                _guard("families", item.row, consent_service.give, family, purpose, WORDING_VERSION, date.today())
            if item.status_change:
                _guard("families", item.row, family_cases.change_status, family.id, item.status_change, REASON, None)
            progress(WRITTEN, 0)
    for member in out.members:  # the members of a new family were written with it
        if member.action == "create" and member.family.existing is not None:
            _guard("members", member.row, family_service.add_member, member.family.existing, dict(member.data))
        elif member.action == "update":
            _guard("members", member.row, family_service.update_member, member.existing, dict(member.data))
        if member.action in ("create", "update"):
            progress(WRITTEN, 0)

    def family_of(item: FamilyPlan) -> Family:
        return created.get(item.ref) or item.existing

    replayed = []
    for item in replay_order(out.matches):
        requesting, supporting = family_of(item.requesting), family_of(item.supporting)
        if item.existing is None:
            for plan_, family in ((item.requesting, requesting), (item.supporting, supporting)):
                if plan_.ref in created and family.status not in (MATCHABLE[family.kind], V.MATCHED):
                    family_service.set_status(family, MATCHABLE[family.kind], f"{REASON}: match {item.ref}")
            data = {**item.propose, "requesting_family_id": requesting.id, "supporting_family_id": supporting.id}
            override_reason = data.pop("override_reason", None)
            if item.state in V.OPEN_MATCH_STATES:  # live work: the policy must let it through
                match = _guard("matches", item.row, match_cases.propose, data, override_reason)
            else:  # history: recorded as it happened
                match = _guard("matches", item.row, match_service.propose, data)
            steps = item.steps[1:]
        else:
            match, steps = item.existing, item.steps
        before = set(db.session.execute(select(ReferrerNotification.event).where(
            ReferrerNotification.match_id == match.id)).scalars()) if item.existing is not None else set()
        for step, on in steps:
            if step == V.ACTIVE and item.state == V.ACTIVE:  # live work: the policy and its terms
                data = {"on": on, "reason": REASON, "agreement": item.facts["agreement"],
                        "planned_end_on": item.facts.get("planned_end_on")}
                _guard("matches", item.row, match_cases.activate_match, match, data,
                       item.propose.get("override_reason"))
                continue
            facts = {}
            if step == V.ACTIVE:
                facts = {"agreement": item.facts["agreement"], "planned_end_on": item.facts.get("planned_end_on")}
            elif step == V.ENDED:
                facts = {"end_reason": item.facts["end_reason"], "outcome": item.facts.get("outcome")}
            _guard("matches", item.row, match_service.transition, match, step, on, REASON, **facts)
        replayed.append((match.id, before))
        if item.action in ("create", "update"):
            progress(WRITTEN, 0)
    for match_id, before in replayed:  # steps from before the move: do not tell the referrer now
        statement = update(ReferrerNotification).where(ReferrerNotification.match_id == match_id,
                                                       ReferrerNotification.status == "pending")
        if before:
            statement = statement.where(ReferrerNotification.event.not_in(before))
        db.session.execute(statement.values(status="cancelled"))
    for item in out.families.values():
        family = created.get(item.ref)
        if family is not None and item.status and family.status != item.status:
            family_service.set_status(family, item.status, REASON)
    db.session.flush()


# --------------------------------------------------------------------------- run

def _lock() -> None:
    """One import at a time per municipality (PostgreSQL; SQLite writes one at a time anyway)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(7301, :tenant)"), {"tenant": current_tenant_id()})


def run(upload: Upload, *, dry_run: bool = True, progress=_nothing) -> Report:
    """Check and, unless *dry_run*, import *upload* in the current tenant: all rows or none.

    Runs in the caller's transaction, inside a savepoint, and returns the report. On a real import
    without problems everything is flushed and the caller commits (and sets ``report.committed``); with
    problems, or on a dry run, the savepoint has been rolled back and nothing of the import was written
    (a refused real import leaves its ``import.run`` failure event in the caller's transaction). A dry run
    applies the plan too (through the same use cases) before it rolls back, so it finds what the real run
    would. Any other exception rolls the savepoint back and is raised. *progress* is told of each row
    checked and written.
    """
    report = Report(dry_run=dry_run, source=upload.source, problems=list(upload.problems))
    if not dry_run:
        _lock()
    savepoint = db.session.begin_nested()
    try:
        out = plan(upload, report, progress) if upload.tables else Plan()
        if upload.tables and not report.problems:
            try:
                apply(out, progress)
            except _RowFailed as exc:
                report.problems.append(exc.problem)
    except IntegrityError:
        savepoint.rollback()
        raise Conflict("the same families or matches were changed at the same moment; run the import again") from None
    except BaseException:
        savepoint.rollback()
        raise
    if dry_run or report.problems:
        savepoint.rollback()
        if not dry_run:
            audit.record("import.run", outcome=audit.FAILURE, object_type="import", apart=False,
                         detail={"source": report.source, "problems": len(report.problems)})
        return report
    savepoint.commit()
    audit.record("import.run", object_type="import", detail={"source": report.source, "counts": report.counts})
    db.session.flush()
    return report
