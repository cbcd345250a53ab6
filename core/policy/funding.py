"""A municipality's funding statement for a period, by its policy's funding model (and rendered as a report).

The words of a statement are for people: the funding model describes its
lines as messages, and :func:`statement` renders them in the request's
language (so the JSON statement and any report read in that language). The
report's title, section titles and column headings are messages too, in the
funding model's catalogue (the built-in models translate them); amounts stay
Decimals, written by each report format.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from core.errors import Conflict
from core.extensions import db
from core.messages import Message, current_language, render as render_message
from core.policy import manager, service
from core.policy.types import FundingActivity, FundingStatement, MunicipalityFacts, Report, Section
from core.programme.models import Match
from tenants.context import cross_tenant_scope, tenant_scope
from tenants.models import Municipality

DAYS_PER_MONTH = Decimal("30.4375")  # 365.25 / 12


def activity(tenant_id: int, start: date, end: date) -> FundingActivity:
    """What happened in the period: matches started (trial), active months, outcomes; and the consortium's members."""
    municipality = db.session.get(Municipality, tenant_id)
    members = db.session.execute(select(Municipality.id, Municipality.name, Municipality.inhabitants)
                                 .where(Municipality.consortium_id == municipality.consortium_id)
                                 .order_by(Municipality.name)).all()
    with cross_tenant_scope("consortium-aggregation"):
        started = dict(db.session.execute(
            select(Match.tenant_id, func.count()).where(Match.tenant_id.in_([m.id for m in members]),
                                                        Match.trial_on.between(start, end))
            .group_by(Match.tenant_id)).all())
    with tenant_scope(tenant_id):
        running = db.session.execute(select(Match.trial_on, Match.ended_on, Match.ended_on.between(start, end),
                                            Match.outcome).where(
            Match.trial_on.is_not(None), Match.trial_on <= end,
            (Match.ended_on.is_(None)) | (Match.ended_on >= start))).all()
    days = sum((min(row.ended_on or end, end) - max(row.trial_on, start)).days + 1 for row in running)
    outcomes = Counter(row.outcome for row in running if row[2] and row.outcome)
    facts = [MunicipalityFacts(m.id, m.name, m.inhabitants, started.get(m.id, 0)) for m in members]
    return FundingActivity(
        period_start=start, period_end=end, municipality=next(f for f in facts if f.id == tenant_id),
        consortium_members=tuple(facts), matches_started=started.get(tenant_id, 0),
        active_match_months=(Decimal(days) / DAYS_PER_MONTH).quantize(Decimal("0.01")), outcomes=dict(outcomes))


def statement(tenant_id: int, start: date, end: date, language: str | None = None) -> FundingStatement:
    """The funding model's statement, its lines' descriptions and sources as text in *language* (the request's)."""
    policy = service.current(tenant_id)
    if "funding" not in policy.kinds():
        raise Conflict("this municipality's policy enables no funding model")
    for result in policy.call("koppel_funding_statement", activity=activity(tenant_id, start, end)):
        if result.error:
            raise Conflict(f"the funding model {result.plugin} {result.version} failed: {result.error}")
        if result.value is not None:
            return in_language(result.value, language)
    raise Conflict("the funding model gave no statement")


def in_language(statement_: FundingStatement, language: str | None = None) -> FundingStatement:
    """*statement_* with the descriptions and sources of its lines rendered in *language* (default: the request's)."""
    language = language or current_language()

    def lines(found):
        return tuple(replace(line, description=render_message(line.description, language),
                             source=render_message(line.source, language)) for line in found)

    return replace(statement_, lines=lines(statement_.lines), avoided_costs=lines(statement_.avoided_costs))


def _title(model: str, language: str) -> str:
    """The funding model's title in *language* (its name when it is not installed)."""
    try:
        titles = manager.plugin_class(model).title
    except manager.PluginError:
        return model
    return titles.get(language) or titles.get("en") or model


def as_report(statement_: FundingStatement, municipality_name: str, language: str | None = None) -> Report:
    """The statement as a report, its words in *language* (default: the request's); amounts as Decimals.

    The headings are messages of the funding model's catalogue (``domain``): the
    built-in models' catalogue translates them.
    """
    language = language or current_language()
    statement_ = in_language(statement_, language)

    def message(text: str, **params) -> str:
        return render_message(Message(text, params, domain=statement_.model), language)

    description, amount, source = message("Description"), message("Amount"), message("Source")
    sections = [
        Section(message("Costs"), (description, amount), tuple((l.description, l.amount) for l in statement_.lines)),
        Section(message("Paid by"), (message("Payer"), amount),
                tuple([(name, v) for name, v in statement_.funds_pay.items()]
                      + [(municipality_name, statement_.municipality_pays)])),
        Section(message("Avoided costs"), (description, amount, source),
                tuple((l.description, l.amount, l.source or "") for l in statement_.avoided_costs)),
    ]
    if statement_.consortium_split:
        sections.insert(2, Section(message("Consortium split"), (message("Municipality"), amount),
                                   tuple((n, v) for n, v in statement_.consortium_split.items())))
    return Report(title=message("Funding statement %(municipality)s", municipality=municipality_name),
                  subtitle=message("%(start)s to %(end)s (%(model)s)", start=statement_.period_start,
                               end=statement_.period_end, model=_title(statement_.model, language)),
                  sections=tuple(sections))


def render(report: Report, tenant_id: int, media_format: str):
    """The report in *media_format*, by the first of the policy's report plugins that renders it."""
    policy = service.current(tenant_id)
    for result in policy.call("koppel_render_report", report=report, media_format=media_format):
        if result.error is None and result.value is not None:
            return result.value
    raise Conflict(f"no report plugin of this municipality's policy renders {media_format}")
