"""A municipality's funding statement for a period, by its policy's funding model (and rendered as a report)."""
from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from core.errors import Conflict
from core.extensions import db
from core.policy import service
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


def statement(tenant_id: int, start: date, end: date) -> FundingStatement:
    policy = service.current(tenant_id)
    if "funding" not in policy.kinds():
        raise Conflict("this municipality's policy enables no funding model")
    for result in policy.call("koppel_funding_statement", activity=activity(tenant_id, start, end)):
        if result.error:
            raise Conflict(f"the funding model {result.plugin} {result.version} failed: {result.error}")
        if result.value is not None:
            return result.value
    raise Conflict("the funding model gave no statement")


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def as_report(statement_: FundingStatement, municipality_name: str) -> Report:
    sections = [
        Section("Costs", ("description", "amount"), tuple((l.description, _money(l.amount)) for l in statement_.lines)),
        Section("Paid by", ("payer", "amount"), tuple([(name, _money(v)) for name, v in statement_.funds_pay.items()]
                                                     + [(municipality_name, _money(statement_.municipality_pays))])),
        Section("Avoided costs", ("description", "amount", "source"),
                tuple((l.description, _money(l.amount), l.source or "") for l in statement_.avoided_costs)),
    ]
    if statement_.consortium_split:
        sections.insert(2, Section("Consortium split", ("municipality", "amount"),
                                   tuple((n, _money(v)) for n, v in statement_.consortium_split.items())))
    return Report(title=f"Funding statement {municipality_name}",
                  subtitle=f"{statement_.period_start.isoformat()} – {statement_.period_end.isoformat()} "
                           f"({statement_.model})", sections=tuple(sections))


def render(report: Report, tenant_id: int, media_format: str):
    """The report in *media_format*, by the first of the policy's report plugins that renders it."""
    policy = service.current(tenant_id)
    for result in policy.call("koppel_render_report", report=report, media_format=media_format):
        if result.error is None and result.value is not None:
            return result.value
    raise Conflict(f"no report plugin of this municipality's policy renders {media_format}")
