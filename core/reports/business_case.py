"""The business case of a municipality's programme for a period: what it cost, whom it reached, what it may have
avoided, and on which assumptions (see ``docs/business-case.md``).

* **Statement date** (``as_of``): today by default, never after the period's
  end. Per-match billing, the families reached and the avoided costs count
  what happened up to it; a lump sum is charged for the subsidy's days in the
  whole period.
* **Cost** of the municipality: the funding statement's total, or, when the
  funding model splits it over the consortium, the municipality's part.
* **Families supported**: the distinct requesting families with a match that
  was in its trial or active phase on at least one day from the period's
  start up to the statement's date (its trial began on or before that date
  and it had not ended before the period's start). **Children in the families supported**: the
  members with the role child of those families, as recorded now.
* **Cost per family** and **per child**: the cost divided by their number,
  half-up to cents; None when there are none.
* **Avoided costs**: the funding model's expected value with its low and high
  end, its method in one sentence and its assumptions, each with its source
  or marked as the municipality's own assumption.

:func:`sections` lays one business case, or several side by side with a total
column (a consortium's members), out as report sections: words rendered in
the reader's language, amounts as Decimals, counts as ints.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import partial

from sqlalchemy import distinct, func, or_, select

from core.extensions import db
from core.messages import Message, render
from core.policy import funding
from core.policy.types import AvoidedCosts, CostAssumption, FundingStatement, Report, Section
from core.programme.models import Match, Member
from tenants.context import tenant_scope
from tenants.models import Municipality

CENT = Decimal("0.01")


@dataclass(frozen=True)
class BusinessCase:
    """One municipality's business case for a period (see the module's documentation)."""

    municipality: str
    period_start: date
    period_end: date
    as_of: date  # the statement's date: what was delivered is counted up to this day
    statement: FundingStatement  # as the funding model gives it: its words are messages
    families: int  # families supported
    children: int  # children reached
    cost: Decimal  # the municipality's cost in the period
    cost_per_family: Decimal | None
    cost_per_child: Decimal | None

    @property
    def avoided(self) -> AvoidedCosts | None:
        return self.statement.avoided

    @property
    def avoided_expected(self) -> Decimal | None:
        return self.avoided.expected if self.avoided else None

    @property
    def avoided_low(self) -> Decimal | None:
        return self.avoided.low if self.avoided else None

    @property
    def avoided_high(self) -> Decimal | None:
        return self.avoided.high if self.avoided else None

    @property
    def method(self):
        """The avoided costs' method in one sentence (a message), or None."""
        return self.avoided.method if self.avoided else None

    @property
    def assumptions(self) -> tuple[CostAssumption, ...]:
        return self.avoided.assumptions if self.avoided else ()


def bounds(period) -> tuple[date, date]:
    """The first and last day of *period*: a ``(start, end)`` pair, or an object with ``start`` and ``end``."""
    start, end = period if isinstance(period, (tuple, list)) else (period.start, period.end)
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    return start, end


def per(amount: Decimal, number: int) -> Decimal | None:
    """*amount* divided by *number*, half-up to cents; None when *number* is zero."""
    return (amount / number).quantize(CENT, rounding=ROUND_HALF_UP) if number else None


def reach(tenant_id: int, start: date, until: date) -> tuple[int, int]:
    """Families supported and children reached from *start* up to *until* (see the module's documentation)."""
    if until < start:
        return 0, 0
    running = (Match.trial_on.is_not(None), Match.trial_on <= until,
               or_(Match.ended_on.is_(None), Match.ended_on >= start))
    with tenant_scope(tenant_id):
        families = db.session.scalar(select(func.count(distinct(Match.requesting_family_id))).where(*running))
        children = db.session.scalar(select(func.count(Member.id)).where(
            Member.role == "child", Member.family_id.in_(select(Match.requesting_family_id).where(*running))))
    return families or 0, children or 0


def own_cost(statement: FundingStatement, municipality: str) -> Decimal:
    """The municipality's cost: its part of the consortium split when the statement splits, else the total."""
    if statement.consortium_split:
        return statement.consortium_split.get(municipality, Decimal("0.00"))
    return statement.total


def for_municipality(tenant_id: int, period, as_of: date | None = None) -> BusinessCase | None:
    """The municipality's business case for *period* up to *as_of* (today by default, at most the period's end);
    None when its policy enables no funding model."""
    start, end = bounds(period)
    if not funding.has_funding_model(tenant_id):
        return None
    until = funding.statement_date(end, as_of)
    statement = funding.compute(tenant_id, start, end, until)
    name = db.session.scalar(select(Municipality.name).where(Municipality.id == tenant_id))
    families, children = reach(tenant_id, start, until)
    cost = own_cost(statement, name)
    return BusinessCase(municipality=name, period_start=start, period_end=end, as_of=until, statement=statement,
                        families=families, children=children, cost=cost, cost_per_family=per(cost, families),
                        cost_per_child=per(cost, children))


# --- as report sections ------------------------------------------------------------------------------------

SOURCE_KINDS = {"primary": Message("primary source"), "secondary": Message("secondary source")}


def sections(cases: dict[str, BusinessCase], language: str) -> list[Section]:
    """The business cases (by municipality name) as report sections in *language*: one municipality, or several
    side by side with a total column. Words are text in *language*; amounts Decimals, counts ints."""
    cases = {name: case for name, case in cases.items() if case is not None}
    if not cases:
        return []
    several = len(cases) > 1
    items = [(name, case.statement) for name, case in cases.items()]
    return [_reach(cases, language, several), *_statement_sections(items, language, several)]


def statement_report(statement: FundingStatement, municipality: str, language: str,
                     case: BusinessCase | None = None) -> Report:
    """A funding statement as a report in *language*; given the municipality's business case (*case*, which holds
    the same statement), with its reach, the cost per family and per child."""
    text = partial(render, language=language)
    statement = case.statement if case is not None else statement
    period = {"start": statement.period_start, "end": statement.period_end,
              "model": funding.model_title(statement.model, language)}
    subtitle = (text(Message("%(start)s to %(end)s (%(model)s), as of %(as_of)s", {**period, "as_of": statement.as_of}))
                if statement.as_of else text(Message("%(start)s to %(end)s (%(model)s)", period)))
    body = (sections({municipality: case}, language) if case is not None
            else _statement_sections([(municipality, statement)], language, False))
    return Report(title=text(Message("Funding statement %(municipality)s", {"municipality": municipality})),
                  subtitle=subtitle, sections=tuple(body))


def _reach(cases: dict[str, BusinessCase], language: str, several: bool) -> Section:
    text = partial(render, language=language)

    names = list(cases)
    total_cost = sum((c.cost for c in cases.values()), Decimal("0.00"))
    families = sum(c.families for c in cases.values())
    children = sum(c.children for c in cases.values())
    rows = [
        (Message("Cost to the municipality in the period"), [c.cost for c in cases.values()], total_cost),
        (Message("Families supported"), [c.families for c in cases.values()], families),
        (Message("Children in the families supported"), [c.children for c in cases.values()], children),
        (Message("Cost per family"), [c.cost_per_family for c in cases.values()], per(total_cost, families)),
        (Message("Cost per child"), [c.cost_per_child for c in cases.values()], per(total_cost, children)),
    ]
    first = next(iter(cases.values()))
    columns = (text(Message("Figure")), *names, *((text(Message("Total")),) if several else ()))
    return Section(
        title=text(Message("Costs and reach")), columns=columns,
        rows=tuple((text(label), *values, *((total,) if several else ())) for label, values, total in rows),
        notes=(
            text(Message("Period %(start)s to %(end)s; what was delivered is counted up to %(as_of)s.", {
                "start": first.period_start, "end": first.period_end, "as_of": first.as_of})),
            text(Message("Cost to the municipality: the funding statement's total, or the municipality's part when the "
                         "costs are split over the consortium.")),
            text(Message("Families supported: requesting families with a match in its trial period or active on at "
                         "least one day of the period up to the statement's date. Children in the families supported: "
                         "their children (the children reached in the key figures are those whose match started). Cost per family and per child: the cost divided by their number.")),
        ))


def _statement_sections(items: list[tuple[str, FundingStatement]], language: str, several: bool) -> list[Section]:
    """Costs, who pays, the consortium's split (one municipality only), the avoided costs and their assumptions."""
    text = partial(render, language=language)

    shown = [(name, funding.in_language(statement, language)) for name, statement in items]  # the model's words
    municipality, description, amount = text(Message("Municipality")), text(Message("Description")), \
        text(Message("Amount"))
    lead = (lambda name: (name,)) if several else (lambda name: ())
    lead_column = (municipality,) if several else ()
    total = text(Message("Total"))
    result = [
        Section(text(Message("Costs")), (*lead_column, description, amount), tuple(
            row for name, s in shown for row in (*((*lead(name), line.description, line.amount) for line in s.lines),
                                                 (*lead(name), total, s.total)))),
        Section(text(Message("Paid by")), (*lead_column, text(Message("Payer")), amount), tuple(
            row for name, s in shown for row in (*((*lead(name), fund, paid) for fund, paid in s.funds_pay.items()),
                                                 (*lead(name), name, s.municipality_pays)))),
    ]
    if not several and shown[0][1].consortium_split:
        result.append(Section(text(Message("Consortium split")), (municipality, amount),
                              tuple(shown[0][1].consortium_split.items())))
    estimated = [(name, s.avoided) for name, s in shown if s.avoided is not None]
    if estimated:
        result += [_avoided(estimated, language, several), _assumptions(estimated, language, several)]
    return result


def _avoided(estimated: list[tuple[str, AvoidedCosts]], language: str, several: bool) -> Section:
    text = partial(render, language=language)

    rows = [
        (Message("Matches ended with care prevented"), [a.prevented for _, a in estimated]),
        (Message("Expected avoided costs"), [a.expected for _, a in estimated]),
        (Message("Avoided costs, low"), [a.low for _, a in estimated]),
        (Message("Avoided costs, high"), [a.high for _, a in estimated]),
    ]
    columns = (text(Message("Figure")), *(name for name, _ in estimated),
               *((text(Message("Total")),) if several else ()))
    methods = tuple(text(Message("%(municipality)s: %(method)s", {"municipality": name, "method": a.method}))
                    if several else a.method for name, a in estimated)
    return Section(
        title=text(Message("Avoided costs")), columns=columns,
        rows=tuple((text(label), *values, *((sum(values),) if several else ())) for label, values in rows),
        notes=(*methods, text(Message("The avoided costs are an estimate beside the costs, never subtracted from "
                                      "them."))))


def _assumptions(estimated: list[tuple[str, AvoidedCosts]], language: str, several: bool) -> Section:
    text = partial(render, language=language)

    def row(name: str, item: CostAssumption) -> tuple:
        lead = (name,) if several else ()
        source = item.source
        if source is None:
            said = (text(Message("The municipality's own assumption: %(description)s", {"description": item.note}))
                    if item.note else text(Message("The municipality's own assumption")))
            return (*lead, item.name, item.value, said, None, None, None, text(Message("own assumption")))
        return (*lead, item.name, item.value, source.title, source.publisher, str(source.year), source.url,
                text(SOURCE_KINDS[source.kind]))

    rows = tuple(row(name, item) for name, avoided in estimated for item in avoided.assumptions)
    columns = (*((text(Message("Municipality")),) if several else ()), text(Message("Assumption")),
               text(Message("Value")), text(Message("Source")), text(Message("Publisher")), text(Message("Year")),
               text(Message("Link")), text(Message("Kind of source")))
    own = any(item.source is None for _, avoided in estimated for item in avoided.assumptions)
    notes = (text(Message("An assumption without a source is the municipality's own: replace the built-in figures "
                          "with the municipality's own, each with its source, in the funding model's settings.")),
             ) if own else ()
    return Section(title=text(Message("Assumptions")), columns=columns, rows=rows, notes=notes)
