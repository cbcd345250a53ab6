"""A municipality's funding statement for a period, by its policy's funding model (and rendered as a report).

What happened in the period (:func:`activity`) is counted up to the statement's
date, ``as_of``: today by default, never after the period's end, so that a
fee per match never bills months not yet delivered. The words of a statement
are for people: the funding model describes its lines, its method and its
assumptions as messages, and :func:`statement` renders them in the request's
language. :func:`as_report` lays the statement out as a report with the
business case's sections (:mod:`core.reports.business_case`, whose headings
are Koppel's messages); amounts stay Decimals, written by each report format.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from core.errors import Conflict
from core.extensions import db
from core.messages import current_language, render as render_message
from core.policy import manager, service
from core.policy.types import FundingActivity, FundingStatement, MunicipalityFacts, Report
from core.programme.models import Family, Match
from tenants.context import cross_tenant_scope, tenant_scope
from tenants.models import Municipality

DAYS_PER_MONTH = Decimal("30.4375")  # 365.25 / 12
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def today() -> date:
    """Today in Dutch time."""
    return datetime.now(AMSTERDAM).date()


def statement_date(end: date, as_of: date | None = None) -> date:
    """The statement's date: *as_of* (today when None), never after the period's *end*."""
    return min(as_of or today(), end)


def programme_started_on(tenant_id: int) -> date:
    """The day the municipality's programme began in Koppel: the earliest of the municipality's start in Koppel
    (in Dutch time) and the registration of its first family."""
    created = db.session.scalar(select(Municipality.created_at).where(Municipality.id == tenant_id))
    with tenant_scope(tenant_id):
        first_family = db.session.scalar(select(func.min(Family.registered_on)))
    started = created.astimezone(AMSTERDAM).date() if created.tzinfo else created.date()
    return min(started, first_family) if first_family else started


def activity(tenant_id: int, start: date, end: date, as_of: date | None = None) -> FundingActivity:
    """What happened from *start* up to the statement's date (*as_of*, see :func:`statement_date`): matches started
    (their trial began), active months, outcomes of the matches that ended; and the consortium's members."""
    until = statement_date(end, as_of)
    municipality = db.session.get(Municipality, tenant_id)
    members = db.session.execute(select(Municipality.id, Municipality.name, Municipality.inhabitants)
                                 .where(Municipality.consortium_id == municipality.consortium_id)
                                 .order_by(Municipality.name)).all()
    started, running = {}, []
    if until >= start:
        with cross_tenant_scope("consortium-aggregation"):
            started = dict(db.session.execute(
                select(Match.tenant_id, func.count()).where(Match.tenant_id.in_([m.id for m in members]),
                                                            Match.trial_on.between(start, until))
                .group_by(Match.tenant_id)).all())
        with tenant_scope(tenant_id):
            running = db.session.execute(select(Match.trial_on, Match.ended_on, Match.outcome).where(
                Match.trial_on.is_not(None), Match.trial_on <= until,
                (Match.ended_on.is_(None)) | (Match.ended_on >= start))).all()
    days = sum((min(row.ended_on or until, until) - max(row.trial_on, start)).days + 1 for row in running)
    outcomes = Counter(row.outcome for row in running if row.outcome and row.ended_on and row.ended_on <= until)
    facts = [MunicipalityFacts(m.id, m.name, m.inhabitants, started.get(m.id, 0)) for m in members]
    return FundingActivity(
        period_start=start, period_end=end, municipality=next(f for f in facts if f.id == tenant_id),
        consortium_members=tuple(facts), matches_started=started.get(tenant_id, 0),
        active_match_months=(Decimal(days) / DAYS_PER_MONTH).quantize(Decimal("0.01")), outcomes=dict(outcomes),
        as_of=until, programme_started_on=programme_started_on(tenant_id))


def has_funding_model(tenant_id: int) -> bool:
    return "funding" in service.current(tenant_id).kinds()


def compute(tenant_id: int, start: date, end: date, as_of: date | None = None) -> FundingStatement:
    """The funding model's statement as it gives it (descriptions as messages); 409 without a funding model."""
    policy = service.current(tenant_id)
    if "funding" not in policy.kinds():
        raise Conflict("this municipality's policy enables no funding model")
    for result in policy.call("koppel_funding_statement", activity=activity(tenant_id, start, end, as_of)):
        if result.error:
            raise Conflict(f"the funding model {result.plugin} {result.version} failed: {result.error}")
        if result.value is not None:
            return result.value
    raise Conflict("the funding model gave no statement")


def statement(tenant_id: int, start: date, end: date, language: str | None = None,
              as_of: date | None = None) -> FundingStatement:
    """The funding model's statement up to *as_of*, its words as text in *language* (the request's)."""
    return in_language(compute(tenant_id, start, end, as_of), language)


def in_language(statement_: FundingStatement, language: str | None = None) -> FundingStatement:
    """*statement_* with the words of its lines, method and assumptions rendered in *language* (default: the
    request's)."""
    language = language or current_language()

    def lines(found):
        return tuple(replace(line, description=render_message(line.description, language),
                             source=render_message(line.source, language)) for line in found)

    avoided = statement_.avoided
    if avoided is not None:
        avoided = replace(avoided, method=render_message(avoided.method, language), assumptions=tuple(
            replace(a, name=render_message(a.name, language), value=render_message(a.value, language))
            for a in avoided.assumptions))
    return replace(statement_, lines=lines(statement_.lines), avoided=avoided)


def model_title(model: str, language: str) -> str:
    """The funding model's title in *language* (its name when it is not installed)."""
    try:
        titles = manager.plugin_class(model).title
    except manager.PluginError:
        return model
    return titles.get(language) or titles.get("en") or model


def as_report(statement_: FundingStatement, municipality_name: str, language: str | None = None,
              case=None) -> Report:
    """The statement as a report in *language* (default: the request's): costs, who pays, the consortium's split,
    the avoided costs with their method and assumptions, and, given the municipality's
    :class:`~core.reports.business_case.BusinessCase` (*case*), the families and children reached and the cost
    of each. Amounts are Decimals."""
    from core.reports import business_case  # the business case builds on this module

    return business_case.statement_report(statement_, municipality_name, language or current_language(), case)
