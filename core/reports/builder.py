"""Build a programme report: one scope (a municipality, or a consortium with its members side by side), one
period, one audience.

:func:`build` works from any context: it enters the municipality's ``tenant_scope``, or for a consortium
the ``consortium-aggregation`` scope, itself. It reads the figures with the KPI service's statements
(:mod:`core.programme.kpis`) and a few of its own, each one statement grouped by municipality, so the
number of statements does not grow with the number of families. It checks nobody's access: the caller
has done that. It knows nothing of file formats (:mod:`core.reports.layout` and the report plugins do).

For a funder the report is private by construction (:mod:`core.reports.privacy`): no names, addresses,
birth dates, free text or ids used elsewhere; every breakdown by a sensitive attribute protected; stock
figures by a sensitive attribute (supply and demand per district) left out; early warnings as counts by
kind; the billing list with pseudonyms under the funder's key.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sqlalchemy import Date, and_, case, func, literal, or_, select

from core.extensions import db
from core.messages import LANGUAGES
from core.programme import kpis
from core.programme import vocabulary as V
from core.programme.models import Evaluation, Match, Member
from core.reports import privacy
from core.reports.model import (
    AUDIENCES,
    CONSORTIUM,
    FUNDER,
    STAFF,
    BillingRow,
    Breakdown,
    Column,
    Days,
    District,
    Figures,
    ProgrammeReport,
    ReportScope,
    Target,
    Trend,
    Warning,
    Wellbeing,
)
from core.scheduling.models import EarlyWarning, KpiSnapshot
from tenants.context import cross_tenant_scope, tenant_scope
from tenants.models import Consortium, Municipality

__all__ = ["AUDIENCES", "FUNDER", "STAFF", "ReportScope", "build"]

#: Days per month for active match months (365.25 / 12), as the funding statement counts them.
DAYS_PER_MONTH = Decimal("30.4375")
NOT_RECORDED = kpis.NOT_RECORDED
#: Age bands of the children reached, by their age on the first day of the period.
AGE_BANDS = ("0_3", "4_11", "12_17", "18_plus", "unknown")
RETENTION = ("lasted_12_months", "ended_early_goals_reached", "ended_early_other")
#: The early warnings of the monthly review (core.scheduling.review), in the order shown.
WARNING_CODES = ("no_new_match", "long_wait", "district_out_of_reach", "idle_supporting", "triage_leaving",
                 "target_out_of_reach")
#: The monthly figures of the trend sections: name -> path in a snapshot's figures.
TRENDS = {
    "matches_started": ("matches", "started"),
    "matches_running": ("matches", "running_now"),
    "families_waiting": ("waiting", "families_waiting_now"),
    "volunteer_hours_logged": ("volunteering", "logged_hours"),
}
TREND_MONTHS = 12


def build(scope, period: kpis.Period, *, audience: str = STAFF, as_of: date | None = None, language: str = "nl",
          pseudonym_key: bytes | None = None) -> ProgrammeReport:
    """The programme report of *scope* (a :class:`ReportScope`, a Municipality or a Consortium) for *period*,
    with *as_of* (default today) as the reference date, for *audience* (``STAFF`` or ``FUNDER``) in
    *language*. A funder's report needs the funder's *pseudonym_key* (16 bytes or more) for its billing list.
    """
    scope = _scope_of(scope)
    if audience not in AUDIENCES:
        raise ValueError(f"the audience is one of {', '.join(AUDIENCES)}, not {audience!r}")
    if language not in LANGUAGES:
        raise ValueError(f"the language is one of {', '.join(LANGUAGES)}, not {language!r}")
    if audience == FUNDER and (not isinstance(pseudonym_key, (bytes, bytearray)) or len(pseudonym_key) < 16):
        raise ValueError("a funder's report needs the funder's pseudonym key (16 bytes or more)")
    as_of = as_of or date.today()
    name, members = _members(scope)
    if not members:
        raise ValueError("the consortium has no municipalities")
    ids = [m.id for m in members]
    consortium = scope.kind == CONSORTIUM
    threshold = max(m.small_count_threshold for m in members)
    if consortium:
        found = kpis.consortium_kpis(ids, period, as_of)
        per = {k.municipality_ids[0]: k for k in found.municipalities}
        with cross_tenant_scope("consortium-aggregation"):
            read = _Reads(ids, period, as_of, audience)
        total = found.total
    else:
        with tenant_scope(ids[0]):
            per = {ids[0]: kpis.municipality_kpis(ids[0], period, as_of)}
            read = _Reads(ids, period, as_of, audience)
        total = None
    table = _Tables(ids, consortium, audience, threshold)
    columns = tuple(Column(m.id, m.name) for m in members) + ((Column(None, name),) if consortium else ())
    all_kpis = [per[i] for i in ids] + ([total] if consortium else [])
    names = {m.id: m.name for m in members}
    return ProgrammeReport(
        scope=scope, name=name, period=period, as_of=as_of, audience=audience, language=language,
        threshold=threshold, columns=columns,
        figures=tuple(_figures(k, read, audience, threshold) for k in all_kpis),
        breakdowns=_breakdowns(per, read, table, audience),
        wellbeing=_wellbeing(read.wellbeing, table),
        trends=_trends(read.snapshots, table, _trend_months(period, as_of)),
        warnings=read.warnings if audience == STAFF and not consortium else (),
        districts=_districts(per, names, ids) if audience == STAFF else (),
        business_cases=_business_cases(members, period, as_of),
        billing=_billing(read, names, pseudonym_key) if audience == FUNDER else (),
    )


def _scope_of(scope) -> ReportScope:
    if isinstance(scope, ReportScope):
        return scope
    if isinstance(scope, Municipality):
        return ReportScope(municipality_id=scope.id)
    if isinstance(scope, Consortium):
        return ReportScope(consortium_id=scope.id)
    raise TypeError(f"a report's scope is a ReportScope, a Municipality or a Consortium, not {scope!r}")


def _members(scope: ReportScope) -> tuple[str, list]:
    """The scope's name and its municipalities (one, or the consortium's members by name)."""
    columns = (Municipality.id, Municipality.name, Municipality.small_count_threshold)
    if scope.municipality_id is not None:
        members = db.session.execute(select(*columns).where(Municipality.id == scope.municipality_id)).all()
        if not members:
            raise ValueError(f"no municipality {scope.municipality_id}")
        return members[0].name, members
    name = db.session.scalar(select(Consortium.name).where(Consortium.id == scope.consortium_id))
    if name is None:
        raise ValueError(f"no consortium {scope.consortium_id}")
    members = db.session.execute(select(*columns).where(Municipality.consortium_id == scope.consortium_id)
                                 .order_by(Municipality.name, Municipality.id)).all()
    return name, members


def _day(value: date):
    return literal(value, Date())


def _count(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _trend_months(period: kpis.Period, as_of: date) -> list[date]:
    """The last twelve whole months up to the period's end (and not after the reference date)."""
    last = min(period.end, as_of)
    month = last.replace(day=1)
    if last != month + relativedelta(months=1) - relativedelta(days=1):
        month -= relativedelta(months=1)  # the month of the last day is not over
    return [month - relativedelta(months=n) for n in range(TREND_MONTHS - 1, -1, -1)]


class _Reads:
    """What the report reads beside the KPIs: one statement each, grouped by municipality (run in scope)."""

    def __init__(self, ids: list[int], period: kpis.Period, as_of: date, audience: str):
        self.ids = ids
        start, until = period.start, min(period.end, as_of)
        self.start, self.until, self.as_of = start, until, as_of
        self.wellbeing = self._wellbeing() if until >= start else {}
        self.age_bands = self._age_bands() if until >= start else {}
        self.billed = self._billed() if until >= start else []
        self.snapshots = self._snapshots(_trend_months(period, as_of))
        self.retention = self._retention_in_period() if audience == FUNDER and until >= start else {}
        self.warnings, self.warning_counts = self._warnings(audience, period)

    def where(self, column):
        return column == self.ids[0] if len(self.ids) == 1 else column.in_(self.ids)

    def _wellbeing(self) -> dict:
        """Per municipality and scale: (n, sum of the start means, sum of the end means) over the matches
        ended in the period with the scale at a completed start and end evaluation."""
        ended = select(Match.id).where(self.where(Match.tenant_id), Match.ended_on.between(self.start, self.until))
        done = and_(Evaluation.completed_on.is_not(None), Evaluation.completed_on <= self.as_of,
                    Evaluation.skipped_reason.is_(None), Evaluation.match_id.in_(ended))

        def at(moment: str):
            return (select(Evaluation.match_id,
                           *(func.avg(getattr(Evaluation, s)).label(s) for s in V.WELLBEING_SCALES))
                    .where(self.where(Evaluation.tenant_id), Evaluation.moment == moment, done)
                    .group_by(Evaluation.match_id)).subquery(f"at_{moment}")

        first, last = at("start"), at("end")
        columns = []
        for s in V.WELLBEING_SCALES:
            both = and_(first.c[s].is_not(None), last.c[s].is_not(None))
            columns += [_count(both), func.sum(case((both, first.c[s]))), func.sum(case((both, last.c[s])))]
        rows = db.session.execute(
            select(Match.tenant_id, *columns)
            .join(first, first.c.match_id == Match.id).join(last, last.c.match_id == Match.id)
            .where(self.where(Match.tenant_id), Match.ended_on.between(self.start, self.until))
            .group_by(Match.tenant_id))
        found = {}
        for tenant_id, *values in rows:
            found[tenant_id] = {s: (int(values[3 * n]), float(values[3 * n + 1] or 0), float(values[3 * n + 2] or 0))
                                for n, s in enumerate(V.WELLBEING_SCALES)}
        return found

    def _age_bands(self) -> dict:
        """Per municipality and age band: the children of the requesting families whose match started in the
        period (each once, as the KPI counts them), by their age on the period's first day."""
        starters = (select(Match.tenant_id, Match.requesting_family_id)
                    .where(self.where(Match.tenant_id), Match.trial_on.between(self.start, self.until))
                    .distinct()).subquery("starters")
        born = Member.date_of_birth
        band = case((born.is_(None), "unknown"),
                    (born > _day(self.start - relativedelta(years=4)), "0_3"),
                    (born > _day(self.start - relativedelta(years=12)), "4_11"),
                    (born > _day(self.start - relativedelta(years=18)), "12_17"), else_="18_plus")
        rows = db.session.execute(
            select(starters.c.tenant_id, band.label("band"), func.count(Member.id))
            .select_from(starters)
            .join(Member, and_(Member.family_id == starters.c.requesting_family_id,
                               Member.tenant_id == starters.c.tenant_id, Member.role == "child"))
            .group_by(starters.c.tenant_id, band))
        found = defaultdict(dict)
        for tenant_id, code, n in rows:
            found[tenant_id][code] = n
        return found

    def _billed(self) -> list:
        """The matches in their trial or active phase on a day of the period up to the reference date."""
        return db.session.execute(
            select(Match.tenant_id, Match.requesting_family_id, Match.trial_on, Match.ended_on)
            .where(self.where(Match.tenant_id), Match.trial_on.is_not(None), Match.trial_on <= self.until,
                   or_(Match.ended_on.is_(None), Match.ended_on >= self.start))).all()

    def _retention_in_period(self) -> dict:
        """Per municipality: the matches whose first year ended in the period (trial start + 1 year), by
        whether they lasted it, ended before it with goals reached, or ended before it otherwise."""
        anniversary = kpis.one_year_after(Match.trial_on)
        cohort = and_(Match.trial_on.is_not(None), anniversary >= _day(self.start), anniversary <= _day(self.until))
        early = and_(Match.ended_on.is_not(None), Match.ended_on < anniversary)
        goals = Match.end_reason == "goals_reached"
        rows = db.session.execute(
            select(Match.tenant_id, _count(and_(cohort, ~early)), _count(and_(cohort, early, goals)),
                   _count(and_(cohort, early, or_(Match.end_reason.is_(None), ~goals))))
            .where(self.where(Match.tenant_id), Match.trial_on.is_not(None))
            .group_by(Match.tenant_id))
        return {tenant_id: dict(zip(RETENTION, values)) for tenant_id, *values in rows}

    def _snapshots(self, months: list[date]) -> dict:
        rows = db.session.execute(
            select(KpiSnapshot.tenant_id, KpiSnapshot.period, KpiSnapshot.figures)
            .where(self.where(KpiSnapshot.tenant_id), KpiSnapshot.period.between(months[0], months[-1])))
        return {(tenant_id, month): figures for tenant_id, month, figures in rows}

    def _warnings(self, audience: str, period: kpis.Period):
        """The early warnings of the months in the period: each with its message (staff of one municipality),
        and their counts per municipality and code."""
        months = EarlyWarning.period.between(period.start.replace(day=1), period.end)
        if audience == STAFF and len(self.ids) == 1:
            rows = db.session.execute(
                select(EarlyWarning.tenant_id, EarlyWarning.period, EarlyWarning.code, EarlyWarning.message)
                .where(self.where(EarlyWarning.tenant_id), months)
                .order_by(EarlyWarning.period, EarlyWarning.code, EarlyWarning.subject)).all()
            counts = defaultdict(lambda: defaultdict(int))
            for row in rows:
                counts[row.tenant_id][row.code] += 1
            return tuple(Warning(row.period, row.code, row.message) for row in rows), counts
        counts = defaultdict(dict)
        for tenant_id, code, n in db.session.execute(
                select(EarlyWarning.tenant_id, EarlyWarning.code, func.count())
                .where(self.where(EarlyWarning.tenant_id), months)
                .group_by(EarlyWarning.tenant_id, EarlyWarning.code)):
            counts[tenant_id][code] = n
        return (), counts


class _Tables:
    """Lays counts per municipality out as a report's cells: members, and a consortium's total column."""

    def __init__(self, ids: list[int], consortium: bool, audience: str, threshold: int):
        self.ids, self.consortium, self.audience, self.threshold = ids, consortium, audience, threshold

    def breakdown(self, name: str, vocabulary: str, codes, counts, *, totals: bool = True,
                  public_totals: bool = True, sensitive: bool = True) -> Breakdown:
        """*counts* (municipality id -> code -> count) by code; protected for a funder when *sensitive*
        (*public_totals*: the totals are published elsewhere in the report, or follow from the billing list)."""
        cells = [[counts.get(i, {}).get(code, 0) for i in self.ids] for code in codes]
        if self.audience == FUNDER and sensitive:
            grid = privacy.protect(cells, self.threshold, total_row=totals, public_totals=public_totals)
        else:
            grid = privacy.Grid.of(cells, totals).values
        grid = [self._with_total(row) for row in grid]
        return Breakdown(name, vocabulary, tuple(codes), tuple(grid[:len(codes)]),
                         grid[len(codes)] if totals else None, sensitive)

    def _with_total(self, row) -> tuple:
        """A grid row as report cells: a consortium of one member repeats it as the total."""
        row = tuple(row)
        return row + row if self.consortium and len(self.ids) == 1 else row


def _figures(k: kpis.Kpis, read: _Reads, audience: str, threshold: int) -> Figures:
    funder = audience == FUNDER
    ids = set(k.municipality_ids)
    billed = [row for row in read.billed if row.tenant_id in ids]
    days = sum((min(row.ended_on or read.until, read.until) - max(row.trial_on, read.start)).days + 1
               for row in billed)

    def stat(value, n):
        return privacy.statistic(value, n, threshold) if funder else value

    def staff(value):
        return None if funder else value

    w, m = k.waiting, k.matches
    return Figures(
        registered_requesting=k.registrations.by_kind[V.REQUESTING],
        registered_supporting=k.registrations.by_kind[V.SUPPORTING],
        matches_started=m.started, matches_ended=m.ended, matches_cancelled=m.cancelled,
        open_by_state=dict(m.open_now), families_reached=k.reach.requesting_families, children_reached=k.reach.children,
        matches_billed=len(billed), active_match_months=float(round(Decimal(days) / DAYS_PER_MONTH, 2)),
        waiting_now=w.families_waiting_now,
        days_waiting_now=Days(w.days_waiting_now.count, stat(w.days_waiting_now.median, w.days_waiting_now.count),
                              staff(w.days_waiting_now.longest)),
        days_to_first_proposal=_days(w.days_to_first_proposal, stat),
        match_duration_days=_days(m.duration_days, stat),
        volunteer_hours_logged=k.volunteering.logged_hours, volunteer_hours_estimated=k.volunteering.estimated_hours,
        target=_target(k.target),
        started_on_override=staff(m.started_on_override),
        evaluations_due=staff(k.evaluations.due_next_30_days), evaluations_overdue=staff(k.evaluations.overdue),
        estimated_from_matches=staff(k.volunteering.estimated_from_matches),
        matches_without_agreed_terms=staff(k.volunteering.matches_without_agreed_terms),
        supporting_once_helped=staff(k.reciprocity.supporting_families_once_helped),
    )


def _days(found: kpis.Distribution, stat) -> Days:
    return Days(found.count, stat(found.median, found.count), stat(found.p90, found.count))


def _target(found: kpis.TargetProgress | None) -> Target | None:
    if found is None:
        return None
    return Target(found.year, found.new_matches_min, found.new_matches_max, found.new_matches, found.pro_rata_min,
                  found.status, found.on_track)


def _breakdowns(per: dict[int, kpis.Kpis], read: _Reads, table: _Tables, audience: str) -> tuple[Breakdown, ...]:
    reasons, outcomes, triage, reciprocity = {}, {}, {}, {}
    for i, k in per.items():
        recorded = sum(k.matches.ended_by_reason.values())
        reasons[i] = {**k.matches.ended_by_reason, NOT_RECORDED: k.matches.ended - recorded}
        outcomes[i] = dict(k.matches.outcomes)
        triage[i] = {code: getattr(k.triage, code) for code in V.TRIAGE_OUTCOMES}
        reciprocity[i] = {"registered_in_period": k.reciprocity.registered_in_period}
    if audience == FUNDER:  # a flow: the matches whose first year ended in the period
        retention = read.retention
    else:  # the KPI: every match whose first year ended by the reference date
        retention = {}
        for i, k in per.items():
            r = k.retention_12_months
            retention[i] = {"lasted_12_months": r.lasted_12_months,
                            "ended_early_goals_reached": r.ended_early_goals_reached,
                            "ended_early_other": r.cohort - r.lasted_12_months - r.ended_early_goals_reached}
    return (
        table.breakdown("end_reason", "end_reason", (*V.END_REASONS, NOT_RECORDED), reasons),
        table.breakdown("outcome", "outcome", (*V.OUTCOMES, NOT_RECORDED), outcomes),
        table.breakdown("triage", "triage_outcome", V.TRIAGE_OUTCOMES, triage, public_totals=False),
        table.breakdown("age_band", "age_band", AGE_BANDS, read.age_bands),
        table.breakdown("retention", "retention", RETENTION, retention),
        table.breakdown("reciprocity", "reciprocity", ("registered_in_period",), reciprocity, totals=False),
        table.breakdown("early_warning", "early_warning", WARNING_CODES, read.warning_counts, sensitive=False),
    )


def _wellbeing(found: dict, table: _Tables) -> tuple[Wellbeing, ...]:
    """Per scale the mean at start and end per column; for a funder, means of small groups withheld (and
    those from which one could be worked back through the consortium's mean)."""
    empty = (0, 0.0, 0.0)
    sums = {s: [found.get(i, {}).get(s, empty) for i in table.ids] for s in V.WELLBEING_SCALES}
    if table.consortium:
        for s, values in sums.items():
            values.append(tuple(sum(v[n] for v in values) for n in range(3)))
    hidden = set()
    if table.audience == FUNDER:
        sizes = [[v[0] for v in values[:len(table.ids)]] for values in sums.values()]
        hidden = privacy.protect_statistics(sizes, table.threshold)
        if table.consortium and len(table.ids) == 1:  # the total repeats the only member
            hidden |= {(r, 1) for r, c in hidden if c == 0}
    mark = privacy.withheld(table.threshold)

    def mean(total: float, n: int, r: int, c: int):
        if not n:
            return None
        return mark if (r, c) in hidden else round(total / n, 2)

    return tuple(Wellbeing(s, tuple(v[0] for v in values),
                           tuple(mean(v[1], v[0], r, c) for c, v in enumerate(values)),
                           tuple(mean(v[2], v[0], r, c) for c, v in enumerate(values)))
                 for r, (s, values) in enumerate(sums.items()))


def _trends(snapshots: dict, table: _Tables, months: list[date]) -> tuple[Trend, ...]:
    present = [m for m in months if any((i, m) in snapshots for i in table.ids)]
    trends = []
    for figure, (part, name) in TRENDS.items():
        values = []
        for month in present:
            row = [(snapshots.get((i, month)) or {}).get(part, {}).get(name) for i in table.ids]
            if table.consortium:
                row.append(None if any(v is None for v in row) else
                           (round(sum(row), 1) if any(isinstance(v, float) for v in row) else sum(row)))
            values.append(tuple(row))
        trends.append(Trend(figure, tuple(present), tuple(values)))
    return tuple(trends)


def _districts(per: dict[int, kpis.Kpis], names: dict[int, str], ids: list[int]) -> tuple[District, ...]:
    return tuple(District(names[i], d.district_code, d.supporting_available, d.requesting_waiting)
                 for i in ids for d in per[i].districts)


def _billing(read: _Reads, names: dict[int, str], key: bytes) -> tuple[BillingRow, ...]:
    """One row per match billed in the period: the family's pseudonym, the month the trial began, the active
    months in the period, and whether it runs or ended; ordered so that the order tells nothing more."""
    rows = []
    for row in read.billed:
        first, last = max(row.trial_on, read.start), min(row.ended_on or read.until, read.until)
        rows.append(BillingRow(
            pseudonym=privacy.pseudonym(key, row.tenant_id, row.requesting_family_id),
            municipality=names[row.tenant_id], month_started=f"{row.trial_on:%Y-%m}",
            active_months=float(round(Decimal((last - first).days + 1) / DAYS_PER_MONTH, 2)),
            state="ended" if row.ended_on is not None and row.ended_on <= read.until else "running"))
    return tuple(sorted(rows, key=lambda r: (r.municipality, r.month_started, r.pseudonym)))


def _business_cases(members, period: kpis.Period, as_of: date) -> tuple:
    """The business case of each member whose policy enables a funding model, by name."""
    from core.reports import business_case

    found = []
    for member in members:
        with tenant_scope(member.id):
            case_ = business_case.for_municipality(member.id, period, as_of)
        if case_ is not None:
            found.append((member.name, case_))
    return tuple(found)
