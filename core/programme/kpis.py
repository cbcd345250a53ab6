"""Programme KPIs for a municipality or a consortium, computed in SQL.

Every figure is counted by the database (``COUNT``/``SUM`` with ``GROUP BY``,
window functions for percentiles); no rows are loaded into Python to be
counted. The same statements run on SQLite and PostgreSQL: the date
calculations that differ between them are small compiled constructs
(:class:`days_between`, :class:`one_year_after`, :class:`dutch_date`,
:class:`earliest`, :class:`latest`), and percentiles use the nearest-rank
method with ``row_number()`` and ``count(*) OVER ()``, because SQLite has no
``percentile_cont``. Every figure is defined, in Dutch and English, in
``docs/kpis.md``.

Conventions:

* A *period* is a closed range of dates (:class:`Period`, e.g. a calendar
  year). Events (registrations, triage, proposals, starts, ends, contacts,
  overrides) count when their date lies in the period **and** not after the
  reference date.
* The *reference date* (``as_of``, today by default) is "now": which matches
  are open, which evaluations are due or overdue. Those are derived from the
  dates on the rows, so a past reference date gives the figures of that day.
  Two figures use the family's current ``status`` (which has no date):
  families waiting and supporting families available; families registered
  after the reference date are left out of them.
* The date of a moment (a status change's or an override's ``at``, stored in
  UTC) is its date in Dutch time (Europe/Amsterdam).
* Percentiles are nearest-rank: the p-th percentile of n sorted values is the
  value at rank ⌈p·n/100⌉, so the median of 1, 2, 3, 4 is 2, and the 100th
  percentile is the largest. Always a value that occurs; ``None`` when there
  are no values.

:func:`municipality_kpis` runs inside the municipality's ``tenant_scope``
(it raises :class:`~tenants.context.TenantContextError` otherwise);
:func:`consortium_kpis` enters ``cross_tenant_scope("consortium-aggregation")``
itself and filters on the given municipality ids. Neither checks who is
asking: the caller has done that.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Float, Integer, and_, case, exists, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from core.extensions import db
from core.programme import vocabulary as V
from core.programme.models import (
    Contact,
    Evaluation,
    Family,
    FamilyStatusChange,
    Match,
    MatchOverride,
    Member,
    ProgrammeTarget,
)
from tenants.context import TenantContextError, cross_tenant_scope, current_scope
from tenants.models import Municipality

PERCENTILES = (50, 90)
MEDIAN_AND_LONGEST = (50, 100)  # the nearest-rank 100th percentile is the largest value
DUE_SOON = timedelta(days=30)
NOT_RECORDED = "not_recorded"  # an ended match without an outcome
AMSTERDAM = ZoneInfo("Europe/Amsterdam")  # the date of a moment is its date in Dutch time


# --------------------------------------------------------------------------- SQL constructs per dialect

class days_between(FunctionElement):
    """Whole days from the first date to the second (``second - first``)."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between)
def _days_between(element, compiler, **kw):
    start, end = list(element.clauses)
    return f"({compiler.process(end, **kw)} - {compiler.process(start, **kw)})"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw):
    start, end = list(element.clauses)
    return f"CAST(julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)}) AS INTEGER)"


class one_year_after(FunctionElement):
    """The same day a year later; 29 February gives 28 February, on both backends."""

    type = Date()
    inherit_cache = True
    name = "one_year_after"


@compiles(one_year_after)
def _one_year_after(element, compiler, **kw):
    (day,) = list(element.clauses)
    return f"CAST({compiler.process(day, **kw)} + INTERVAL '1 year' AS DATE)"


@compiles(one_year_after, "sqlite")
def _one_year_after_sqlite(element, compiler, **kw):
    (day,) = list(element.clauses)
    day = compiler.process(day, **kw)
    # SQLite rolls 2025-02-29 over to 2025-03-01; step back a day as PostgreSQL clamps to 02-28.
    return f"date({day}, '+1 year', CASE WHEN strftime('%m-%d', {day}) = '02-29' THEN '-1 day' ELSE '+0 days' END)"


class dutch_date(FunctionElement):
    """The date in Dutch time (Europe/Amsterdam) of a moment stored in UTC."""

    type = Date()
    inherit_cache = True
    name = "dutch_date"


@compiles(dutch_date)
def _dutch_date(element, compiler, **kw):
    (moment,) = list(element.clauses)
    return f"CAST(({compiler.process(moment, **kw)} AT TIME ZONE 'Europe/Amsterdam') AS DATE)"


@compiles(dutch_date, "sqlite")
def _dutch_date_sqlite(element, compiler, **kw):
    (moment,) = list(element.clauses)
    at = compiler.process(moment, **kw)
    # SQLite has no time zones: the EU rule. Summer time (UTC+2) runs from 01:00 UTC on the last Sunday of
    # March to 01:00 UTC on the last Sunday of October (the first Sunday on or after the 25th); else UTC+1.
    def switch(month):
        return f"datetime(date(strftime('%Y', {at}) || '-{month}-31', '-6 days', 'weekday 0'), '+1 hour')"
    return (f"date({at}, CASE WHEN {at} >= {switch('03')} AND {at} < {switch('10')} "
            f"THEN '+2 hours' ELSE '+1 hour' END)")


class earliest(FunctionElement):
    """The earliest of some dates (none of them NULL)."""

    type = Date()
    inherit_cache = True
    name = "earliest"


@compiles(earliest)
def _earliest(element, compiler, **kw):
    return f"LEAST({compiler.process(element.clauses, **kw)})"


@compiles(earliest, "sqlite")
def _earliest_sqlite(element, compiler, **kw):
    return f"min({compiler.process(element.clauses, **kw)})"


class latest(FunctionElement):
    """The latest of some dates (none of them NULL)."""

    type = Date()
    inherit_cache = True
    name = "latest"


@compiles(latest)
def _latest(element, compiler, **kw):
    return f"GREATEST({compiler.process(element.clauses, **kw)})"


@compiles(latest, "sqlite")
def _latest_sqlite(element, compiler, **kw):
    return f"max({compiler.process(element.clauses, **kw)})"


def _day(value: date):
    """A date as a typed bound parameter (so SQLite gets its ISO text, PostgreSQL a date)."""
    return literal(value, Date())


def _start_of(day: date) -> datetime:
    """The moment (UTC) a Dutch day begins."""
    return datetime.combine(day, time(), AMSTERDAM).astimezone(timezone.utc)


def _count(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


# --------------------------------------------------------------------------- results

@dataclass(frozen=True)
class Period:
    """A closed range of dates, ``start`` to ``end`` inclusive."""

    start: date
    end: date

    def __post_init__(self):
        if self.end < self.start:
            raise ValueError(f"a period ends on or after its start, not {self.start} to {self.end}")

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(date(year, 1, 1), date(year, 12, 31))


@dataclass
class Distribution:
    """Nearest-rank median and 90th percentile of a number of days."""

    count: int = 0
    median: int | None = None
    p90: int | None = None


@dataclass
class Registrations:
    """Families registered in the period, by kind and by kind and referral source."""

    total: int = 0
    by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(V.FAMILY_KINDS, 0))
    by_referral_source: dict[str, dict[str, int]] = field(
        default_factory=lambda: {kind: dict.fromkeys(V.REFERRAL_SOURCES, 0) for kind in V.FAMILY_KINDS})


@dataclass
class WaitingAge:
    """Nearest-rank median and largest number of days that the families waiting now have waited."""

    count: int = 0
    median: int | None = None
    longest: int | None = None


@dataclass
class Waiting:
    """The waiting list now, and how long families waited for their first proposal.

    ``families_waiting_now``: requesting families with status ``waiting``
    (registered by the reference date). ``days_waiting_now``: for those, the
    days from the date they started waiting to the reference date; they
    started waiting on the date (Dutch time) of their latest status change to
    ``waiting`` not after the reference date, or on ``registered_on`` when
    there is none. ``days_to_first_proposal``: for the families first
    proposed in the period, days from ``registered_on`` to the ``proposed_on``
    of their first match.
    """

    families_waiting_now: int = 0
    days_waiting_now: WaitingAge = field(default_factory=WaitingAge)
    days_to_first_proposal: Distribution = field(default_factory=Distribution)


@dataclass
class Triage:
    """Requesting families triaged in the period (``triage_on``), by outcome (``V.TRIAGE_OUTCOMES``)."""

    fits: int = 0
    too_heavy_referred: int = 0
    declined_by_family: int = 0


@dataclass
class Matches:
    """Matches in the period (``started``: trial began; ``ended``, ``cancelled``) and open now.

    ``duration_days`` is trial start to end of the matches ended in the period;
    ``outcomes`` are theirs too (``not_recorded`` when none was given).
    ``open_now``: matches proposed and neither ended nor cancelled by the
    reference date, by the furthest step reached by then; ``running_now`` is
    trial plus active, ``active_now`` active only.
    ``started_on_override``: of the matches started in the period, those with
    at least one ``match_override`` row (a step that rested on a
    coordinator's override of the policy) made by the reference date;
    ``overrides_recorded``: ``match_override`` rows made in the period (date
    of ``at``).
    """

    started: int = 0
    ended: int = 0
    cancelled: int = 0
    ended_by_reason: dict[str, int] = field(default_factory=lambda: dict.fromkeys(V.END_REASONS, 0))
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*V.OUTCOMES, NOT_RECORDED), 0))
    duration_days: Distribution = field(default_factory=Distribution)
    open_now: dict[str, int] = field(default_factory=lambda: dict.fromkeys(V.OPEN_MATCH_STATES, 0))
    running_now: int = 0
    active_now: int = 0
    started_on_override: int = 0
    overrides_recorded: int = 0


@dataclass
class Reach:
    """Who the matches started in the period (trial began) reached: the distinct requesting families,
    and the children (members with role ``child``) of those families, each counted once."""

    requesting_families: int = 0
    children: int = 0


@dataclass
class Retention:
    """12-month retention, as two separate figures that are never added up.

    The cohort: matches whose trial started at least a year before the
    reference date (trial start + 1 year ≤ reference date).
    ``lasted_12_months``: those not ended before that anniversary (still
    running, or ended on or after that day). ``ended_early_goals_reached``:
    those that ended before the anniversary with ``goals_reached``. Each
    ``…_share`` is that number / cohort (four decimals), None for an empty cohort.
    """

    cohort: int = 0
    lasted_12_months: int = 0
    lasted_12_months_share: float | None = None
    ended_early_goals_reached: int = 0
    ended_early_goals_reached_share: float | None = None


@dataclass
class Evaluations:
    """Open evaluations (not completed by the reference date, not skipped): due within 30 days
    (reference date ≤ due_on ≤ reference date + 30) and overdue (due_on < reference date)."""

    due_next_30_days: int = 0
    overdue: int = 0


@dataclass
class Volunteering:
    """Volunteer hours, logged and estimated: two figures, never added up.

    Logged: the minutes of ``support_session`` contacts in the period, and
    those in hours (minutes / 60, one decimal).
    Estimated: for the matches active on some day of the period up to the
    reference date (``active_on`` ≤ day, not ended or cancelled on or before
    it), sessions per week (``V.SESSIONS_PER_WEEK`` of the agreed
    ``frequency``) × ``hours_per_session`` × the weeks (days / 7) they were
    active in [period start, min(period end, reference date)], one decimal;
    ``estimated_from_matches`` is how many matches that covers. Active
    matches without agreed terms (no known frequency or no hours per session)
    are not guessed: ``matches_without_agreed_terms`` counts them.
    """

    logged_minutes: int = 0
    logged_hours: float = 0.0
    estimated_hours: float = 0.0
    estimated_from_matches: int = 0
    matches_without_agreed_terms: int = 0


@dataclass
class Reciprocity:
    """Supporting families that were once a requesting family (``former_family_id`` set):
    registered by the reference date, and of those, registered in the period."""

    supporting_families_once_helped: int = 0
    registered_in_period: int = 0


@dataclass
class DistrictBalance:
    """Supply and demand in one CBS district (None: no district recorded)."""

    district_code: str | None
    supporting_available: int = 0
    requesting_waiting: int = 0


@dataclass
class TargetProgress:
    """New matches (trial started) in the target's year up to the reference date, against the target.

    ``status`` is below / within / above the min–max range; ``pro_rata_min``
    is the minimum scaled to the part of the year counted, and ``on_track``
    says whether the new matches reach it.
    """

    year: int
    new_matches_min: int
    new_matches_max: int | None
    new_matches: int
    counted_until: str
    share_of_min: float | None
    status: str
    pro_rata_min: float
    on_track: bool
    municipalities_with_target: int = 1


@dataclass
class Kpis:
    """The figures of one municipality, or the totals of several."""

    municipality_ids: list[int]
    period_start: str
    period_end: str
    reference_date: str
    registrations: Registrations = field(default_factory=Registrations)
    triage: Triage = field(default_factory=Triage)
    waiting: Waiting = field(default_factory=Waiting)
    matches: Matches = field(default_factory=Matches)
    reach: Reach = field(default_factory=Reach)
    retention_12_months: Retention = field(default_factory=Retention)
    evaluations: Evaluations = field(default_factory=Evaluations)
    volunteering: Volunteering = field(default_factory=Volunteering)
    reciprocity: Reciprocity = field(default_factory=Reciprocity)
    districts: list[DistrictBalance] = field(default_factory=list)
    target: TargetProgress | None = None

    def to_dict(self) -> dict:
        """Plain JSON-serialisable data."""
        return asdict(self)


@dataclass
class ConsortiumKpis:
    """Per-municipality figures and their total (medians of the total are over all rows, not summed)."""

    municipality_ids: list[int]
    period_start: str
    period_end: str
    reference_date: str
    municipalities: list[Kpis]
    total: Kpis

    def to_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------- entry points

def municipality_kpis(municipality_id: int, period: Period, as_of: date | None = None) -> Kpis:
    """The KPIs of one municipality; call inside ``tenant_scope(municipality_id)``."""
    scope = current_scope()
    if scope is None or (scope.tenant_id is not None and scope.tenant_id != municipality_id):
        raise TenantContextError(f"municipality_kpis({municipality_id}) needs that municipality's tenant_scope")
    per_tenant, _ = _compute([municipality_id], period, as_of or date.today(), with_total=False)
    return per_tenant[municipality_id]


def consortium_kpis(municipality_ids, period: Period, as_of: date | None = None) -> ConsortiumKpis:
    """The KPIs of each of *municipality_ids* and their total, in the consortium-aggregation scope."""
    ids = sorted(set(municipality_ids))
    if not ids:
        raise ValueError("no municipalities given")
    as_of = as_of or date.today()
    with cross_tenant_scope("consortium-aggregation"):
        per_tenant, total = _compute(ids, period, as_of, with_total=True)
    return ConsortiumKpis(municipality_ids=ids, period_start=period.start.isoformat(),
                          period_end=period.end.isoformat(), reference_date=as_of.isoformat(),
                          municipalities=[per_tenant[i] for i in ids], total=total)


def consortium_member_ids(consortium_id: int) -> list[int]:
    """Ids of a consortium's municipalities (the municipality table is not tenant-owned)."""
    return list(db.session.scalars(select(Municipality.id).where(Municipality.consortium_id == consortium_id)
                                   .order_by(Municipality.id)))


# --------------------------------------------------------------------------- the computation

def _compute(ids: list[int], period: Period, as_of: date, *, with_total: bool) -> tuple[dict[int, Kpis], Kpis | None]:
    start, until = period.start, min(period.end, as_of)  # events count in [start, until]
    stop = until + timedelta(days=1)  # the first day not counted
    header = {"period_start": period.start.isoformat(), "period_end": period.end.isoformat(),
              "reference_date": as_of.isoformat()}
    kpis = {i: Kpis(municipality_ids=[i], **header) for i in ids}
    total = Kpis(municipality_ids=list(ids), **header) if with_total else None
    every = list(kpis.values()) + ([total] if total else [])

    def tenant_filter(column):
        return column == ids[0] if len(ids) == 1 else column.in_(ids)

    def each(tenant_id):
        """The Kpis a row of *tenant_id* adds to: its own, and the total."""
        return (kpis[tenant_id], total) if total else (kpis[tenant_id],)

    # Registrations in the period.
    rows = db.session.execute(
        select(Family.tenant_id, Family.kind, Family.referral_source, func.count())
        .where(tenant_filter(Family.tenant_id), Family.registered_on.between(start, until))
        .group_by(Family.tenant_id, Family.kind, Family.referral_source))
    for tenant_id, kind, source, n in rows:
        for k in each(tenant_id):
            k.registrations.total += n
            k.registrations.by_kind[kind] += n
            k.registrations.by_referral_source[kind][source] += n

    # Families now: waiting, available, reciprocity, by district; and triage in the period.
    known = Family.registered_on <= as_of
    waiting = and_(known, Family.kind == V.REQUESTING, Family.status == V.WAITING)
    available = and_(known, Family.kind == V.SUPPORTING, Family.status == V.AVAILABLE)
    once_helped = and_(known, Family.kind == V.SUPPORTING, Family.former_family_id.is_not(None))
    triaged = and_(Family.kind == V.REQUESTING, Family.triage_on.between(start, until))
    rows = db.session.execute(
        select(Family.tenant_id, Family.district_code, _count(waiting), _count(available), _count(once_helped),
               _count(and_(once_helped, Family.registered_on.between(start, until))),
               *(_count(and_(triaged, Family.triage_outcome == outcome)) for outcome in V.TRIAGE_OUTCOMES))
        .where(tenant_filter(Family.tenant_id),
               or_(and_(known, or_(Family.status.in_((V.WAITING, V.AVAILABLE)), Family.former_family_id.is_not(None))),
                   triaged))
        .group_by(Family.tenant_id, Family.district_code))
    districts: dict[int | None, dict[str | None, DistrictBalance]] = defaultdict(dict)
    for tenant_id, district, n_waiting, n_available, n_helped, n_helped_new, *n_triaged in rows:
        for k in each(tenant_id):
            k.waiting.families_waiting_now += n_waiting
            k.reciprocity.supporting_families_once_helped += n_helped
            k.reciprocity.registered_in_period += n_helped_new
            for outcome, n in zip(V.TRIAGE_OUTCOMES, n_triaged):
                setattr(k.triage, outcome, getattr(k.triage, outcome) + n)
        if n_waiting or n_available:
            districts[tenant_id][district] = DistrictBalance(district, n_available, n_waiting)
    for tenant_id, by_code in districts.items():
        kpis[tenant_id].districts = sorted(by_code.values(), key=lambda d: (d.district_code is None, d.district_code or ""))
    if total:
        total.districts = [d for i in ids for d in kpis[i].districts]

    # Matches: in the period, open now, on an override, retention, estimated volunteer hours, new matches
    # in the target year.
    target_year = period.end.year
    year_until = min(date(target_year, 12, 31), as_of)
    open_ = and_(Match.proposed_on <= as_of, or_(Match.ended_on.is_(None), Match.ended_on > as_of),
                 or_(Match.cancelled_on.is_(None), Match.cancelled_on > as_of))

    def reached(column):
        return and_(column.is_not(None), column <= as_of)

    def not_reached(column):
        return or_(column.is_(None), column > as_of)

    started = Match.trial_on.between(start, until)
    on_override = exists().where(MatchOverride.match_id == Match.id, MatchOverride.tenant_id == Match.tenant_id,
                                 MatchOverride.at < _start_of(as_of + timedelta(days=1)))
    anniversary = one_year_after(Match.trial_on)
    in_cohort = and_(Match.trial_on.is_not(None), anniversary <= as_of)
    lasted = and_(in_cohort, or_(Match.ended_on.is_(None), Match.ended_on >= anniversary))
    goals_early = and_(in_cohort, Match.ended_on < anniversary, Match.end_reason == "goals_reached")
    # Days active in [start, until]: from the later of active_on and start to the earliest of the end,
    # the cancellation and the day after until (the end day itself is not active).
    active_days = days_between(latest(Match.active_on, _day(start)),
                               earliest(func.coalesce(Match.ended_on, _day(stop)),
                                        func.coalesce(Match.cancelled_on, _day(stop)), _day(stop)))
    active_in_period = and_(Match.active_on.is_not(None), active_days > 0)
    terms = and_(Match.frequency.in_(tuple(V.SESSIONS_PER_WEEK)), Match.hours_per_session.is_not(None))
    no_terms = or_(Match.frequency.is_(None), Match.frequency.not_in(tuple(V.SESSIONS_PER_WEEK)),
                   Match.hours_per_session.is_(None))
    sessions_per_week = case({f: literal(n, Float()) for f, n in V.SESSIONS_PER_WEEK.items()}, value=Match.frequency)
    estimated_hours = func.coalesce(func.sum(case(
        (and_(active_in_period, terms), sessions_per_week * Match.hours_per_session * active_days),
        else_=literal(0.0, Float()))), literal(0.0, Float())) / literal(7.0, Float())
    rows = db.session.execute(
        select(Match.tenant_id,
               _count(started),
               _count(Match.ended_on.between(start, until)),
               _count(Match.cancelled_on.between(start, until)),
               _count(and_(open_, not_reached(Match.introduction_on), not_reached(Match.trial_on),
                           not_reached(Match.active_on))),
               _count(and_(open_, reached(Match.introduction_on), not_reached(Match.trial_on),
                           not_reached(Match.active_on))),
               _count(and_(open_, reached(Match.trial_on), not_reached(Match.active_on))),
               _count(and_(open_, reached(Match.active_on))),
               _count(and_(started, on_override)),
               _count(in_cohort), _count(lasted), _count(goals_early),
               estimated_hours, _count(and_(active_in_period, terms)), _count(and_(active_in_period, no_terms)),
               _count(Match.trial_on.between(date(target_year, 1, 1), year_until)))
        .where(tenant_filter(Match.tenant_id))
        .group_by(Match.tenant_id))
    new_in_target_year: dict[int, int] = defaultdict(int)
    estimated: dict[int, float] = defaultdict(float)  # unrounded, so that the total rounds the exact sum
    for (tenant_id, n_started, ended, cancelled, proposed, introduction, trial, active, overridden, cohort, n_lasted,
         n_goals_early, hours, with_terms, without_terms, new) in rows:
        new_in_target_year[tenant_id] = new
        for k in each(tenant_id):
            m = k.matches
            m.started += n_started
            m.ended += ended
            m.cancelled += cancelled
            for phase, n in zip(V.OPEN_MATCH_STATES, (proposed, introduction, trial, active)):
                m.open_now[phase] += n
            m.running_now += trial + active
            m.active_now += active
            m.started_on_override += overridden
            r = k.retention_12_months
            r.cohort += cohort
            r.lasted_12_months += n_lasted
            r.ended_early_goals_reached += n_goals_early
            k.volunteering.estimated_from_matches += with_terms
            k.volunteering.matches_without_agreed_terms += without_terms
        estimated[tenant_id] += float(hours)
    for k in every:
        r = k.retention_12_months
        r.lasted_12_months_share = round(r.lasted_12_months / r.cohort, 4) if r.cohort else None
        r.ended_early_goals_reached_share = round(r.ended_early_goals_reached / r.cohort, 4) if r.cohort else None
        k.volunteering.estimated_hours = round(sum(estimated[i] for i in k.municipality_ids), 1)

    # Matches ended in the period: reasons and outcomes.
    rows = db.session.execute(
        select(Match.tenant_id, Match.end_reason, Match.outcome, func.count())
        .where(tenant_filter(Match.tenant_id), Match.ended_on.between(start, until))
        .group_by(Match.tenant_id, Match.end_reason, Match.outcome))
    for tenant_id, reason, outcome, n in rows:
        for k in each(tenant_id):
            if reason is not None:
                k.matches.ended_by_reason[reason] += n
            k.matches.outcomes[outcome or NOT_RECORDED] += n

    # Overrides made in the period (by the Dutch date of their moment).
    rows = db.session.execute(
        select(MatchOverride.tenant_id, func.count())
        .where(tenant_filter(MatchOverride.tenant_id), MatchOverride.at >= _start_of(start),
               MatchOverride.at < _start_of(stop))
        .group_by(MatchOverride.tenant_id))
    for tenant_id, n in rows:
        for k in each(tenant_id):
            k.matches.overrides_recorded += n

    # Reach: the distinct requesting families whose match started in the period, and their children.
    starters = (select(Match.tenant_id, Match.requesting_family_id)
                .where(tenant_filter(Match.tenant_id), started)
                .distinct()).subquery("starters")
    rows = db.session.execute(
        select(starters.c.tenant_id, func.count(func.distinct(starters.c.requesting_family_id)), func.count(Member.id))
        .select_from(starters)
        .outerjoin(Member, and_(Member.family_id == starters.c.requesting_family_id,
                                Member.tenant_id == starters.c.tenant_id, Member.role == "child"))
        .group_by(starters.c.tenant_id))
    for tenant_id, n_families, n_children in rows:
        for k in each(tenant_id):
            k.reach.requesting_families += n_families
            k.reach.children += n_children

    # How long the families waiting now have waited, since they (last) started waiting.
    began = (select(FamilyStatusChange.family_id, func.max(FamilyStatusChange.at).label("at"))
             .where(tenant_filter(FamilyStatusChange.tenant_id), FamilyStatusChange.to_status == V.WAITING,
                    FamilyStatusChange.at < _start_of(as_of + timedelta(days=1)))
             .group_by(FamilyStatusChange.family_id)).subquery("began_waiting")
    aged = (select(Family.tenant_id.label("tenant_id"),
                   days_between(func.coalesce(dutch_date(began.c.at), Family.registered_on), _day(as_of)).label("days"))
            .outerjoin(began, began.c.family_id == Family.id)
            .where(tenant_filter(Family.tenant_id), waiting))
    _distributions(aged, kpis, total, lambda k: k.waiting, "days_waiting_now", MEDIAN_AND_LONGEST, WaitingAge)

    # Waiting time to the first proposal, for families first proposed in the period.
    first = (select(Match.tenant_id, Match.requesting_family_id, func.min(Match.proposed_on).label("first_on"))
             .where(tenant_filter(Match.tenant_id))
             .group_by(Match.tenant_id, Match.requesting_family_id)).subquery("first_match")
    waited = (select(Family.tenant_id.label("tenant_id"), days_between(Family.registered_on, first.c.first_on).label("days"))
              .join(first, and_(first.c.requesting_family_id == Family.id, first.c.tenant_id == Family.tenant_id))
              .where(tenant_filter(Family.tenant_id), first.c.first_on.between(start, until)))
    _distributions(waited, kpis, total, lambda k: k.waiting, "days_to_first_proposal")

    # Duration of the matches ended in the period.
    lasted_days = (select(Match.tenant_id.label("tenant_id"), days_between(Match.trial_on, Match.ended_on).label("days"))
                   .where(tenant_filter(Match.tenant_id), Match.ended_on.between(start, until),
                          Match.trial_on.is_not(None)))
    _distributions(lasted_days, kpis, total, lambda k: k.matches, "duration_days")

    # Evaluations open on the reference date: due soon, overdue.
    open_evaluation = and_(or_(Evaluation.completed_on.is_(None), Evaluation.completed_on > as_of),
                           Evaluation.skipped_reason.is_(None))
    rows = db.session.execute(
        select(Evaluation.tenant_id, _count(Evaluation.due_on >= as_of), _count(Evaluation.due_on < as_of))
        .where(tenant_filter(Evaluation.tenant_id), open_evaluation, Evaluation.due_on <= as_of + DUE_SOON)
        .group_by(Evaluation.tenant_id))
    for tenant_id, due, overdue in rows:
        for k in each(tenant_id):
            k.evaluations.due_next_30_days += due
            k.evaluations.overdue += overdue

    # Volunteer hours logged (the estimate is above, with the matches).
    rows = db.session.execute(
        select(Contact.tenant_id, func.coalesce(func.sum(Contact.duration_minutes), 0))
        .where(tenant_filter(Contact.tenant_id), Contact.kind == "support_session",
               Contact.occurred_on.between(start, until))
        .group_by(Contact.tenant_id))
    for tenant_id, minutes in rows:
        for k in each(tenant_id):
            k.volunteering.logged_minutes += int(minutes)
    for k in every:
        k.volunteering.logged_hours = round(k.volunteering.logged_minutes / 60, 1)

    # Progress against the programme target of the period's (last) year.
    rows = db.session.execute(
        select(ProgrammeTarget.tenant_id, ProgrammeTarget.new_matches_min, ProgrammeTarget.new_matches_max)
        .where(tenant_filter(ProgrammeTarget.tenant_id), ProgrammeTarget.year == target_year))
    targets = {tenant_id: (low, high) for tenant_id, low, high in rows}
    for tenant_id, (low, high) in targets.items():
        kpis[tenant_id].target = _progress(target_year, year_until, low, high, new_in_target_year[tenant_id])
    if total and targets:
        low = sum(low for low, _ in targets.values())
        high = None if any(h is None for _, h in targets.values()) else sum(h for _, h in targets.values())
        total.target = _progress(target_year, year_until, low, high,
                                 sum(new_in_target_year[i] for i in targets), len(targets))
    return kpis, total


def _progress(year: int, until: date, low: int, high: int | None, new: int, municipalities: int = 1) -> TargetProgress:
    first, last = date(year, 1, 1), date(year, 12, 31)
    counted = max(0, (until - first).days + 1) / ((last - first).days + 1)
    status = "below" if new < low else ("above" if high is not None and new > high else "within")
    return TargetProgress(year=year, new_matches_min=low, new_matches_max=high, new_matches=new,
                          counted_until=until.isoformat(), share_of_min=round(new / low, 4) if low else None,
                          status=status, pro_rata_min=round(low * counted, 1), on_track=new >= low * counted,
                          municipalities_with_target=municipalities)


def _distributions(values, kpis: dict[int, Kpis], total: Kpis | None, part, name: str,
                   percentiles=PERCENTILES, make=Distribution) -> None:
    """Fill the nearest-rank *percentiles* of *values* (a select of tenant_id, days) per tenant and, with
    *total*, over all of them, in one statement; ``make(count, *percentiles)`` builds each result.

    Each row is ranked twice: within its tenant and among all rows. Grouped by
    tenant, the smallest value whose overall rank reaches the percentile is
    that tenant's candidate; the smallest candidate is the overall percentile,
    because ranks follow the order of the values.
    """
    data = values.subquery("d")
    window = {"rank": func.row_number().over(partition_by=data.c.tenant_id, order_by=data.c.days),
              "n": func.count().over(partition_by=data.c.tenant_id)}
    if total is not None:
        window |= {"rank_all": func.row_number().over(order_by=data.c.days), "n_all": func.count().over()}
    ranked = select(data.c.tenant_id, data.c.days, *(w.label(k) for k, w in window.items())).subquery("ranked")

    def picks(rank, n):
        # The p-th percentile is the value at the first rank k with k ≥ p·n/100, i.e. k·100 ≥ p·n.
        return [func.max(n), *(func.min(case((rank * 100 >= p * n, ranked.c.days))) for p in percentiles)]

    columns = picks(ranked.c.rank, ranked.c.n)
    if total is not None:
        columns += picks(ranked.c.rank_all, ranked.c.n_all)
    width = 1 + len(percentiles)
    overall = []
    for tenant_id, *row in db.session.execute(select(ranked.c.tenant_id, *columns).group_by(ranked.c.tenant_id)):
        setattr(part(kpis[tenant_id]), name, make(*(int(v) for v in row[:width])))
        overall.append(row[width:])
    if total is not None and overall:
        setattr(part(total), name, make(int(overall[0][0]), *(
            int(min(c[i] for c in overall if c[i] is not None)) for i in range(1, width))))
