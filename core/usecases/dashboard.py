"""What a coordinator's dashboard shows, read in a fixed number of statements (none per row).

The figures at the top are a few of the KPIs of :mod:`core.programme.kpis`, counted in SQL with the
same definitions (``docs/kpis.md``): the families waiting now with the median and longest wait, the
open evaluations due within 30 days and overdue, the matches running now and started this year, and
this year's target. They are counted here in four statements rather than by the whole KPI service,
which computes some forty figures the dashboard does not show; a test checks that both agree.
Beside them: the longest-waiting families, the first open evaluations, the latest month's early
warnings, the monthly snapshots for the trend charts and the targets of every year with the new
matches of that year. Call :func:`overview` inside the municipality's tenant scope (a request under
``/<municipality>/`` is).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Date, Integer, and_, case, cast, extract, func, literal, or_, select

from core.extensions import db
from core.messages import Message, render
from core.programme import kpis
from core.programme import vocabulary as V
from core.programme.models import Evaluation, Family, FamilyStatusChange, Match, ProgrammeTarget
from core.scheduling.models import EarlyWarning, KpiSnapshot

#: How many of the longest-waiting families and of the open evaluations are listed by name.
LONGEST_WAITING = 5
OPEN_EVALUATIONS = 10
#: Months of snapshots in the trend charts.
TREND_MONTHS = 12


@dataclass
class WaitingFamily:
    id: int
    display_name: str
    registered_on: date
    since: date
    days: int


@dataclass
class OpenEvaluation:
    id: int
    match_id: int
    kind: str
    due_on: date
    overdue: bool
    requesting_family: str


@dataclass
class WarningItem:
    id: int
    period: date
    code: str
    text: str


@dataclass
class TargetRow:
    year: int
    new_matches_min: int
    new_matches_max: int | None
    new_matches: int
    status: str  # below | within | above


@dataclass
class Figures:
    """The dashboard's figures now (definitions as in :mod:`core.programme.kpis`)."""

    families_waiting: int = 0
    median_wait: int | None = None
    longest_wait: int | None = None
    evaluations_due: int = 0  # open, due within 30 days from today
    evaluations_overdue: int = 0
    matches_running: int = 0  # trial period or active
    matches_started: int = 0  # trial started this year, up to today
    target: TargetProgress | None = None


@dataclass
class TargetProgress:
    year: int
    new_matches_min: int
    new_matches_max: int | None
    new_matches: int
    pro_rata_min: float
    on_track: bool


@dataclass
class Overview:
    today: date
    figures: Figures
    longest_waiting: list[WaitingFamily] = field(default_factory=list)
    open_evaluations: list[OpenEvaluation] = field(default_factory=list)
    warnings: list[WarningItem] = field(default_factory=list)
    trend_labels: list[date] = field(default_factory=list)
    trends: dict[str, list] = field(default_factory=dict)
    targets: list[TargetRow] = field(default_factory=list)


def _count(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _day(value: date):
    """A date as a typed bound parameter (SQLite gets its ISO text, PostgreSQL a date)."""
    return literal(value, Date())


def _waiting_since():
    """(family id, the date it started waiting): its latest change to waiting, else its registration."""
    waiting = select(Family.id).where(Family.kind == V.REQUESTING, Family.status == V.WAITING)
    began = (select(FamilyStatusChange.family_id, func.max(FamilyStatusChange.at).label("at"))
             .where(FamilyStatusChange.to_status == V.WAITING, FamilyStatusChange.family_id.in_(waiting))
             .group_by(FamilyStatusChange.family_id)).subquery("began_waiting")
    return began, func.coalesce(kpis.dutch_date(began.c.at), Family.registered_on)


def evaluation_figures(today: date) -> tuple[int, int]:
    """Open evaluations (not completed by today, not skipped) due within 30 days, and overdue."""
    due, overdue = db.session.execute(
        select(_count(Evaluation.due_on >= today), _count(Evaluation.due_on < today))
        .where(or_(Evaluation.completed_on.is_(None), Evaluation.completed_on > today),
               Evaluation.skipped_reason.is_(None), Evaluation.due_on <= today + kpis.DUE_SOON)).one()
    return int(due), int(overdue)


def match_figures(today: date) -> tuple[int, int]:
    """Matches running now (open, trial period reached) and started (trial began) this year up to today."""
    open_ = and_(Match.proposed_on <= today, or_(Match.ended_on.is_(None), Match.ended_on > today),
                 or_(Match.cancelled_on.is_(None), Match.cancelled_on > today))
    running, started = db.session.execute(select(
        _count(and_(open_, or_(and_(Match.trial_on.is_not(None), Match.trial_on <= today),
                               and_(Match.active_on.is_not(None), Match.active_on <= today)))),
        _count(Match.trial_on.between(date(today.year, 1, 1), today)))).one()
    return int(running), int(started)


def _progress(row: TargetRow | None, today: date) -> TargetProgress | None:
    if row is None:
        return None
    first, last = date(row.year, 1, 1), date(row.year, 12, 31)
    counted = max(0, (min(today, last) - first).days + 1) / ((last - first).days + 1)
    return TargetProgress(row.year, row.new_matches_min, row.new_matches_max, row.new_matches,
                          round(row.new_matches_min * counted, 1), row.new_matches >= row.new_matches_min * counted)


def waiting(today: date, limit: int = LONGEST_WAITING) -> tuple[int, int | None, int | None, list[WaitingFamily]]:
    """The families waiting now: how many, the nearest-rank median and the longest of their days waiting, and
    the *limit* longest-waiting of them, in one statement (each family ranked both ways by its days)."""
    began, since = _waiting_since()
    days = kpis.days_between(since, _day(today))
    aged = (select(Family.id, Family.display_name, Family.registered_on, since.label("since"), days.label("days"),
                   func.row_number().over(order_by=(days, Family.id)).label("up"),
                   func.row_number().over(order_by=(days.desc(), Family.id)).label("down"),
                   func.count().over().label("n"))
            .outerjoin(began, began.c.family_id == Family.id)
            .where(Family.kind == V.REQUESTING, Family.status == V.WAITING, Family.registered_on <= today)
            ).subquery("aged")
    is_median = and_(aged.c.up * 2 >= aged.c.n, (aged.c.up - 1) * 2 < aged.c.n)  # the first rank k with 2k >= n
    rows = list(db.session.execute(select(aged, is_median.label("is_median"))
                                   .where(or_(aged.c.down <= limit, is_median)).order_by(aged.c.down)))
    if not rows:
        return 0, None, None, []
    median = next(int(r.days) for r in rows if r.is_median)
    longest = [WaitingFamily(r.id, r.display_name, r.registered_on, _as_date(r.since), int(r.days or 0))
               for r in rows if r.down <= limit]
    return int(rows[0].n), median, int(rows[0].days), longest


def _as_date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def open_evaluations(today: date, limit: int = OPEN_EVALUATIONS) -> list[OpenEvaluation]:
    """The open evaluations due within 30 days or overdue, the earliest first, with the requesting family."""
    rows = db.session.execute(
        select(Evaluation.id, Evaluation.match_id, Evaluation.kind, Evaluation.due_on, Family.display_name)
        .join(Match, Match.id == Evaluation.match_id)
        .join(Family, Family.id == Match.requesting_family_id)
        .where(or_(Evaluation.completed_on.is_(None), Evaluation.completed_on > today),
               Evaluation.skipped_reason.is_(None), Evaluation.due_on <= today + kpis.DUE_SOON)
        .order_by(Evaluation.due_on, Evaluation.id).limit(limit))
    return [OpenEvaluation(r.id, r.match_id, r.kind, r.due_on, r.due_on < today, r.display_name) for r in rows]


def latest_warnings() -> list[WarningItem]:
    """The early warnings of the latest month the review ran for."""
    latest = select(func.max(EarlyWarning.period)).scalar_subquery()
    rows = db.session.scalars(select(EarlyWarning).where(EarlyWarning.period == latest)
                              .order_by(EarlyWarning.code, EarlyWarning.subject))
    return [WarningItem(w.id, w.period, w.code, render(Message.from_dict(w.message))) for w in rows]


#: The trend series, each a path into a snapshot's figures.
TRENDS = {
    "waiting": ("waiting", "families_waiting_now"),
    "median_wait": ("waiting", "days_waiting_now", "median"),
    "registrations": ("registrations", "total"),
    "started": ("matches", "started"),
    "running": ("matches", "running_now"),
}


def _pick(figures: dict, path: tuple):
    for key in path:
        if not isinstance(figures, dict):
            return None
        figures = figures.get(key)
    return figures


def trends(months: int = TREND_MONTHS) -> tuple[list[date], dict[str, list]]:
    """The last *months* monthly snapshots, oldest first: their months and each series of :data:`TRENDS`."""
    rows = list(db.session.execute(select(KpiSnapshot.period, KpiSnapshot.figures)
                                   .order_by(KpiSnapshot.period.desc()).limit(months)))[::-1]
    return [r.period for r in rows], {name: [_pick(r.figures, path) for r in rows] for name, path in TRENDS.items()}


def targets_and_actuals(today: date) -> list[TargetRow]:
    """Every year's target with the new matches (trial started) of that year up to *today*; newest first."""
    rows = list(db.session.execute(select(ProgrammeTarget.year, ProgrammeTarget.new_matches_min,
                                          ProgrammeTarget.new_matches_max).order_by(ProgrammeTarget.year.desc())))
    first = date(min((r.year for r in rows), default=today.year), 1, 1)
    year = cast(extract("year", Match.trial_on), Integer)
    # count(Match.id), not count(*): a statement must name a mapped column for the tenant criteria to apply
    started = dict(db.session.execute(
        select(year, func.count(Match.id)).where(and_(Match.trial_on >= first, Match.trial_on <= today))
        .group_by(year)).all())
    out = []
    for r in rows:
        new = int(started.get(r.year, 0))
        status = "below" if new < r.new_matches_min else (
            "above" if r.new_matches_max is not None and new > r.new_matches_max else "within")
        out.append(TargetRow(r.year, r.new_matches_min, r.new_matches_max, new, status))
    return out


def overview(today: date | None = None) -> Overview:
    """Everything the dashboard shows, for the municipality of the tenant scope."""
    today = today or date.today()
    count, median, longest, longest_waiting = waiting(today)
    due, overdue = evaluation_figures(today)
    running, started = match_figures(today)
    targets = targets_and_actuals(today)
    figures = Figures(count, median, longest, due, overdue, running, started,
                      _progress(next((t for t in targets if t.year == today.year), None), today))
    labels, series = trends()
    return Overview(today=today, figures=figures, longest_waiting=longest_waiting,
                    open_evaluations=open_evaluations(today), warnings=latest_warnings(),
                    trend_labels=labels, trends=series, targets=targets)

